"""`monitoring report --batch` on what `local_stack batch` wrote: the committed samples through
BatchClassify on `up` with the real local model, then the report read from the local S3 as from
AWS (boto3 through up's exports), the photos of its gallery included (issue 15, item 5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from local_stack.processes.stack_process import start_stack_process
from local_stack.settings import REPO_ROOT, SAMPLES_DIR, SAMPLES_LST

# a stack of its own: the report names its bucket
pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def stack():
    with start_stack_process(
        ["--endpoint-name", "vehicle-classifier-monitoring-batch", "--bucket", "scones-monitoring-batch"]
    ) as up:
        yield up


def python_m(stack, *arguments: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | stack.environment
    return subprocess.run(
        [sys.executable, "-m", *arguments],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_report_of_a_batch_on_the_local_stack(stack, tmp_path):
    batch = python_m(
        stack,
        *("local_stack", "batch", "--images", str(SAMPLES_DIR), "--lst", str(SAMPLES_LST)),
        *("--json", str(tmp_path / "batch.json")),
    )
    assert batch.returncode == 0, batch.stderr
    ran = json.loads((tmp_path / "batch.json").read_text())
    summary_uri = ran["summary"]["summary"]
    assert summary_uri.startswith("s3://scones-monitoring-batch/batch/results/")

    out = tmp_path / "report"
    report = python_m(
        stack, "monitoring", "report", "--batch", summary_uri, "--out", str(out), "--no-progress"
    )

    assert report.returncode == 0, report.stderr
    assert report.stdout.strip() == str(out / "report.html")
    written = json.loads((out / "summary.json").read_text())
    section = written["batch"]
    for key in ("photos", "answered", "labels", "refused", "errors", "expected"):
        assert section[key] == ran["summary"][key], key
    assert section["disagreements"] == []
    # every answer the model gave is plotted: the answered photos and the refused ones
    assert written["records"] == ran["summary"]["answered"] + ran["summary"]["refused"]
    assert written["below_threshold"]["count"] == ran["summary"]["refused"]
    # each listed photo's outcome is the one `batch` read for it
    outcome = {
        p["key"]: p["label"] or ("refused" if p["error"] == "ThresholdConfidenceNotMet" else p["error"])
        for p in ran["photos"]
    }
    assert all(outcome[p["key"]] == p["outcome"] for p in written["least_confident"])
    # the least confident photos were read back from the local S3 for the gallery
    assert section["gallery"] == {"least_confident": 12, "shown": 12}
    assert 'class="thumb"' in (out / "report.html").read_text()
    assert f"batch: {ran['summary']['photos']} photos" in report.stderr
