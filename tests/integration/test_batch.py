"""`local_stack batch` (BatchClassify's Distributed Map) and `local_stack run` (one execution per
photo) on the same `up`, with the real local model: each sample's answer or refusal is the same
both ways, and so are the counts (issue 15, item 3). Both commands run as a user runs them, with
up's exports in their environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter

import pytest

from local_stack.client.batch import batch_stack
from local_stack.settings import REPO_ROOT, SAMPLES_DIR, SAMPLES_LST, STACK_NAME

pytestmark = pytest.mark.integration
REFUSED = "ThresholdConfidenceNotMet"


@pytest.fixture(scope="module")
def stack(shared_stack):
    """The session's stack (tests/integration/conftest.py): each batch uploads under a fresh
    prefix of its own, and its results lie under its own execution's folder."""
    return shared_stack


def local_stack(stack, *arguments: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | stack.environment
    return subprocess.run(
        [sys.executable, "-m", "local_stack", *arguments],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def both_ways(stack, tmp_path_factory) -> tuple[dict, dict]:
    """``(batch --json, run --json)`` of the samples with their expected labels."""
    out = tmp_path_factory.mktemp("batch")
    samples = ["--images", str(SAMPLES_DIR), "--lst", str(SAMPLES_LST)]
    batch = local_stack(stack, "batch", *samples, "--json", str(out / "batch.json"))
    assert batch.returncode == 0, batch.stderr
    # 41 samples, 3 a child: one ml.m5.large's sizing, from up's DescribeEndpoint (the same as
    # the template's defaults, BatchSize 3 x BatchMaxConcurrency 2)
    assert "child executions 14/14 done (41 photos)" in batch.stderr
    run = local_stack(stack, "run", *samples, "--json", str(out / "run.json"))
    assert run.returncode == 0, run.stderr
    return json.loads((out / "batch.json").read_text()), json.loads((out / "run.json").read_text())


def outcome(label: str | None, error: str | None) -> str:
    return label if label is not None else f"error {error}"


def test_each_photo_gets_the_same_answer_or_refusal_as_its_own_execution(both_ways):
    batch, run = both_ways
    by_batch = {p["image"]: outcome(p["label"], p["error"]) for p in batch["photos"]}
    by_run = {e["image"]: outcome(e["label"], e["error"]) for e in run["executions"]}
    assert len(by_batch) == len(list(SAMPLES_DIR.iterdir())) == 41
    assert by_batch == by_run
    # not all one kind: the comparison covers answers, refusals and an error
    assert {o.split(" ")[0] for o in by_batch.values()} >= {"bicycle", "motorcycle", "error"}
    assert REFUSED in {p["error"] for p in batch["photos"]}


def test_the_batch_summary_counts_what_run_counts(both_ways):
    batch, run = both_ways
    summary = batch["summary"]
    answered = Counter(e["label"] for e in run["executions"] if e["status"] == "SUCCEEDED")
    failed = dict(run["summary"]["failed"])
    assert summary["photos"] == run["summary"]["executions"]
    assert summary["answered"] == run["summary"]["succeeded"]
    assert summary["labels"] == {label: answered[label] for label in ("bicycle", "motorcycle")}
    assert summary["refused"] == failed.pop(REFUSED, 0)
    assert summary["errors"] == failed
    assert summary["expected"]["accuracy"] == run["summary"]["accuracy_of_answered"]
    # coverage differs by definition: the batch's is among the labelled photos, run's among all
    labelled = [e for e in run["executions"] if e["expected"] is not None]
    assert summary["expected"]["coverage"] == round(
        sum(e["status"] == "SUCCEEDED" for e in labelled) / len(labelled), 4
    )


def test_a_bad_file_is_an_error_by_name_not_a_failed_batch(both_ways):
    batch, _ = both_ways
    assert batch["summary"]["errors"] == {"NotAnImage": 1}
    (bad,) = [p for p in batch["photos"] if p["image"] == "not_an_image.txt"]
    assert (
        bad["error"] == "NotAnImage"
        and "not an image this workflow reads (PNG, JPEG, WebP or GIF)" in bad["cause"]
    )
    assert batch["summary"]["expected"]["confusion_matrix"]["motorcycle"]["error"] == 0  # not labelled


def test_prefix_runs_on_the_objects_already_there_without_uploading(stack, both_ways, tmp_path):
    batch, _ = both_ways
    prefix = batch["summary"]["prefix"].removeprefix(f"s3://{stack.bucket}/")
    before = _keys(stack, "images/")
    again = local_stack(stack, "batch", "--prefix", prefix, "--json", str(tmp_path / "again.json"))
    assert again.returncode == 0, again.stderr
    assert _keys(stack, "images/") == before  # nothing uploaded
    photos = json.loads((tmp_path / "again.json").read_text())["photos"]
    assert [(p["image"], p["label"], p["error"]) for p in photos] == [
        (p["image"], p["label"], p["error"]) for p in batch["photos"]
    ]
    assert "expected" not in json.loads((tmp_path / "again.json").read_text())["summary"]  # no --lst


def test_wrong_input_is_a_usage_error_before_anything_starts(stack, tmp_path, unique):
    outside = local_stack(stack, "batch", "--prefix", "batch/results/")
    assert (outside.returncode, outside.stderr.strip()) == (
        2,
        "local_stack: --prefix batch/results/: must lie under images/ or incoming/",
    )
    empty = local_stack(stack, "batch", "--prefix", f"images/nothing-here-{unique}/")
    assert empty.returncode == 2 and "no object under" in empty.stderr
    bad_lst = tmp_path / "bad.lst"
    bad_lst.write_text("1\tbicycle\tx.png\n")
    refused = local_stack(stack, "batch", "--prefix", "images/x/", "--lst", str(bad_lst))
    assert refused.returncode == 2 and "bad.lst:1: expected 'index<TAB>label(0|1)<TAB>path'" in refused.stderr


def _keys(stack, prefix: str) -> list[str]:
    pages = stack.client("s3").get_paginator("list_objects_v2").paginate(Bucket=stack.bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


# -- a bad batch fails at once and by name (issue 23, item 7) -----------------------------------


def _start(stack, **execution_input) -> dict:
    """BatchClassify started as `aws stepfunctions start-execution` starts it, to its end."""
    sfn = stack.client("stepfunctions")
    arn = batch_stack(stack.client("cloudformation"), STACK_NAME).state_machine_arn
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps(execution_input))
    for _ in range(1200):  # 120 s: a refused batch ends in about a second
        execution = sfn.describe_execution(executionArn=started["executionArn"])
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.1)
    raise AssertionError("the batch did not end in 120 s")


def test_a_bad_manifest_or_a_missing_bucket_ends_the_batch_at_once_with_a_one_line_cause(stack, unique):
    s3 = stack.client("s3")
    prefix = f"images/bad-manifest-{unique}/"
    s3.put_object(
        Bucket=stack.bucket, Key=f"{prefix}a.png", Body=(SAMPLES_DIR / "bicycle_s_000035.png").read_bytes()
    )
    manifest = f"batch/manifests/bad-{unique}.csv"
    s3.put_object(Bucket=stack.bucket, Key=manifest, Body=b"Key,label\nimages/elsewhere/a.png,car\n")

    bad = _start(stack, s3_bucket=stack.bucket, prefix=prefix, manifest_key=manifest)
    missing = _start(stack, s3_bucket=f"no-such-bucket-{unique}", prefix=prefix)

    assert (bad["status"], bad["error"]) == ("FAILED", "InvalidManifest"), bad
    assert bad["cause"] == f"{manifest}: 'car' is no label (bicycle, motorcycle, 0 or 1)"
    assert (missing["status"], missing["error"]) == ("FAILED", "BucketNotFound"), missing
    assert missing["cause"] == f"bucket no-such-bucket-{unique} does not exist (S3: NoSuchBucket)"
    sfn = stack.client("stepfunctions")
    assert [sfn.list_map_runs(executionArn=e["executionArn"])["mapRuns"] for e in (bad, missing)] == [[], []]


def test_folder_markers_are_skipped_and_counted_apart(stack, unique, tmp_path):
    s3 = stack.client("s3")
    prefix = f"images/marked-{unique}/"
    for key in (prefix, f"{prefix}sub/"):  # what the S3 console's "Create folder" writes
        s3.put_object(Bucket=stack.bucket, Key=key, Body=b"")
    photo = "bicycle_s_000035.png"
    s3.put_object(Bucket=stack.bucket, Key=f"{prefix}sub/{photo}", Body=(SAMPLES_DIR / photo).read_bytes())

    done = local_stack(stack, "batch", "--prefix", prefix, "--json", str(tmp_path / "marked.json"))

    assert done.returncode == 0, done.stderr
    assert "1 photos (and 2 folder markers, skipped)" in done.stderr
    assert "folder markers skipped (keys ending in /, 0 bytes): 2" in done.stdout
    found = json.loads((tmp_path / "marked.json").read_text())
    assert (found["summary"]["photos"], found["summary"]["folder_markers"]) == (1, 2)
    assert [p["image"] for p in found["photos"]] == [f"sub/{photo}"]
