"""The reviews one page server holds: each "next" claims one more from the queue (the queue's
visibility timeout keeps it from every other reviewer, in this server or another), a verdict goes
through ``Reviews.decide``, the code path of ``python -m review decide``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from review.exceptions import ReviewAlreadyEnded, ReviewNotFound, VerdictAlreadyGiven
from review.queue import CLAIM_SECONDS
from review.verdicts import PendingReview, check_verdict

# a claim this close to lapsing is left to lapse: SQS takes a stale receipt handle, and releasing
# with one could hand back a photo another reviewer claimed meanwhile
RELEASE_MARGIN_SECONDS = 15


class ReviewService(Protocol):
    """What the page needs of ``review.service.Reviews`` (a stub in the unit tests)."""

    def pending(self, limit: int = 100) -> list[PendingReview]: ...
    def decide(self, review_id: str, verdict: str) -> dict: ...
    def release(self, review_id: str) -> None: ...
    def photo(self, review: PendingReview) -> tuple[bytes, str]: ...


class ReviewDesk:
    """Thread-safe: the server answers several tabs at once, ``Reviews`` keeps its claims in a
    file that two writers at once would garble, and its boto3 Session is not thread-safe."""

    def __init__(self, reviews: ReviewService, clock: Callable[[], float] = time.monotonic) -> None:
        self._reviews = reviews
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[str, PendingReview] = {}
        self._claimed_at: dict[str, float] = {}

    def next_review(self) -> PendingReview | None:
        """Claim one more pending review, or None when nothing is pending (or all are claimed)."""
        with self._lock:
            claimed = self._reviews.pending(1)
            if not claimed:
                return None
            review = claimed[0]
            self._held[review.id] = review
            self._claimed_at[review.id] = self._clock()
            return review

    def held(self, review_id: str) -> PendingReview:
        review = self._held.get(review_id)
        if review is None:
            raise ReviewNotFound(
                f"review {review_id!r} is not on this page: decided already, or never claimed here"
            )
        return review

    def decide(self, review_id: str, verdict: str) -> dict:
        """``review decide``'s answer. Only a review this server claimed: deciding another would
        make ``Reviews.decide`` claim the queue's other messages while it looks for it."""
        check_verdict(verdict)
        with self._lock:
            self.held(review_id)
            try:
                decided = self._reviews.decide(review_id, verdict)
            except (ReviewAlreadyEnded, ReviewNotFound, VerdictAlreadyGiven):
                self._drop(review_id)  # nothing left to decide (or decided otherwise): the page moves on
                raise
            # any other failure (AWS refused, the network) keeps the claim: the verdict can be sent again
            self._drop(review_id)
            return decided

    def release(self, review_id: str) -> None:
        with self._lock:
            claimed_at = self._drop(review_id)
            if claimed_at is not None and self._clock() - claimed_at < CLAIM_SECONDS - RELEASE_MARGIN_SECONDS:
                self._reviews.release(review_id)

    def _drop(self, review_id: str) -> float | None:
        """Forget a held review; when it was claimed, or None if it was not held."""
        self._held.pop(review_id, None)
        return self._claimed_at.pop(review_id, None)

    def release_all(self) -> None:
        """At shutdown: every photo still on a page goes back to the queue at once."""
        for review_id in list(self._held):
            self.release(review_id)

    def photo(self, review_id: str) -> bytes:
        # under the lock too: Reviews makes a client per call, and a boto3 Session must not make
        # two at once (it is not thread-safe); a 32x32 photo is read in milliseconds
        with self._lock:
            return self._reviews.photo(self.held(review_id))[0]
