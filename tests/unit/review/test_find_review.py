"""``review decide <id>`` changes nothing but that review (moto's SQS): the messages it receives
on the way to the one it wants go back to the queue at once, so an unknown, mistyped or someone
else's id leaves every pending review visible to the next reviewer; and a verdict refused
(VerdictAlreadyGiven) hands its own review back too."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from review import dataset
from review.exceptions import ReviewNotFound, VerdictAlreadyGiven
from review.service import Reviews
from review.stack import ReviewStack
from review.verdicts import pending_review

PENDING = 10
BUCKET = "photos"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def body(review_id: str) -> str:
    return json.dumps(
        {
            "execution_id": f"arn:aws:states:us-east-1:123456789012:execution:sm:{review_id}",
            "s3_bucket": BUCKET,
            "s3_key": f"images/{review_id}.png",
            "label": "bicycle",
            "confidence": 0.6,
            "inferences": [0.6, 0.4],
            "task_token": "token",
        }
    )


@pytest.fixture
def desk(tmp_path):
    """A queue of ten pending reviews and two reviewers with claim files of their own."""
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        sqs = session.client("sqs")
        queue_url = sqs.create_queue(QueueName="review", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        for n in range(PENDING):
            sqs.send_message(QueueUrl=queue_url, MessageBody=body(f"unsure-{n}"))
            s3.put_object(Bucket=BUCKET, Key=f"images/unsure-{n}.png", Body=PNG)
        stack = ReviewStack(queue_url, BUCKET)
        reviewers = (Reviews(session, stack, tmp_path / name) for name in ("a.json", "b.json"))
        yield sqs, queue_url, *reviewers


def visible_and_hidden(sqs, queue_url) -> tuple[int, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return int(attributes[names[0]]), int(attributes[names[1]])


@pytest.mark.parametrize("review_id", ["no-such-review", "unsure-1 ", "UNSURE-1"])
def test_an_unknown_id_leaves_the_pending_list_unchanged(desk, review_id):
    sqs, queue_url, reviewer, other = desk

    with pytest.raises(ReviewNotFound):
        reviewer.decide(review_id, "bicycle")

    assert visible_and_hidden(sqs, queue_url) == (PENDING, 0)
    assert sorted(r.id for r in other.pending()) == sorted(f"unsure-{n}" for n in range(PENDING))


def test_someone_elses_id_hides_nothing_else(desk):
    sqs, queue_url, reviewer, other = desk
    [held] = other.pending(limit=1)

    with pytest.raises(ReviewNotFound):
        reviewer.decide(held.id, "bicycle")

    assert visible_and_hidden(sqs, queue_url) == (PENDING - 1, 1)


def test_a_found_review_is_the_only_one_held(desk):
    sqs, queue_url, reviewer, other = desk
    from review import queue

    found = queue.find_review(sqs, queue_url, "unsure-7", reviewer.claims)

    assert found.id == "unsure-7"
    assert visible_and_hidden(sqs, queue_url) == (PENDING - 1, 1)
    assert "unsure-7" not in [r.id for r in other.pending()]


def test_a_refused_verdict_hands_its_review_back(desk):
    sqs, queue_url, reviewer, _ = desk
    answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, VisibilityTimeout=0)
    [message] = answer["Messages"]
    review = pending_review(message)
    dataset.add_verdict(reviewer.session.client("s3"), BUCKET, "reviewed/", review, "motorcycle")

    with pytest.raises(VerdictAlreadyGiven):
        reviewer.decide(review.id, "bicycle")

    assert visible_and_hidden(sqs, queue_url) == (PENDING, 0)
