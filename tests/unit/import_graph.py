"""The import graph of the product's modules, read from their source with ``ast``: what the layout
tests (test_product_layout, test_local_stack_layout) check. Imports made inside functions count,
and so do those under ``TYPE_CHECKING``: a cycle there is a cycle a reader has to follow."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_of(packages: Iterable[str]) -> dict[str, Path]:
    """``{dotted name: path}`` of every module of ``packages`` (top-level folders of the repo)."""
    return {module_name(path): path for package in packages for path in (REPO_ROOT / package).rglob("*.py")}


def imported_names(path: Path) -> list[str]:
    """Every dotted name the module at ``path`` imports, anywhere in it: ``from package import
    module`` names the module, ``from module import name`` both ``module.name`` and the module."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
    return names


def resolve(imported: str, modules: Mapping[str, Path]) -> str | None:
    """The module of ``modules`` that ``imported`` names: itself, or the nearest package above it
    (a name imported from a module, or a module that no longer exists, counts as its package)."""
    parts = imported.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle of ``graph`` as [a, b, ..., a], or None. A module's package __init__ runs first:
    a package depends on nothing its modules import, so no edge goes from a module to its parent."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in done:
            return None
        if name in visiting:
            return [*visiting[visiting.index(name) :], name]
        visiting.append(name)
        for imported in sorted(graph.get(name, ())):
            cycle = visit(imported)
            if cycle:
                return cycle
        visiting.pop()
        done.add(name)
        return None

    for name in sorted(graph):
        cycle = visit(name)
        if cycle:
            return cycle
    return None
