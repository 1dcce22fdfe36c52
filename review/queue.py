"""The review queue and Step Functions: claim pending reviews, give a verdict.

A received message stays invisible to other reviewers for the visibility timeout: that is the
claim. The claims a reviewer holds are kept in a small file (``claims_path()``), so that ``decide``
in another process finds the token of a review that ``pending`` claimed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from review.exceptions import ReviewAlreadyEnded, ReviewError, ReviewNotFound
from review.verdicts import PendingReview, pending_review

CLAIM_SECONDS = 300  # the queue's own VisibilityTimeout: five minutes a photo
# what Step Functions answers a token whose task no longer waits
ENDED_TASK_ERRORS = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")
# what SQS answers a receipt handle whose claim lapsed or whose message is gone
STALE_HANDLE_ERRORS = ("ReceiptHandleIsInvalid", "InvalidParameterValue", "MessageNotInflight")
FIND_LIMIT = 100  # messages a decide looks through for one id


def claims_path() -> Path:
    cache = os.environ.get("REVIEW_STATE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "scones-vehicle-classifier"
    )
    return Path(cache) / "review-claims.json"


def load_claims(path: Path) -> dict[str, dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def save_claims(path: Path, claims: dict[str, dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(claims))


def claim(
    sqs: Any, queue_url: str, limit: int = 100, claim_seconds: int = CLAIM_SECONDS
) -> list[PendingReview]:
    """Receive up to ``limit`` pending reviews, hidden from other reviewers for ``claim_seconds``."""
    claimed: dict[str, PendingReview] = {}
    while len(claimed) < limit:
        messages = _receive(sqs, queue_url, limit - len(claimed), claim_seconds)
        if not messages:
            break
        for message in messages:
            review = pending_review(message)
            claimed[review.id] = review  # SQS may deliver one twice: the later handle is the live one
    return list(claimed.values())


def _receive(sqs: Any, queue_url: str, wanted: int, claim_seconds: int) -> list[dict]:
    """One ReceiveMessage of at most ``wanted`` (ten at the most, SQS's limit), without waiting:
    each message received is claimed, hidden from other reviewers for ``claim_seconds``."""
    return sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=min(10, wanted),
        VisibilityTimeout=claim_seconds,
        WaitTimeSeconds=0,
    ).get("Messages", [])


def remember(path: Path, reviews: list[PendingReview]) -> None:
    claims = load_claims(path)
    claims.update({r.id: vars(r) | {"inferences": r.inferences} for r in reviews})
    save_claims(path, claims)


def find_review(sqs: Any, queue_url: str, review_id: str, path: Path) -> PendingReview:
    """The review with that id: claimed here before, or still in the queue. Every other message
    received on the way goes back at once (visibility 0), so an unknown id hides no one's review.

    SQS has no look without a receive, and each receive adds one to a message's
    ApproximateReceiveCount, which the queue's redrive policy (maxReceiveCount 10) compares and
    which handing the message back does not undo. So the claims file is read first (no receive),
    messages are received ten at a time and the search stops at the one wanted, the fewest receives
    AWS allows; an unknown id still counts one receive on each visible message (docs/review.md)."""
    claims = load_claims(path)
    if review_id in claims:
        return PendingReview(**claims[review_id])
    others: list[dict] = []
    try:
        while len(others) < FIND_LIMIT:
            messages = _receive(sqs, queue_url, FIND_LIMIT - len(others), CLAIM_SECONDS)
            if not messages:
                break
            found = None
            for message in messages:
                review = pending_review(message)
                if review.id == review_id:
                    found = review  # SQS may deliver one twice: the later handle is the live one
                else:
                    others.append(message)
            if found is not None:
                return found
    finally:
        release_messages(sqs, queue_url, [message["ReceiptHandle"] for message in others])
    raise ReviewNotFound(
        f"no pending review {review_id!r}: decided already, timed out, or claimed by another reviewer"
    )


def release_messages(sqs: Any, queue_url: str, receipt_handles: list[str]) -> None:
    """Make these received messages visible again now (ChangeMessageVisibilityBatch, ten at a time,
    VisibilityTimeout 0). A handle gone stale (the message deleted or received again meanwhile)
    has nothing left to hand back."""
    for start in range(0, len(receipt_handles), 10):
        batch = receipt_handles[start : start + 10]
        answer = sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(number), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for number, handle in enumerate(batch)
            ],
        )
        for failed in answer.get("Failed", []):
            # AWS names these with an AWS.SimpleQueueService. prefix in some protocols
            if failed.get("Code", "").rsplit(".", 1)[-1] not in STALE_HANDLE_ERRORS:
                raise ReviewError(
                    f"could not hand a received review back to the queue: {failed.get('Code')} "
                    f"{failed.get('Message', '')}".strip()
                )


def forget(path: Path, review_id: str) -> None:
    claims = load_claims(path)
    if claims.pop(review_id, None) is not None:
        save_claims(path, claims)


def send_verdict(sfn: Any, review: PendingReview, success_output: str | None, failure: dict | None) -> None:
    try:
        if success_output is not None:
            sfn.send_task_success(taskToken=review.task_token, output=success_output)
        else:
            sfn.send_task_failure(taskToken=review.task_token, **(failure or {}))
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ENDED_TASK_ERRORS:
            raise ReviewAlreadyEnded(
                f"review {review.id} already ended ({code}): its execution no longer waits for a verdict"
            ) from error
        raise


def delete_message(sqs: Any, queue_url: str, review: PendingReview) -> None:
    try:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=review.receipt_handle)
    except ClientError as error:
        # a handle gone stale (the claim lapsed, another reviewer holds it) leaves the message
        # to be redelivered; its decide then finds the review ended
        if error.response["Error"]["Code"] not in ("ReceiptHandleIsInvalid", "InvalidParameterValue"):
            raise
