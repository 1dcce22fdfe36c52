"""The product stands in floors: scones_core at the bottom imports no other package of the product;
every other import runs down (or across, where the table below allows it), never back up; and no
import cycle joins any two modules anywhere, counting the imports made inside functions too."""

from __future__ import annotations

import pytest

from tests.unit.import_graph import find_cycle, imported_names, modules_of, resolve

#: Each package of the product, and the packages it may import besides its own. The Lambdas
#: (functions/) deploy alone and import none of these; bench/ and tests/ sit above everything.
MAY_IMPORT = {
    "scones_core": set(),
    "training_job": {"scones_core"},
    "review": {"scones_core"},
    "monitoring": {"scones_core", "training_job"},
    "local_stack": {"scones_core", "training_job", "monitoring", "review"},
}
MODULES = modules_of(MAY_IMPORT)


def product_imports(name: str, path) -> set[str]:
    """The product's modules that module ``name`` (at ``path``) imports, anywhere in it."""
    return {resolved for imported in imported_names(path) if (resolved := resolve(imported, MODULES))} - {
        name
    }


def import_graph() -> dict[str, set[str]]:
    return {name: product_imports(name, path) for name, path in MODULES.items()}


def arrows_back_up(graph: dict[str, set[str]]) -> list[str]:
    """Every import from one package into another that MAY_IMPORT does not allow."""
    wrong = []
    for name, imported in sorted(graph.items()):
        package = name.split(".")[0]
        for target in sorted(imported):
            other = target.split(".")[0]
            if other != package and other not in MAY_IMPORT[package]:
                wrong.append(f"{name} -> {target}")
    return wrong


def test_the_table_itself_has_no_cycle():
    assert find_cycle(MAY_IMPORT) is None


def test_the_floor_imports_no_other_package_of_the_product():
    floor = {name: imported for name, imported in import_graph().items() if name.startswith("scones_core")}
    assert all(target.startswith("scones_core") for imported in floor.values() for target in imported), floor


def test_no_import_runs_back_up():
    assert arrows_back_up(import_graph()) == []


def test_the_product_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_every_stack_lookup_goes_through_the_floor():
    """describe-stacks is called in one place; everyone else reads scones_core.stack_outputs."""
    callers = sorted(
        name
        for name, path in MODULES.items()
        if "describe_stacks(" in path.read_text() and name != "scones_core.stack_outputs"
    )
    assert callers == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a.x": {"a.y"}, "a.y": {"a.x"}}, ["a.x", "a.y", "a.x"]),
        ({"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}}, ["a.x", "a.y", "a.z", "a.x"]),
        ({"a.x": {"a.y"}, "a.y": set()}, None),
    ],
)
def test_the_cycle_check_finds_a_cycle(graph, expected):
    assert find_cycle(graph) == expected


def test_the_check_finds_an_arrow_back_up(monkeypatch):
    graph = {"scones_core.project": {"training_job.cli"}, "training_job.cli": {"scones_core.project"}}
    assert arrows_back_up(graph) == ["scones_core.project -> training_job.cli"]
