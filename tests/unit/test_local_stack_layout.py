"""local_stack/ reads by role: every module in a room (or one of the few shared by all), and no
import cycle between its modules, counting the imports made inside functions too."""

from __future__ import annotations

from local_stack.settings import REPO_ROOT
from tests.unit.import_graph import find_cycle, imported_names, module_name

PACKAGE = REPO_ROOT / "local_stack"
ROOMS = {"aws", "processes", "client", "commands"}
SHARED = {"__init__", "__main__", "errors", "settings", "process_state"}
MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def local_imports(name: str, path) -> set[str]:
    """The other local_stack modules that module ``name`` (at ``path``) imports, anywhere in it."""
    return {imported for imported in imported_names(path) if imported in MODULES} - {name}


def test_every_module_is_in_a_room_or_shared_by_all():
    for path in MODULES.values():
        relative = path.relative_to(PACKAGE)
        assert relative.parts[0] in ROOMS or relative.stem in SHARED, f"{relative} is in no room"


def test_the_package_has_no_import_cycle():
    cycle = find_cycle({name: local_imports(name, path) for name, path in MODULES.items()})
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


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
