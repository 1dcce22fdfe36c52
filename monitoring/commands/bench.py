"""``monitoring bench``: generate N capture records and time the report on them."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "generate N capture records and time the report on them"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--records", type=_positive, default=100_000)
    p.add_argument("--per-file", type=_positive, default=1_000, help="records per .jsonl file")
    p.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where to generate capture and report (default: a temporary folder, removed)",
    )


def run(args: argparse.Namespace) -> int:
    from monitoring.bench import run_bench

    return run_bench(args.records, args.per_file, args.workdir)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value
