"""Smoke runs of `bench --soak` and `bench --chaos`, small: they report every figure, and under
chaos no execution is lost and every killed process comes back. Not a measurement: the
figures' values depend on the machine. Linux only (the stack's processes are found in /proc)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from local_stack.commands.cli import main

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,  # each bench starts a stack of its own
    pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the stack's processes in /proc"),
]
SMALL = ["--concurrency", "4", "--execution-environments", "2"]


def test_soak_prints_the_memory_of_every_process_at_start_middle_and_end(capsys):
    assert main(["bench", "--soak", "6", *SMALL, "--retain-executions", "4"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"soak: 6 executions of \S+px\.png \(1[89]\d KB\)", out)
    assert re.search(r"RSS, MB\s+start\s+middle\s+end", out)
    for part in (
        "up (moto + interpreter)",
        "S3",
        "endpoint",
        "execution environment 1",
        "execution environment 2",
    ):
        assert re.search(rf"^{re.escape(part)}\s+[\d.]+\s+[\d.]+\s+[\d.]+$", out, re.MULTILINE), part
    assert "executions: 6, succeeded" in out


def test_chaos_kills_each_process_once_and_loses_no_execution(capsys):
    assert main(["bench", "--chaos", "--executions", "24", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "SIGKILL, once each: execution environment after 6, endpoint after 12, S3 after 18 started" in out
    assert re.search(r"started 24, succeeded \d+, failed \d+ \(.*\), still running 0, lost 0", out)
    assert re.search(r"capture: \d+ records for \d+ answered executions", out)
    for name in ("execution environment", "endpoint", "S3"):
        assert re.search(rf"{name} [\d.]+ s \(pid \d+ -> \d+\)", out), name


def test_soak_and_chaos_are_one_or_the_other(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--soak", "5", "--chaos"])
    assert exit_.value.code == 2
    assert main(["bench", "--soak", "0"]) == 2
    assert "--soak 0: must be at least 1" in capsys.readouterr().err
