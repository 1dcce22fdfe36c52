"""The local stack heals itself: `up`'s S3 and endpoint processes, killed with SIGKILL, come back
on the same URL with S3's objects and the data capture written before, later executions
succeed, and a clean stop still exits 0. Linux only (the processes are found in /proc)."""

from __future__ import annotations

import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from local_stack.client import images
from local_stack.client.executions import run_executions
from local_stack.processes.stack_process import StackProcess, start_stack_process
from local_stack.settings import CAPTURE_PREFIX, SAMPLES_DIR, SAMPLES_LST

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,  # a stack of its own, two execution environments to kill
    pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the stack's processes in /proc"),
]

S3_MODULE = "local_stack.processes.s3_server"
ENDPOINT_MODULE = "local_stack.processes.endpoint_server"
ANSWERED = {None, "ThresholdConfidenceNotMet"}  # the endpoint answered these executions


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds} s")


def capture_records(stack: StackProcess) -> int:
    s3 = stack.client("s3")
    listing = s3.list_objects_v2(Bucket=stack.bucket, Prefix=f"{CAPTURE_PREFIX}/").get("Contents", [])
    return sum(
        len(s3.get_object(Bucket=stack.bucket, Key=item["Key"])["Body"].read().splitlines())
        for item in listing
    )


def kill_and_wait_for_a_new_one(stack: StackProcess, module: str) -> tuple[int, int]:
    (old,) = stack.child_pids(module)
    os.kill(old, signal.SIGKILL)
    new = wait_for(lambda: [pid for pid in stack.child_pids(module) if pid != old], 120, f"a new {module}")
    return old, new[0]


def run(stack: StackProcess, photos, keys) -> list:
    ran, _ = run_executions(
        stack.client("stepfunctions"), stack.state_machine_arn, stack.bucket, photos, keys, 4
    )
    return ran


def test_a_killed_s3_or_endpoint_is_restarted_on_its_url_and_nothing_written_is_lost(capfd):
    found, _ = images.find_images(SAMPLES_DIR, SAMPLES_LST)
    photos = [image for image in found if image.path.suffix == ".png"][:4]
    with start_stack_process(["--bucket", "scones-healing", "--execution-environments", "2"]) as stack:
        keys = images.upload_images(stack.client("s3"), stack.bucket, photos)
        before = run(stack, photos, keys)
        answered = sum(result.error in ANSWERED for result in before)
        # the endpoint writes its capture within about a second, without being stopped
        wait_for(lambda: capture_records(stack) == answered, 120, "the capture of the first run")

        endpoint_pids = kill_and_wait_for_a_new_one(stack, ENDPOINT_MODULE)
        endpoint_url = stack.environment["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"]
        wait_for(lambda: urllib.request.urlopen(f"{endpoint_url}/ping", timeout=5).status == 200, 120, "ping")

        s3_pids = kill_and_wait_for_a_new_one(stack, S3_MODULE)
        s3 = stack.client("s3")  # the URL it was given: the restarted S3 answers there
        assert s3.get_object(Bucket=stack.bucket, Key=keys[photos[0].path.name])["Body"].read() == (
            photos[0].path.read_bytes()
        )
        assert capture_records(stack) == answered

        after = run(stack, photos, keys)
        assert [result.error for result in after] == [result.error for result in before]
        assert all(result.error in ANSWERED for result in after), [result.error for result in after]
        wait_for(lambda: capture_records(stack) == 2 * answered, 120, "the capture of the second run")
    assert stack.process.returncode == 0  # a clean stop, though two of its processes were restarted
    err = capfd.readouterr().err
    for name, (old, new) in {"local endpoint": endpoint_pids, "local S3": s3_pids}.items():
        line = next(line for line in err.splitlines() if f"the {name} (pid {old}) died at" in line)
        assert "(signal: killed); restarted in" in line and f"(pid {new}, same URL)" in line
