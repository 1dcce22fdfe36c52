"""What ``pending``, ``decide`` and the page do, over the AWS clients they are given."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from review import dataset, queue
from review.exceptions import ReviewAlreadyEnded, ReviewError
from review.stack import ReviewStack
from review.verdicts import (
    LABELS,
    PendingReview,
    check_verdict,
    task_failure,
    task_success_output,
    verdict_metrics,
)

logger = logging.getLogger(__name__)
METRICS_NAMESPACE = "SconesUnlimited/VehicleClassifier"
STALE_HANDLE_ERRORS = queue.STALE_HANDLE_ERRORS


@dataclass
class Reviews:
    session: Any
    stack: ReviewStack
    claims: Path

    def pending(self, limit: int = 100) -> list[PendingReview]:
        reviews = queue.claim(self.session.client("sqs"), self.stack.queue_url, limit)
        queue.remember(self.claims, reviews)
        return reviews

    def decide(self, review_id: str, verdict: str) -> dict:
        """Write the verdict into the reviewed set (a label), answer Step Functions, delete the
        message, count it. Raises ReviewAlreadyEnded (after deleting the stale message)."""
        check_verdict(verdict)
        sqs = self.session.client("sqs")
        claimed_before = review_id in queue.load_claims(self.claims)
        review = queue.find_review(sqs, self.stack.queue_url, review_id, self.claims)
        # every verdict is recorded (the report counts them all); a label is also training data,
        # even when the execution has ended. A review is decided once: another verdict on it is
        # refused (VerdictAlreadyGiven) before anything is written or answered
        try:
            written = dataset.add_verdict(
                self.session.client("s3"), self.stack.bucket, self.stack.prefix, review, verdict
            )
        except ReviewError:
            if not claimed_before:  # received just now: back to the queue, nothing changed
                queue.release_messages(sqs, self.stack.queue_url, [review.receipt_handle])
            raise
        try:
            if verdict in LABELS:
                queue.send_verdict(
                    self.session.client("stepfunctions"), review, task_success_output(verdict), None
                )
            else:
                queue.send_verdict(self.session.client("stepfunctions"), review, None, task_failure(review))
        except ReviewAlreadyEnded:
            queue.delete_message(sqs, self.stack.queue_url, review)
            queue.forget(self.claims, review.id)
            raise
        queue.delete_message(sqs, self.stack.queue_url, review)
        queue.forget(self.claims, review.id)
        self._count(review, verdict)
        return {"id": review.id, "verdict": verdict, "model_label": review.label, "reviewed_object": written}

    def release(self, review_id: str) -> None:
        """Hand a claimed review back to the queue now (the page that showed it closed), so that a
        reviewer gets it at once rather than when the claim lapses. A claim that already lapsed,
        or a review decided meanwhile, leaves nothing to do."""
        claims = queue.load_claims(self.claims)
        if review_id not in claims:
            return
        review = PendingReview(**claims[review_id])
        try:
            self.session.client("sqs").change_message_visibility(
                QueueUrl=self.stack.queue_url, ReceiptHandle=review.receipt_handle, VisibilityTimeout=0
            )
        except ClientError as error:
            # AWS names these with an AWS.SimpleQueueService. prefix in some protocols
            if error.response["Error"]["Code"].rsplit(".", 1)[-1] not in STALE_HANDLE_ERRORS:
                raise
        queue.forget(self.claims, review_id)

    def photo(self, review: PendingReview) -> tuple[bytes, str]:
        answer = self.session.client("s3").get_object(Bucket=review.s3_bucket, Key=review.s3_key)
        return answer["Body"].read(), answer.get("ContentType") or "application/octet-stream"

    def _count(self, review: PendingReview, verdict: str) -> None:
        # best effort: a verdict given is never undone by a metric lost
        try:
            self.session.client("cloudwatch").put_metric_data(
                Namespace=METRICS_NAMESPACE, MetricData=verdict_metrics(review, verdict)
            )
        except (BotoCoreError, ClientError) as error:
            logger.warning("review: the verdict's metrics were not sent (%s)", error)
