"""One reviewer process of ``test_concurrent_verdicts``:
``python verdict_reviewer.py ENDPOINT BUCKET PLAN_JSON GATE_DIR NUMBER``. For each round of its
plan (review id, photo key, verdict) it says it is ready (``ready-<round>-<number>`` in GATE_DIR),
waits for the gate (``go-<round>``, written once every process is ready, so all decide at the same
instant), decides against the local S3, and prints a JSON line: [review id, verdict, "ok" or the
ReviewError's name]."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import boto3

from review import dataset
from review.exceptions import ReviewError
from review.verdicts import PendingReview

PREFIX = "reviewed/"
# a wait for the gate: far above the moment it takes every process to arrive on a busy machine
GATE_SECONDS = 300


def review_of(review_id: str, bucket: str, key: str) -> PendingReview:
    return PendingReview(
        id=review_id,
        execution_id=f"arn:aws:states:us-east-1:123456789012:execution:sm:{review_id}",
        s3_bucket=bucket,
        s3_key=key,
        label="bicycle",
        confidence=0.6,
        inferences=[0.6, 0.4],
        task_token="token",
        receipt_handle="handle",
    )


def wait_for(gate: Path) -> None:
    deadline = time.monotonic() + GATE_SECONDS
    while not gate.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{gate} never opened")
        time.sleep(0.0005)


def main(endpoint: str, bucket: str, plan_json: str, gate_dir: str, number: str) -> int:
    os.environ["AWS_ENDPOINT_URL_S3"] = endpoint
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.list_buckets()  # the connection made before the first gate
    for round_, (review_id, key, verdict) in enumerate(json.loads(plan_json)):
        (Path(gate_dir) / f"ready-{round_}-{number}").touch()
        wait_for(Path(gate_dir) / f"go-{round_}")
        try:
            dataset.add_verdict(s3, bucket, PREFIX, review_of(review_id, bucket, key), verdict)
        except ReviewError as error:
            outcome = type(error).__name__
        else:
            outcome = "ok"
        print(json.dumps([review_id, verdict, outcome]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
