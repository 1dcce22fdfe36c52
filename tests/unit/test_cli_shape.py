"""One CLI shape for the packages (issue 27): a thin ``cli.py`` that builds the parser and
dispatches to a module of ``<package>/commands/`` per command, which holds its options and its
``run``; and no command runs another package's CLI (it calls that package's functions)."""

from __future__ import annotations

import argparse
import ast
import importlib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["training_job", "monitoring", "review"]
PRODUCT = ["training_job", "monitoring", "review", "local_stack", "functions"]


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(
        action.choices for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_each_command_runs_the_run_of_its_own_module(package):
    cli = importlib.import_module(f"{package}.cli")
    commands = subcommands(cli.build_parser())
    assert commands
    for name, parser in commands.items():
        run = parser.get_default("func")
        assert run.__name__ == "run", f"{package} {name}: dispatches to {run.__name__}"
        assert run.__module__.startswith(f"{package}.commands."), f"{package} {name}: {run.__module__}"


@pytest.mark.parametrize("package", PACKAGES)
def test_cli_py_only_builds_the_parser_and_dispatches(package):
    tree = ast.parse((REPO_ROOT / package / "cli.py").read_text())
    functions = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    # main maps errors to exit codes; nothing else runs here
    assert functions <= {"build_parser", "main", "_fail", "_quota_hint"}, functions
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert "add_argument" not in calls, "an option belongs to its command's module"


def _product_files():
    for top in PRODUCT:
        for path in sorted((REPO_ROOT / top).rglob("*.py")):
            if path.name != "__main__.py":  # `python -m package` is the one place main is called
                yield path


def test_no_command_calls_another_clis_main():
    offenders = []
    for path in _product_files():
        for node in ast.walk(ast.parse(path.read_text())):
            imports_main = isinstance(node, ast.ImportFrom) and any(a.name == "main" for a in node.names)
            if imports_main and (node.module or "").endswith("cli"):
                offenders.append(f"{path.relative_to(REPO_ROOT)}: from {node.module} import main")
    assert offenders == []
