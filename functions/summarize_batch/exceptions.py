"""Errors of SummarizeBatch. Each class name is the error name the ASL matches."""


class InvalidEvent(ValueError):
    """The event does not name a batch's results; the message says what is wrong."""


class ResultsNotFound(Exception):
    """The run's manifest.json, one of its result files, or the batch's expected-label manifest is missing."""


class InvalidResults(ValueError):
    """A result file or the expected-label manifest is not what Step Functions (or the README) writes."""


class ResultsStoreUnavailable(Exception):
    """S3 throttled, answered 5xx or could not be reached (transient: the state machine retries)."""


class ResultsStoreError(Exception):
    """S3 refused a read or write for another reason (the message has S3's code)."""
