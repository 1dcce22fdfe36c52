"""A batch against an endpoint with capacity, on stacks of their own (``slow``): ``up`` answers
DescribeEndpoint with the instances it serves and ``batch`` sizes itself from it; at that sizing a
batch ends clean against one instance, while the old 100 children x 10 photos queue calls past
ClassifyImage's read timeout (``EndpointUnavailable``), as they did against one ml.m5.large."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from itertools import cycle, islice

import pytest

from local_stack.processes.stack_process import start_stack_process
from local_stack.settings import DEFAULT_ENDPOINT_NAME, REPO_ROOT, SAMPLES_DIR

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PHOTOS = 60
BATCH_WITHIN = 600  # seconds; each batch below ends within ~60 s on two loaded cores


def _photos(folder) -> str:
    """``PHOTOS`` PNG samples, copied under new names; the folder's path."""
    samples = sorted(SAMPLES_DIR.glob("*.png"))
    for number, sample in enumerate(islice(cycle(samples), PHOTOS)):
        shutil.copyfile(sample, folder / f"p{number:03d}.png")
    return str(folder)


def _batch(stack, *arguments: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | stack.environment
    return subprocess.run(
        [sys.executable, "-m", "local_stack", "batch", *arguments],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=BATCH_WITHIN,
    )


def test_describe_endpoint_says_the_instances_up_serves_and_the_batch_sizes_itself_to_them(tmp_path):
    options = ["--endpoint-instances", "2", "--endpoint-service-ms", "50", "--bucket", "scones-two"]
    with start_stack_process(options) as stack:
        described = stack.client("sagemaker").describe_endpoint(EndpointName=DEFAULT_ENDPOINT_NAME)
        (variant,) = described["ProductionVariants"]
        assert described["EndpointStatus"] == "InService"
        assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (2, 2)
        assert described["DataCaptureConfig"]["CaptureStatus"] == "Started"

        ran = _batch(stack, "--images", _photos(tmp_path), "--json", str(tmp_path / "out.json"))
    assert ran.returncode == 0, ran.stderr
    # 2 x 2 instances x 3 = 12 in flight, asked of DescribeEndpoint with no flag
    assert "6 per child execution, 2 at once (12 photos in flight)" in ran.stderr
    assert "cannot" not in ran.stderr


def test_a_batch_at_the_endpoints_sizing_ends_with_no_photo_failed(tmp_path):
    options = ["--endpoint-instances", "1", "--endpoint-service-ms", "50", "--bucket", "scones-one"]
    with start_stack_process(options) as stack:
        ran = _batch(stack, "--images", _photos(tmp_path), "--json", str(tmp_path / "out.json"))
    assert ran.returncode == 0, ran.stderr
    assert "3 per child execution, 2 at once (6 photos in flight)" in ran.stderr
    summary = json.loads((tmp_path / "out.json").read_text())["summary"]
    assert summary["photos"] == PHOTOS
    assert summary["answered"] + summary["refused"] == PHOTOS, summary


def test_the_old_hundred_by_ten_queues_calls_past_the_read_timeout(tmp_path):
    # one instance (2 workers) at 0.4 s a call, 1 s read timeout: 8 execution environments keep up
    # to 8 calls in flight, so the 5th and later wait past 1 s, and a call that timed out still
    # holds its worker (the container works through its queue), so the queue only grows
    options = ["--endpoint-instances", "1", "--endpoint-service-ms", "400", "--endpoint-timeout-seconds", "1"]
    options += ["--execution-environments", "8", "--bucket", "scones-flood"]
    sizing = ["--batch-max-concurrency", "100", "--batch-size", "10"]
    with start_stack_process(options) as stack:
        ran = _batch(stack, "--images", _photos(tmp_path), "--json", str(tmp_path / "out.json"), *sizing)
    assert "10 per child execution, 100 at once (1000 photos in flight)" in ran.stderr
    if ran.returncode == 0:  # within the 5 % tolerance: the failures are in the summary
        errors = json.loads((tmp_path / "out.json").read_text())["summary"]["errors"]
        assert errors.get("EndpointUnavailable", 0) > 0, errors
    else:
        assert "TooManyPhotosFailed" in ran.stderr, ran.stderr
