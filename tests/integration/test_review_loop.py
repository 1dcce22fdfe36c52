"""The review loop on the local stack, driven as a person and a script would drive it: `up
--low-confidence-action Review` in its own process, `python -m review pending / decide` and
`python -m training_job stage --include-reviewed` as commands with `up`'s exports. An unsure photo
waits; the reviewer's label completes it and joins the reviewed data set once; `neither` and a
timeout end in their named errors; the next staging puts the photo in the train channel, and the
monitoring report counts the reviews."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from local_stack.processes.stack_process import StackProcess, start_stack_process
from local_stack.settings import REPO_ROOT, SAMPLES_DIR, STACK_NAME
from scones_core.lst import LstEntry, format_lst, parse_lst, read_lst

# stacks of their own: LowConfidenceAction Review, and its timeout
pytestmark = [pytest.mark.integration, pytest.mark.slow]

THRESHOLD = "0.999"  # the shipped model is surer than this of none of the photos below
CORRECTED = "bicycle_s_000035.png"  # the model says motorcycle, 0.71
REJECTED = "bicycle_s_000159.png"
FORGOTTEN = "bicycle_s_000569.png"
# three bicycles and three motorcycles the model was sure of: the base set the next staging reads
STAGED = [
    "bicycle_s_000043.png",
    "bicycle_s_000399.png",
    "bicycle_s_001205.png",
    "bike_s_000023.png",
    "minibike_s_000116.png",
    "minibike_s_000130.png",
]
MODEL_BUCKET = "review-loop-models"


@pytest.fixture(scope="module")
def stack():
    options = ["--bucket", "review-loop", "--execution-environments", "1"]
    review = ["--low-confidence-action", "Review", "--threshold", THRESHOLD]
    with start_stack_process([*options, *review]) as running:
        yield running


@pytest.fixture(scope="module")
def shell(stack, tmp_path_factory) -> dict[str, str]:
    """A reviewer's shell: `up`'s exports, no other AWS settings, claims kept in a folder of its own."""
    base = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return base | stack.environment | {"REVIEW_STATE_DIR": str(tmp_path_factory.mktemp("claims"))}


def as_reviewer(shell: dict[str, str]) -> dict[str, str]:
    """The shell as a reviewer runs `python -m review`: the `reviewer` profile of the AWS config
    file `up` writes (<stack>-Reviewer, holding ReviewerPolicy alone), the stack's keys dropped
    (botocore takes AWS_ACCESS_KEY_ID before AWS_PROFILE)."""
    keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    assert shell.get("AWS_CONFIG_FILE"), "up exports the AWS config file it writes"
    return {name: value for name, value in shell.items() if name not in keys} | {"AWS_PROFILE": "reviewer"}


def command(shell: dict[str, str], module: str, *arguments: str) -> subprocess.CompletedProcess:
    """`python -m module arguments`; review as the reviewer principal, the rest as the admin."""
    return subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=REPO_ROOT,
        env=as_reviewer(shell) if module == "review" else shell,
        capture_output=True,
        text=True,
        timeout=120,
    )


def start(stack: StackProcess, photo: str, name: str) -> str:
    key = f"images/{photo}"
    stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=(SAMPLES_DIR / photo).read_bytes())
    return stack.client("stepfunctions").start_execution(
        stateMachineArn=stack.state_machine_arn,
        name=name,
        input=json.dumps({"s3_bucket": stack.bucket, "s3_key": key}),
    )["executionArn"]


def review_queue(stack: StackProcess) -> str:
    outputs = stack.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]["Outputs"]
    return next(o["OutputValue"] for o in outputs if o["OutputKey"] == "ReviewQueueUrl")


def wait_for_a_review(stack: StackProcess, seconds: float = 60) -> None:
    """Until the review queue holds a message nobody has claimed."""
    sqs, queue = stack.client("sqs"), review_queue(stack)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
        if int(attributes["Attributes"]["ApproximateNumberOfMessages"]):
            return
        time.sleep(0.2)
    raise AssertionError(f"no review requested within {seconds} s")


def ended(stack: StackProcess, arn: str, seconds: float = 60) -> dict:
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        execution = sfn.describe_execution(executionArn=arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.2)
    raise AssertionError(f"{arn} still running after {seconds} s")


def pending(shell: dict[str, str]) -> list[dict]:
    listed = command(shell, "review", "pending", "--json")
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


def reviewed(stack: StackProcess, name: str) -> str:
    return stack.client("s3").get_object(Bucket=stack.bucket, Key=f"reviewed/{name}")["Body"].read().decode()


@pytest.fixture(scope="module")
def decided(stack, shell) -> dict:
    """One unsure photo through the loop: it waits, `pending` lists it, `decide` labels it bicycle."""
    arn = start(stack, CORRECTED, "review-loop-corrected")
    wait_for_a_review(stack)
    waiting = stack.client("stepfunctions").describe_execution(executionArn=arn)["status"]
    listed = pending(shell)
    verdict = command(shell, "review", "decide", "review-loop-corrected", "bicycle")
    return {"arn": arn, "waiting": waiting, "listed": listed, "verdict": verdict}


def test_an_unsure_photo_waits_and_review_decide_completes_it(stack, shell, decided):
    assert decided["waiting"] == "RUNNING"
    [review] = decided["listed"]
    assert review["id"] == "review-loop-corrected"
    assert review["s3_uri"] == f"s3://{stack.bucket}/images/{CORRECTED}"
    assert review["label"] == "motorcycle" and 0.5 < review["confidence"] < float(THRESHOLD)
    assert decided["verdict"].returncode == 0, decided["verdict"].stderr

    execution = ended(stack, decided["arn"])

    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert (output["label"], output["decided_by"]) == ("bicycle", "reviewer")
    assert output["model"]["label"] == "motorcycle"
    assert output["model"]["confidence"] == pytest.approx(review["confidence"])
    assert parse_lst(reviewed(stack, "reviewed.lst")) == [LstEntry(0, 0, "review-loop-corrected.png")]


def test_a_second_verdict_is_one_line_exit_1_and_leaves_one_entry(stack, shell, decided):
    before = reviewed(stack, "reviewed.lst"), reviewed(stack, "verdicts.jsonl")

    again = command(shell, "review", "decide", "review-loop-corrected", "bicycle")

    assert again.returncode == 1
    assert again.stderr.count("\n") == 1 and again.stderr.startswith("review: "), again.stderr
    assert "Traceback" not in again.stderr
    assert (reviewed(stack, "reviewed.lst"), reviewed(stack, "verdicts.jsonl")) == before
    [record] = [json.loads(line) for line in before[1].splitlines()]
    assert (record["id"], record["model_label"], record["verdict"]) == (
        "review-loop-corrected",
        "motorcycle",
        "bicycle",
    )


def test_neither_ends_in_rejected_by_reviewer(stack, shell, decided):
    arn = start(stack, REJECTED, "review-loop-rejected")
    wait_for_a_review(stack)
    assert [review["id"] for review in pending(shell)] == ["review-loop-rejected"]

    verdict = command(shell, "review", "decide", "review-loop-rejected", "neither")

    assert verdict.returncode == 0, verdict.stderr
    execution = ended(stack, arn)
    assert (execution["status"], execution["error"]) == ("FAILED", "RejectedByReviewer")
    assert "review-loop-rejected" not in reviewed(stack, "reviewed.lst")


def test_a_review_nobody_decides_ends_review_timed_out():
    options = ["--bucket", "review-timeout", "--execution-environments", "1", "--threshold", THRESHOLD]
    review = ["--low-confidence-action", "Review", "--review-timeout-seconds", "2"]
    with start_stack_process([*options, *review]) as stack:
        arn = start(stack, FORGOTTEN, "review-loop-forgotten")

        execution = ended(stack, arn)

    assert (execution["status"], execution["error"]) == ("FAILED", "ReviewTimedOut")


def test_the_next_staging_puts_the_reviewed_photo_in_train(stack, shell, decided, tmp_path):
    source = tmp_path / "samples"
    (source / "train").mkdir(parents=True)
    labels = {e.path: e for e in read_lst(SAMPLES_DIR.parent / "images.lst")}
    for photo in STAGED:
        shutil.copyfile(SAMPLES_DIR / photo, source / "train" / photo)
    (source / "train.lst").write_text(format_lst(labels[photo] for photo in STAGED))
    s3 = stack.client("s3")
    s3.create_bucket(Bucket=MODEL_BUCKET)

    staged = command(
        shell,
        "training_job",
        "stage",
        "--bucket",
        MODEL_BUCKET,
        "--from-dir",
        str(source),
        "--work-dir",
        str(tmp_path / "work"),
        "--quiet",
        "--include-reviewed",
    )

    assert staged.returncode == 0, staged.stderr
    where = f"s3://{stack.bucket}/reviewed/"
    assert f"reviewed: 1 photos added to train (bicycle 1, motorcycle 0) from {where}\n" in staged.stdout
    train = parse_lst(
        s3.get_object(Bucket=MODEL_BUCKET, Key="vehicle-classifier/train_lst/train.lst")["Body"]
        .read()
        .decode()
    )
    last = max(labels[photo].index for photo in STAGED if photo in {e.path for e in train})
    assert train[-1] == LstEntry(last + 1, 0, "reviewed/review-loop-corrected.png")
    assert len(train) == len({e.index for e in train})
    stored = s3.get_object(
        Bucket=MODEL_BUCKET, Key="vehicle-classifier/train/reviewed/review-loop-corrected.png"
    )
    assert stored["Body"].read() == (SAMPLES_DIR / CORRECTED).read_bytes()
    validation = s3.get_object(Bucket=MODEL_BUCKET, Key="vehicle-classifier/validation_lst/validation.lst")
    assert b"reviewed" not in validation["Body"].read()


def monitoring_report(shell: dict[str, str], *arguments: str, seconds: float = 120) -> str:
    """`monitoring report`, again until the capture is in S3 (the endpoint writes it every
    second); its stderr."""
    deadline = time.monotonic() + seconds
    while (report := command(shell, "monitoring", "report", *arguments)).returncode:
        assert time.monotonic() < deadline and "no *.jsonl capture files" in report.stderr, report.stderr
        time.sleep(1)
    return report.stderr


def test_the_monitoring_report_has_the_reviews(stack, shell, decided, tmp_path):
    ended(stack, decided["arn"])
    capture = f"s3://{stack.bucket}/data-capture/"

    out = str(tmp_path)
    said = monitoring_report(
        shell, "--capture", capture, "--out", out, "--no-progress", "--reviewed-from-stack"
    )

    reviews = json.loads((tmp_path / "summary.json").read_text())["reviews"]
    assert reviews["location"] == f"s3://{stack.bucket}/reviewed/"
    assert reviews["requested"]["count"] >= 1 and reviews["completed"] >= 1
    corrected = {(p["id"], p["model_label"], p["verdict"]) for p in reviews["corrected"]["photos"]}
    assert ("review-loop-corrected", "motorcycle", "bicycle") in corrected
    assert "reviews: " in said
    assert "Reviews (LowConfidenceAction Review)" in (tmp_path / "report.html").read_text()
