"""local_stack/ reads by role: every module in a room (or one of the few shared by all), and no
import cycle between its modules, counting the imports made inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

from local_stack.settings import REPO_ROOT

PACKAGE = REPO_ROOT / "local_stack"
ROOMS = {"aws", "processes", "client", "commands"}
SHARED = {"__init__", "__main__", "errors", "settings", "process_state"}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def local_imports(name: str, path: Path) -> set[str]:
    """The other local_stack modules that module ``name`` (at ``path``) imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from package import module` imports the module; `from module import name`, the module
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        found |= {imported for imported in names if imported in MODULES}
    return found - {name}


def test_every_module_is_in_a_room_or_shared_by_all():
    for path in MODULES.values():
        relative = path.relative_to(PACKAGE)
        assert relative.parts[0] in ROOMS or relative.stem in SHARED, f"{relative} is in no room"


def test_the_package_has_no_import_cycle():
    graph = {name: local_imports(name, path) for name, path in MODULES.items()}
    # a module's package __init__ runs first: the package depends on nothing the module imports
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        assert name not in visiting, "import cycle: " + " -> ".join([*visiting[visiting.index(name) :], name])
        visiting.append(name)
        for imported in sorted(graph[name]):
            visit(imported)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_the_client_room_knows_nothing_of_the_local_stack():
    """``client`` drives any deployed stack, local or in AWS, through boto3 alone."""
    for name, path in MODULES.items():
        if name.startswith("local_stack.client."):
            rooms = {imported.split(".")[1] for imported in local_imports(name, path)}
            assert rooms <= {"client", "errors", "settings"}, f"{name} imports {rooms}"


def test_the_cycle_check_finds_a_cycle(tmp_path, monkeypatch):
    """The check itself: two modules importing each other are reported."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from local_stack import settings\nimport local_stack.b\n")
    b.write_text("import local_stack.a\n")
    monkeypatch.setitem(MODULES, "local_stack.a", a)
    monkeypatch.setitem(MODULES, "local_stack.b", b)
    assert local_imports("local_stack.a", a) >= {"local_stack.settings", "local_stack.b"}
    try:
        test_the_package_has_no_import_cycle()
    except AssertionError as error:
        assert "local_stack.a -> local_stack.b -> local_stack.a" in str(error)
    else:
        raise AssertionError("the cycle was not found")
