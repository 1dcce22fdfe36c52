"""Fixtures for the local model's tests: the shared images, located beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "cifar100-bicycle-motorcycle"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "train.lst").is_file():
        pytest.skip(f"shared images not present at {SHARED_DATA} (they live beside the repository)")
    return SHARED_DATA


@pytest.fixture
def cli():
    """``python -m training_job``'s parser: parse, then run the command (its own exit code)."""
    from training_job.cli import build_parser

    def run(*argv: str) -> int:
        args = build_parser().parse_args([str(a) for a in argv])
        return args.func(args)

    return run
