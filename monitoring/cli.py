"""``monitoring report`` (and ``monitoring bench``): SageMaker data capture or a BatchClassify run's
results into a report.

This module only builds the parser and dispatches: each command is a module of
``monitoring/commands/`` with its options (``add_arguments``) and its ``run``.

Exit codes: 0 done, 1 failed while running (no capture, nothing usable in it, no access; no batch
results there, or malformed), 2 a usage error (argparse's code; an option's value is wrong on its own).
"""

from __future__ import annotations

import argparse

from monitoring.commands import bench, report

COMMANDS = {"report": report, "bench": bench}


def build_parser() -> argparse.ArgumentParser:
    first, *_, exit_codes = __doc__.split("\n\n")
    parser = argparse.ArgumentParser(prog="monitoring", description=f"{first}\n\n{exit_codes}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        p = commands.add_parser(name, help=command.HELP)
        command.add_arguments(p)
        # usage_error: for what argparse cannot check alone (options that do not go together)
        p.set_defaults(func=command.run, usage_error=p.error)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
