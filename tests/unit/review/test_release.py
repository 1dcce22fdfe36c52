"""``Reviews.release`` in moto's SQS: a photo whose page closed goes back to the queue at once,
for the next reviewer, instead of staying hidden until its claim lapses."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from review.service import Reviews
from review.stack import ReviewStack


@pytest.fixture
def two_reviewers(tmp_path):
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        sqs = session.client("sqs")
        queue_url = sqs.create_queue(QueueName="review")["QueueUrl"]
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(
                {
                    "execution_id": "arn:aws:states:us-east-1:123456789012:execution:sm:unsure-1",
                    "s3_bucket": "photos",
                    "s3_key": "images/a.png",
                    "label": "bicycle",
                    "confidence": 0.6,
                    "inferences": [0.6, 0.4],
                    "task_token": "token",
                }
            ),
        )
        stack = ReviewStack(queue_url, "photos")
        yield Reviews(session, stack, tmp_path / "a.json"), Reviews(session, stack, tmp_path / "b.json")


def test_a_released_review_goes_to_the_next_reviewer_at_once(two_reviewers):
    first, second = two_reviewers
    assert [r.id for r in first.pending(1)] == ["unsure-1"]
    assert second.pending(1) == []

    first.release("unsure-1")

    assert [r.id for r in second.pending(1)] == ["unsure-1"]
    assert "unsure-1" not in json.loads(first.claims.read_text())


def test_releasing_a_review_never_claimed_or_already_decided_does_nothing(two_reviewers):
    first, _ = two_reviewers
    first.release("never-claimed")
    (review,) = first.pending(1)
    sqs = first.session.client("sqs")
    sqs.delete_message(QueueUrl=first.stack.queue_url, ReceiptHandle=review.receipt_handle)

    first.release("unsure-1")  # its message is gone: SQS refuses the handle, quietly

    assert "unsure-1" not in json.loads(first.claims.read_text())
