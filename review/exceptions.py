"""The review tool's errors, each one line for a person. ``REJECTED_BY_REVIEWER`` is the error name
SendTaskFailure gives and the state machine's RequestReview catches."""

REJECTED_BY_REVIEWER = "RejectedByReviewer"


class ReviewError(Exception):
    """A failure while running (exit 1)."""


class ReviewUsageError(ReviewError):
    """Something the user named is wrong (exit 2)."""


class StackNotFound(ReviewError):
    """No stack of that name, or one without a review queue."""


class ReviewNotFound(ReviewError):
    """No pending review has that id (decided, timed out, or claimed by another reviewer): exit 1,
    as a verdict on an ended review."""


class ReviewAlreadyEnded(ReviewError):
    """Step Functions no longer waits for this verdict (TaskTimedOut, InvalidToken, TaskDoesNotExist)."""


class VerdictAlreadyGiven(ReviewError):
    """The review was decided already with another verdict: the first verdict stands (the data set
    and the execution hold it), this one changed nothing. The same verdict again is no error."""


class ReviewedSetBusy(ReviewError):
    """So many reviewers wrote the reviewed set at once that a conditional write lost every one of
    its bounded retries: nothing of this verdict beyond what is complete was written; decide again."""


class UnsafeImageName(ReviewError):
    """The review's id cannot name a file of the reviewed set (a separator, whitespace or a control
    character in it): nothing was written."""
