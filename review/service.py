"""What ``pending``, ``decide`` and the page do, over the AWS clients they are given."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from review import dataset, queue
from review.exceptions import ReviewAlreadyEnded
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
        review = queue.find_review(sqs, self.stack.queue_url, review_id, self.claims)
        written = None
        if verdict in LABELS:  # a human label is training data even when the execution has ended
            written = dataset.add_verdict(
                self.session.client("s3"), self.stack.bucket, self.stack.prefix, review, verdict
            )
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
