"""LowConfidenceAction Review through the real ASL in moto: an unsure answer waits in the review
queue; ``review``'s verdict completes it (bicycle/motorcycle), rejects it (neither), or comes too
late (the review timed out, or a second verdict); the reviewed data set holds each label once."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from local_stack.aws import deploy, lambda_runtime
from review import dataset
from review.exceptions import ReviewAlreadyEnded, ReviewNotFound
from review.service import Reviews
from review.stack import ReviewStack
from scones_core.lst import parse_lst
from tests.conftest import SAMPLES_DIR, TEST_ENDPOINT_NAME, load_event
from tests.unit.workflow.conftest import BUCKET, endpoint_answer

UNSURE = [0.6, 0.4]
REVIEW_TIMEOUT_SECONDS = 2  # the stack whose reviews time out while the test watches
# the stack whose reviews wait for the test's verdict, however slow the machine
PATIENT_REVIEW_SECONDS = 600
# how long a test waits for what it waits for (a review to be requested, an execution to end):
# far above the second or so that either takes
WAIT_SECONDS = 120


@pytest.fixture(scope="module")
def review_stacks():
    """Two stacks deployed once for the module, in one moto: one whose reviews time out in
    REVIEW_TIMEOUT_SECONDS, one whose reviews wait for the verdict. Each test has executions
    of its own names; ``review_workflow`` ends what a test left waiting and empties the queues
    and the reviewed data set."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        session = boto3.Session(region_name="us-east-1")
        stacks = {
            timeout: deploy.deploy(
                session,
                endpoint_name=TEST_ENDPOINT_NAME,
                bucket=BUCKET,
                stack_name=f"unit-review-{timeout}",
                parameters={"LowConfidenceAction": "Review", "ReviewTimeoutSeconds": str(timeout)},
            )
            for timeout in (REVIEW_TIMEOUT_SECONDS, PATIENT_REVIEW_SECONDS)
        }
        s3 = session.client("s3")
        for path in (SAMPLES_DIR / "images").iterdir():
            s3.put_object(Bucket=BUCKET, Key=f"images/{path.name}", Body=path.read_bytes())
        try:
            yield session, stacks
        finally:
            lambda_runtime.unregister_all()


@contextmanager
def stack_of_its_own(session, deployed, tmp_path):
    """The stack as a test finds it: no execution waiting, empty queues, no reviewed data."""
    client = deployed.functions["ClassifyImageFunction"].endpoint.sagemaker_runtime_client()
    stack = ReviewStack(deployed.outputs["ReviewQueueUrl"], BUCKET)
    reviews = Reviews(session, stack, tmp_path / "claims.json")
    try:
        with Stubber(client) as endpoint:
            yield session, deployed, endpoint, reviews
    finally:
        sfn, sqs, s3 = (session.client(name) for name in ("stepfunctions", "sqs", "s3"))
        for machine in (deployed.state_machine_arn, deployed.batch_state_machine_arn):
            for running in sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]:
                sfn.stop_execution(executionArn=running["executionArn"])
        # PurgeQueue's once-a-minute rule is AWS's pace, not what a test's reset needs
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR", "false")
            for queue in sqs.list_queues(QueueNamePrefix=deployed.stack_name)["QueueUrls"]:
                sqs.purge_queue(QueueUrl=queue)
        for listed in s3.list_objects_v2(Bucket=BUCKET, Prefix="reviewed/").get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=listed["Key"])


@pytest.fixture
def review_workflow(review_stacks, tmp_path):
    """A stack whose reviews wait for the test's verdict."""
    session, stacks = review_stacks
    with stack_of_its_own(session, stacks[PATIENT_REVIEW_SECONDS], tmp_path) as workflow:
        yield workflow


@pytest.fixture
def timing_out_review_workflow(review_stacks, tmp_path):
    """A stack whose reviews time out in REVIEW_TIMEOUT_SECONDS."""
    session, stacks = review_stacks
    with stack_of_its_own(session, stacks[REVIEW_TIMEOUT_SECONDS], tmp_path) as workflow:
        yield workflow


def start(session, deployed, name: str) -> str:
    return session.client("stepfunctions").start_execution(
        stateMachineArn=deployed.state_machine_arn,
        name=name,
        input=json.dumps(load_event("workflow_input.json")),
    )["executionArn"]


def wait_for(predicate, timeout: float = WAIT_SECONDS):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)
    return value


def ended(session, arn: str) -> dict:
    sfn = session.client("stepfunctions")
    return wait_for(lambda: (e := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and e)


def one_pending(reviews: Reviews) -> object:
    return wait_for(lambda: reviews.pending())[0]


def reviewed_entries(session) -> list:
    body = session.client("s3").get_object(Bucket=BUCKET, Key="reviewed/reviewed.lst")["Body"].read().decode()
    return parse_lst(body)


def test_an_unsure_photo_waits_and_the_reviewers_label_completes_it(review_workflow):
    session, deployed, endpoint, reviews = review_workflow
    endpoint.add_response("invoke_endpoint", endpoint_answer(UNSURE))
    arn = start(session, deployed, "unsure-1")

    review = one_pending(reviews)
    assert session.client("stepfunctions").describe_execution(executionArn=arn)["status"] == "RUNNING"
    assert (review.id, review.label, review.confidence) == ("unsure-1", "bicycle", 0.6)
    assert review.s3_uri == f"s3://{BUCKET}/images/bicycle_s_000035.png"
    assert "task_token" not in review.public()

    decided = reviews.decide("unsure-1", "motorcycle")

    execution = ended(session, arn)
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert (output["label"], output["decided_by"]) == ("motorcycle", "reviewer")
    assert output["model"] == {"label": "bicycle", "confidence": 0.6, "inferences": UNSURE}
    assert output["s3_key"] == "images/bicycle_s_000035.png"
    assert decided["reviewed_object"] == "reviewed/images/unsure-1.png"
    assert [(e.label, e.path) for e in reviewed_entries(session)] == [(1, "unsure-1.png")]
    queue = deployed.outputs["ReviewQueueUrl"]
    attributes = session.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])[
        "Attributes"
    ]
    assert (
        attributes["ApproximateNumberOfMessages"]
        == attributes["ApproximateNumberOfMessagesNotVisible"]
        == "0"
    )


def test_neither_ends_in_rejected_by_reviewer_and_adds_no_training_data(review_workflow):
    session, deployed, endpoint, reviews = review_workflow
    endpoint.add_response("invoke_endpoint", endpoint_answer(UNSURE))
    arn = start(session, deployed, "unsure-2")
    one_pending(reviews)

    reviews.decide("unsure-2", "neither")

    execution = ended(session, arn)
    assert (execution["status"], execution["error"]) == ("FAILED", "RejectedByReviewer")
    assert "neither a bicycle nor a motorcycle" in execution["cause"]
    assert dataset.read_entries(session.client("s3"), BUCKET, "reviewed/") == []


def test_a_review_nobody_decides_ends_review_timed_out_and_a_late_verdict_is_refused(
    timing_out_review_workflow,
):
    session, deployed, endpoint, reviews = timing_out_review_workflow
    endpoint.add_response("invoke_endpoint", endpoint_answer(UNSURE))
    arn = start(session, deployed, "unsure-3")
    one_pending(reviews)

    execution = ended(session, arn)

    assert (execution["status"], execution["error"]) == ("FAILED", "ReviewTimedOut")
    with pytest.raises(ReviewAlreadyEnded, match="unsure-3 already ended"):
        reviews.decide("unsure-3", "bicycle")
    # the human label is still training data; the stale message is gone
    assert [(e.label, e.path) for e in reviewed_entries(session)] == [(0, "unsure-3.png")]
    with pytest.raises(ReviewNotFound):
        reviews.decide("unsure-3", "bicycle")


def test_a_second_verdict_is_refused_and_leaves_one_entry(review_workflow):
    session, deployed, endpoint, reviews = review_workflow
    endpoint.add_response("invoke_endpoint", endpoint_answer(UNSURE))
    arn = start(session, deployed, "unsure-4")
    review = one_pending(reviews)
    reviews.decide("unsure-4", "bicycle")
    assert ended(session, arn)["status"] == "SUCCEEDED"

    # a double click: the same message's token again (SQS redelivered it, or a stale claim)
    reviews.claims.write_text(json.dumps({review.id: vars(review)}))
    with pytest.raises(ReviewAlreadyEnded):
        reviews.decide("unsure-4", "bicycle")

    assert [(e.label, e.path) for e in reviewed_entries(session)] == [(0, "unsure-4.png")]


def test_a_confident_answer_never_waits_under_review(review_workflow):
    session, deployed, endpoint, reviews = review_workflow
    endpoint.add_response("invoke_endpoint", endpoint_answer([0.02, 0.98]))

    execution = ended(session, start(session, deployed, "sure"))

    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    assert output["label"] == "motorcycle" and "decided_by" not in output
    assert reviews.pending() == []


def test_two_reviewers_never_hold_the_same_photo(review_workflow, tmp_path):
    session, deployed, endpoint, reviews = review_workflow
    endpoint.add_response("invoke_endpoint", endpoint_answer(UNSURE))
    start(session, deployed, "unsure-5")
    other = Reviews(session, reviews.stack, tmp_path / "other-claims.json")

    assert one_pending(reviews).id == "unsure-5"
    assert other.pending() == []
    with pytest.raises(ReviewNotFound):
        other.decide("unsure-5", "bicycle")


def test_the_reviewed_set_replaces_a_label_and_appends_new_paths():
    from scones_core.lst import LstEntry

    entries = dataset.with_entry([], "a.png", 0)
    entries = dataset.with_entry(entries, "b.png", 1)
    assert dataset.with_entry(entries, "a.png", 0) == entries
    assert dataset.with_entry(entries, "a.png", 1) == [LstEntry(0, 1, "a.png"), LstEntry(1, 1, "b.png")]


def test_run_reports_a_photo_waiting_for_review_instead_of_waiting_a_day(review_workflow, monkeypatch):
    """`local_stack run` against a Review stack: an unsure photo is counted as waiting for a
    person (soon after its review was requested), not as a failure, and not waited on."""
    from local_stack.client import executions
    from local_stack.client.executions import run_executions

    # asked soon, and long before this stack's review would time out
    monkeypatch.setattr(executions, "REVIEW_CHECK_SECONDS", 0.1)
    from local_stack.client.images import ImageToRun
    from local_stack.client.results import WAITING_FOR_REVIEW, summarize

    session, deployed, endpoint, _ = review_workflow
    endpoint.add_response("invoke_endpoint", endpoint_answer(UNSURE))
    image = ImageToRun(SAMPLES_DIR / "images" / "bicycle_s_000035.png", "bicycle")
    started = time.monotonic()
    results, wall = run_executions(
        session.client("stepfunctions"),
        deployed.state_machine_arn,
        BUCKET,
        [image],
        {image.path.name: f"images/{image.path.name}"},
        1,
    )
    assert time.monotonic() - started < WAIT_SECONDS  # not the review's PATIENT_REVIEW_SECONDS
    assert (results[0].status, results[0].error) == ("RUNNING", WAITING_FOR_REVIEW)
    summary = summarize(results, wall)
    assert summary["failed"] == {} and summary["waiting_for_review"] == 1


def test_an_execution_waits_for_a_person_only_while_its_newest_event_is_the_token_task():
    from local_stack.client.executions import waiting_for_a_person

    review = {"resourceType": "sqs", "resource": "sendMessage.waitForTaskToken"}
    lambda_task = {"resourceType": "lambda", "resource": "invoke"}
    assert waiting_for_a_person([{"id": 1, "type": "TaskSubmitted", "taskSubmittedEventDetails": review}])
    assert waiting_for_a_person(
        [
            {"id": 2, "type": "TaskStarted", "taskStartedEventDetails": review},
            {"id": 1, "type": "TaskScheduled", "taskScheduledEventDetails": review},
        ]
    )
    assert not waiting_for_a_person(
        [
            {"id": 1, "type": "TaskSubmitted", "taskSubmittedEventDetails": review},
            {"id": 2, "type": "TaskSucceeded", "taskSucceededEventDetails": review},
        ]
    )
    assert not waiting_for_a_person(
        [{"id": 1, "type": "TaskStarted", "taskStartedEventDetails": lambda_task}]
    )
    assert not waiting_for_a_person([])
