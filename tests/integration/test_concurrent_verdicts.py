"""Reviewers deciding at the same instant, each its own process, against the local S3 (its own
server process, moto with the local stack's patches, as ``up`` serves it): every verdict kept in
every interleaving, and one review decided once whatever the labels given at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from local_stack.processes.s3_server import start_s3_server
from scones_core.lst import parse_lst
from scones_core.reviewed_dataset import parse_verdicts

REPO_ROOT = Path(__file__).resolve().parents[2]
REVIEWER = Path(__file__).with_name("verdict_reviewer.py")
PREFIX = "reviewed/"  # verdict_reviewer's

BUCKET = "photos"
REVIEWERS = 8
ROUNDS = 10
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 24
# the processes' whole run: far above the seconds it takes (80 verdicts)
RUN_SECONDS = 600

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def local_s3():
    server = start_s3_server()
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture
def s3(local_s3, unique):
    client = boto3.client("s3", region_name="us-east-1", endpoint_url=local_s3)
    bucket = f"{BUCKET}-{unique}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


def run_reviewers(endpoint: str, bucket: str, plans: list[list[tuple[str, str, str]]], gates: Path) -> list:
    """Each plan in a process of its own, every round released at once; every decide's answer."""
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    processes = [
        subprocess.Popen(
            [sys.executable, str(REVIEWER), endpoint, bucket, json.dumps(plan), str(gates), str(number)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for number, plan in enumerate(plans)
    ]
    try:
        for round_ in range(len(plans[0])):
            deadline = time.monotonic() + RUN_SECONDS
            while len(list(gates.glob(f"ready-{round_}-*"))) < len(plans):
                dead = [p.args[-1] for p in processes if p.poll() not in (None, 0)]
                assert not dead, f"reviewers {dead} died: {processes[int(dead[0])].communicate()[1]}"
                assert time.monotonic() < deadline, f"round {round_}: not every reviewer got ready"
                time.sleep(0.001)
            (gates / f"go-{round_}").touch()
        outputs = [process.communicate(timeout=RUN_SECONDS) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert [p.returncode for p in processes] == [0] * len(plans), [err for _, err in outputs]
    return [json.loads(line) for out, _ in outputs for line in out.splitlines()]


def read_set(client, bucket: str) -> tuple[list, list[dict]]:
    def text(name: str) -> str:
        return client.get_object(Bucket=bucket, Key=PREFIX + name)["Body"].read().decode()

    return parse_lst(text("reviewed.lst")), parse_verdicts(text("verdicts.jsonl"))


def test_eight_reviewers_at_once_over_ten_rounds_keep_every_line(local_s3, s3, tmp_path):
    client, bucket = s3
    verdicts = ("bicycle", "motorcycle", "neither", "bicycle")
    plans = [
        [(f"r{round_}-{n}", f"incoming/r{round_}-{n}.png", verdicts[n % 4]) for round_ in range(ROUNDS)]
        for n in range(REVIEWERS)
    ]
    for plan in plans:
        for _, key, _ in plan:
            client.put_object(Bucket=bucket, Key=key, Body=PNG)

    answers = run_reviewers(local_s3, bucket, plans, tmp_path)

    assert {outcome for _, _, outcome in answers} == {"ok"}
    assert len(answers) == REVIEWERS * ROUNDS
    entries, records = read_set(client, bucket)
    decided = [step for plan in plans for step in plan]
    labelled = sorted(f"{review_id}.png" for review_id, _, verdict in decided if verdict != "neither")
    assert len(decided) == REVIEWERS * ROUNDS
    assert sorted(e.path for e in entries) == labelled  # 60 lines, none lost
    assert sorted(e.index for e in entries) == list(range(len(labelled)))
    assert sorted(r["id"] for r in records) == sorted(review_id for review_id, _, _ in decided)  # 80 records
    for entry in entries:
        [record] = [r for r in records if r["image"] == entry.path]
        assert ("bicycle", "motorcycle")[entry.label] == record["verdict"]


def test_one_review_decided_by_eight_at_once_with_two_labels_keeps_one(local_s3, s3, tmp_path):
    client, bucket = s3
    labels = ("bicycle", "motorcycle")
    plans = [
        [
            (f"same-{round_}", f"incoming/same-{round_}.png", labels[(n + round_) % 2])
            for round_ in range(ROUNDS)
        ]
        for n in range(REVIEWERS)
    ]
    for round_ in range(ROUNDS):
        client.put_object(Bucket=bucket, Key=f"incoming/same-{round_}.png", Body=PNG)

    answers = run_reviewers(local_s3, bucket, plans, tmp_path)

    entries, records = read_set(client, bucket)
    assert len(records) == len(entries) == ROUNDS
    for round_ in range(ROUNDS):
        review_id = f"same-{round_}"
        [record] = [r for r in records if r["id"] == review_id]
        [entry] = [e for e in entries if e.path == f"{review_id}.png"]
        assert labels[entry.label] == record["verdict"]  # the set is what was decided
        given = [(verdict, outcome) for rid, verdict, outcome in answers if rid == review_id]
        # the winner's label (and its repeats) answered ok, the other label refused by name
        assert sorted(given) == sorted(
            (verdict, "ok" if verdict == record["verdict"] else "VerdictAlreadyGiven") for verdict, _ in given
        )
