"""`make demo` (python -m local_stack demo): the samples through a stack, then the report."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from local_stack.commands.demo import _only_demo_writing
from local_stack.errors import UsageError
from local_stack.settings import DEFAULT_ENDPOINT_NAME


@pytest.mark.slow  # a stack of its own: the demo's
def test_the_demo_prints_the_table_then_the_report_made_from_its_local_copy(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "local_stack", "demo", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    summary_line = next(i for i, line in enumerate(lines) if line.startswith("executions 41"))
    paths = [i for i, line in enumerate(lines) if str(tmp_path) in line]
    assert paths and min(paths) > summary_line, "the report's paths come after the table and its summary"
    # the report reads the copy the demo keeps, not the stack's S3, which is gone when it ends
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["source"] == str(tmp_path / "capture" / DEFAULT_ENDPOINT_NAME)
    assert summary["records"] == 40  # every photo; not_an_image.txt never reaches the endpoint
    assert (tmp_path / "report" / "report.html").is_file()
    # against the served model's baseline: the committed samples are its validation photos
    assert summary["drift"]["verdict"] == "ok"


def test_a_second_demo_into_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    with _only_demo_writing(tmp_path):
        with pytest.raises(UsageError, match="another demo") as refused, _only_demo_writing(tmp_path):
            pass
        assert "--out" in str(refused.value)
    with _only_demo_writing(tmp_path):  # free again once the first ended
        pass
