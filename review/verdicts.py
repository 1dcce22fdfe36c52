"""Pure functions: a queue message to a pending review, a verdict to what Step Functions and the
metrics are told."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from review.exceptions import REJECTED_BY_REVIEWER, ReviewUsageError

LABELS = ("bicycle", "motorcycle")
VERDICTS = (*LABELS, "neither")


@dataclass(frozen=True)
class PendingReview:
    id: str  # the execution's name: unique per state machine, and what a person can read
    execution_id: str
    s3_bucket: str
    s3_key: str
    label: str  # the model's
    confidence: float
    inferences: list[float]
    task_token: str
    receipt_handle: str

    @property
    def s3_uri(self) -> str:
        return f"s3://{self.s3_bucket}/{self.s3_key}"

    def public(self) -> dict:
        """What ``pending --json`` prints: no token, no receipt handle."""
        shown = {k: v for k, v in asdict(self).items() if k not in ("task_token", "receipt_handle")}
        return {**shown, "s3_uri": self.s3_uri}


def review_id(execution_id: str) -> str:
    return execution_id.rsplit(":", 1)[-1]


def pending_review(message: dict) -> PendingReview:
    """One SQS message as RequestReview wrote it."""
    body = json.loads(message["Body"])
    return PendingReview(
        id=review_id(body["execution_id"]),
        execution_id=body["execution_id"],
        s3_bucket=body["s3_bucket"],
        s3_key=body["s3_key"],
        label=body["label"],
        confidence=float(body["confidence"]),
        inferences=[float(p) for p in body["inferences"]],
        task_token=body["task_token"],
        receipt_handle=message["ReceiptHandle"],
    )


def check_verdict(verdict: str) -> str:
    if verdict not in VERDICTS:
        raise ReviewUsageError(f"verdict {verdict!r}: must be one of {', '.join(VERDICTS)}")
    return verdict


def task_success_output(verdict: str) -> str:
    """SendTaskSuccess's output: CheckVerdict reads ``label``."""
    return json.dumps({"label": verdict})


def task_failure(review: PendingReview) -> dict:
    """SendTaskFailure's arguments for ``neither``: RejectedByReviewer's Fail state shows the cause."""
    return {
        "error": REJECTED_BY_REVIEWER,
        "cause": f"A reviewer saw neither a bicycle nor a motorcycle in {review.s3_uri} "
        f"(the model said {review.label} at {review.confidence:.4f}).",
    }


def verdict_metrics(review: PendingReview, verdict: str) -> list[dict]:
    """ReviewsCompleted, and ReviewerAgreed (1 when the reviewer's label is the model's, else 0:
    its Average is the agreement rate), as PutMetricData's MetricData."""
    dimensions = [{"Name": "service", "Value": "vehicle-classifier"}]
    return [
        {"MetricName": "ReviewsCompleted", "Value": 1, "Unit": "Count", "Dimensions": dimensions},
        {
            "MetricName": "ReviewerAgreed",
            "Value": 1 if verdict == review.label else 0,
            "Unit": "Count",
            "Dimensions": dimensions,
        },
    ]
