"""An upload starts an execution on the local stack, as the bucket's EventBridge rule does in AWS:
`up` in its own process, driven with boto3 as a client of AWS would; the test never calls
StartExecution. One stack for the whole module."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from boto3.s3.transfer import TransferConfig
from PIL import Image

from local_stack.processes.s3_server import DELIVERY_WORKERS
from local_stack.processes.stack_process import StackProcess, start_stack_process
from local_stack.settings import SAMPLES_DIR

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # its own stack: two environments, S3 killed

S3_MODULE = "local_stack.processes.s3_server"
ANSWERED = {("SUCCEEDED", None), ("FAILED", "ThresholdConfidenceNotMet")}  # a classified photo
STARTS_WITHIN_SECONDS = 5
# a burst killed part-way: the probe's 100 uploads, 8 in flight, S3 killed once 30 were answered
BURST, IN_FLIGHT, KILLED_AFTER = 100, 8, 30
# far above what a restart and a 100-event backlog take (the whole test, stack start included:
# 9-10 s on a 2-core machine): only a loss or a hang reaches it
BACKLOG_STARTS_WITHIN_SECONDS = 300
PHOTO = SAMPLES_DIR / "bicycle_s_000035.png"


@pytest.fixture(scope="module")
def stack():
    with start_stack_process(["--bucket", "upload-trigger", "--execution-environments", "2"]) as running:
        yield Uploads(running)


class Uploads:
    """The stack, and the executions its uploads started, found by their input's key."""

    def __init__(self, stack: StackProcess) -> None:
        self.stack = stack
        self.s3 = stack.client("s3")
        self.sfn = stack.client("stepfunctions")
        self.inputs: dict[str, dict] = {}  # execution ARN -> its input

    def started(self) -> dict[str, str]:
        """The key of each execution started so far -> its ARN."""
        pages = self.sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self.stack.state_machine_arn
        )
        for page in pages:
            for execution in page["executions"]:
                arn = execution["executionArn"]
                if arn not in self.inputs:
                    self.inputs[arn] = json.loads(self.sfn.describe_execution(executionArn=arn)["input"])
        return {execution_input["s3_key"]: arn for arn, execution_input in self.inputs.items()}

    def execution_of(self, key: str, seconds: float = STARTS_WITHIN_SECONDS) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            arn = self.started().get(key)
            if arn:
                return arn
            time.sleep(0.05)
        raise AssertionError(f"no execution for {key} within {seconds} s")

    def ended(self, arn: str, seconds: float = 120) -> tuple[str, str | None]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            execution = self.sfn.describe_execution(executionArn=arn)
            if execution["status"] != "RUNNING":
                return execution["status"], execution.get("error")
            time.sleep(0.1)
        raise AssertionError(f"{arn} still running after {seconds} s")


def phone_photo_jpeg(quality: int) -> bytes:
    """A sample upscaled to 4000x3000 (12 MP) with sensor-like noise, so its JPEG is photo-sized."""
    rng = np.random.default_rng(0)
    base = Image.open(PHOTO).convert("RGB")
    pixels = np.asarray(base.resize((4000, 3000), Image.Resampling.BICUBIC), dtype=np.float32)
    noisy = np.clip(pixels + rng.normal(0, 12, pixels.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def test_an_upload_under_the_prefix_starts_an_execution_with_the_seeds_input(stack):
    stack.s3.put_object(Bucket=stack.stack.bucket, Key="incoming/x.png", Body=PHOTO.read_bytes())
    arn = stack.execution_of("incoming/x.png")
    assert stack.inputs[arn] == {"s3_bucket": stack.stack.bucket, "s3_key": "incoming/x.png"}
    assert stack.ended(arn) in ANSWERED


def test_what_the_rule_does_not_match_starts_nothing(stack):
    misses = ["incoming/readme.txt", "other/x.png", "incoming/x.png.txt"]
    for key in misses:
        stack.s3.put_object(Bucket=stack.stack.bucket, Key=key, Body=PHOTO.read_bytes())
    # uploads are taken in order and a miss is decided without a call: once this one has
    # started, the misses had their turn
    stack.s3.put_object(
        Bucket=stack.stack.bucket, Key="incoming/after-the-misses.png", Body=PHOTO.read_bytes()
    )
    stack.execution_of("incoming/after-the-misses.png")
    assert not set(misses) & set(stack.started())


def test_a_copy_starts_an_execution(stack):
    stack.s3.put_object(Bucket=stack.stack.bucket, Key="other/to-copy.png", Body=PHOTO.read_bytes())
    stack.s3.copy_object(
        Bucket=stack.stack.bucket,
        Key="incoming/copied.png",
        CopySource={"Bucket": stack.stack.bucket, "Key": "other/to-copy.png"},
    )
    assert stack.ended(stack.execution_of("incoming/copied.png")) in ANSWERED


def test_a_multipart_upload_starts_one_execution(stack, tmp_path):
    photo = tmp_path / "multipart.jpg"
    photo.write_bytes(phone_photo_jpeg(quality=95))
    assert photo.stat().st_size > 5 * 1024 * 1024  # two parts at least
    five_mib = 5 * 1024 * 1024
    config = TransferConfig(multipart_threshold=five_mib, multipart_chunksize=five_mib)
    stack.s3.upload_file(str(photo), stack.stack.bucket, "incoming/multipart.jpg", Config=config)
    arn = stack.execution_of("incoming/multipart.jpg")
    assert stack.ended(arn) in ANSWERED
    assert list(stack.started()).count("incoming/multipart.jpg") == 1  # not one per part


def test_a_twelve_megapixel_jpeg_is_classified_by_uploading_it(stack):
    body = phone_photo_jpeg(quality=90)
    stack.s3.put_object(Bucket=stack.stack.bucket, Key="incoming/phone.JPG", Body=body)
    assert stack.ended(stack.execution_of("incoming/phone.JPG")) in ANSWERED


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the stack's processes in /proc")
def test_uploads_start_executions_after_s3_is_killed_and_restarted(stack):
    (old,) = stack.stack.child_pids(S3_MODULE)
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while not [pid for pid in stack.stack.child_pids(S3_MODULE) if pid != old]:
        assert time.monotonic() < deadline, "S3 was not restarted within 20 s"
        time.sleep(0.1)
    stack.s3.put_object(Bucket=stack.stack.bucket, Key="incoming/after-restart.png", Body=PHOTO.read_bytes())
    assert stack.ended(stack.execution_of("incoming/after-restart.png")) in ANSWERED


def kill_s3_and_wait_for_a_new_one(stack: Uploads) -> None:
    (old,) = stack.stack.child_pids(S3_MODULE)
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 120
    while not [pid for pid in stack.stack.child_pids(S3_MODULE) if pid != old]:
        assert time.monotonic() < deadline, "S3 was not restarted within 120 s"
        time.sleep(0.1)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the stack's processes in /proc")
def test_every_upload_answered_while_s3_is_killed_starts_an_execution(stack):
    """S3 killed (SIGKILL) during a burst: each upload it answered starts an execution (its
    event was journaled before the answer; the restarted S3 delivers what was owed). At least
    once, as EventBridge: only the events in flight at the kill (one a worker) may start a
    second."""
    body = PHOTO.read_bytes()
    keys = [f"incoming/burst-{number:03d}.png" for number in range(BURST)]
    answered: list[str] = []
    unanswered: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def upload(key: str) -> None:
        try:
            stack.s3.put_object(Bucket=stack.stack.bucket, Key=key, Body=body)
        except Exception:  # never acknowledged: S3 owes it no event
            with lock:
                unanswered.append(key)
            return
        with lock:
            answered.append(key)
            if len(answered) >= KILLED_AFTER:
                enough.set()

    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        for key in keys:
            pool.submit(upload, key)
        assert enough.wait(120), f"{KILLED_AFTER} uploads not answered within 120 s"
        kill_s3_and_wait_for_a_new_one(stack)
    assert len(answered) + len(unanswered) == BURST
    assert len(answered) >= KILLED_AFTER

    deadline = time.monotonic() + BACKLOG_STARTS_WITHIN_SECONDS
    while (missing := sorted(set(answered) - set(stack.started()))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not missing, (
        f"{len(missing)} of {len(answered)} acknowledged uploads started no execution, e.g. {missing[:3]}"
    )
    starts = Counter(execution_input["s3_key"] for execution_input in stack.inputs.values())
    extra = {key: count for key, count in starts.items() if key in keys and count > 1}
    assert sum(extra.values()) - len(extra) <= DELIVERY_WORKERS, extra
