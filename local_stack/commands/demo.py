"""``make demo``: the committed samples through the local stack, then the monitoring report
on what the endpoint captured."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from local_stack.client import executions, images, results
from local_stack.commands.stack_options import default_stack_options, start_stack
from local_stack.errors import UsageError
from local_stack.settings import SAMPLES_DIR, SAMPLES_LST


def run_demo(out: Path) -> int:
    with _only_demo_writing(out):
        return _run_demo(out)


@contextlib.contextmanager
def _only_demo_writing(out: Path) -> Iterator[None]:
    """Refuse a second demo into the same folder while one runs (each would delete and rewrite
    the other's capture and report); the lock goes with the process, a killed demo included."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".demo.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            raise UsageError(
                f"--out {out}: another demo (pid {holder}) is writing there; wait for it, or give "
                "this one its own folder with --out"
            ) from None
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        yield


def _run_demo(out: Path) -> int:
    started = time.perf_counter()
    found, warnings = images.find_images(SAMPLES_DIR, SAMPLES_LST)
    for warning in warnings:
        print(f"local_stack: {warning}", file=sys.stderr)
    options = default_stack_options()
    running, deployed = start_stack(options)
    try:
        session = running.session()
        s3 = session.client("s3")
        keys = images.upload_images(s3, deployed.bucket, found)
        ran, wall = executions.run_executions(
            session.client("stepfunctions"), deployed.state_machine_arn, deployed.bucket, found, keys, 8
        )
        running.endpoint.close()  # flush the data capture into the local S3
        capture_uri = f"s3://{deployed.bucket}/{running.capture_prefix}/{running.endpoint_name}"
        capture_dir = out / "capture"
        shutil.rmtree(capture_dir, ignore_errors=True)
        copied = _download(s3, deployed.bucket, f"{running.capture_prefix}/", capture_dir)
    finally:
        running.close()
    summary = results.summarize(ran, wall)
    results.print_table(ran, summary)
    results.write_json(out / "executions.json", summary, ran)
    print()
    # from the local copy: the stack's S3 is gone once the demo ends, and the report links
    # each image to where its record is
    report = _report(capture_dir / running.endpoint_name, out / "report")
    print(f"executions:    {out / 'executions.json'}")
    print(f"data capture:  {capture_dir} ({copied} files, copied from {capture_uri})")
    if report is not None:
        print(f"report:        {report.report}")
        print(f"summary:       {report.summary}")
        if report.drift:
            from monitoring.drift import one_line

            print(one_line(report.drift))
    print(f"demo took {time.perf_counter() - started:.1f} s")
    return 0 if report is not None else 1


def _download(s3, bucket: str, prefix: str, target: Path) -> int:
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            path = target / item["Key"].removeprefix(prefix)
            path.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(path))
            count += 1
    return count


def _report(capture: Path, out: Path):
    """monitoring's report on the capture, against the served model's baseline (the page gains a
    drift section): its files, or None when it failed (said on stderr)."""
    from monitoring import DEFAULT_THRESHOLD
    from monitoring.capture_source import open_source
    from monitoring.drift import load_baseline
    from monitoring.exceptions import MonitoringError
    from monitoring.report import GALLERY_SIZE, write_report
    from training_job.local_model import MODEL_PATH
    from training_job.local_model.baseline import baseline_path_for

    baseline = str(baseline_path_for(MODEL_PATH))
    try:
        return write_report(
            open_source(str(capture)),
            out,
            DEFAULT_THRESHOLD,
            GALLERY_SIZE,
            progress=False,
            baseline=load_baseline(baseline),
            baseline_location=baseline,
        )
    except MonitoringError as error:
        print(f"local_stack: the report failed: {error}", file=sys.stderr)
        return None
