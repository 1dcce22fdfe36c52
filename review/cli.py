"""``python -m review pending [--json]``, ``decide <id> bicycle|motorcycle|neither``, ``serve``.

Works against AWS with the user's credentials and against the local stack with ``up``'s exports
(AWS_ENDPOINT_URL, ...): the queue and the reviewed data set come from the stack's Outputs.

This module only builds the parser and dispatches: each command is a module of
``review/commands/`` with its options (``add_arguments``) and its ``run``.
Exit codes: 0 done, 1 failed while running, 2 a usage error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from review.commands import decide, pending, serve
from review.commands.stack_reviews import add_stack_options

COMMANDS = {"pending": pending, "decide": decide, "serve": serve}

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m review", description=__doc__.split("\n\n")[0])
    add_stack_options(parser)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        p = commands.add_parser(name, help=command.HELP)
        command.add_arguments(p)
        p.set_defaults(func=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from review.exceptions import ReviewError, ReviewUsageError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ReviewUsageError as error:
        print(f"review: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (ReviewError, BotoCoreError, ClientError) as error:
        print(f"review: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
