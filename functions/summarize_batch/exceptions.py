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


class BucketNotFound(Exception):
    """The batch's bucket does not exist (S3's NoSuchBucket): found before any photo is listed."""


class ManifestNotFound(ResultsNotFound):
    """The expected-label manifest the input names does not exist: found before any photo runs."""


class InvalidManifest(InvalidResults):
    """The expected-label manifest is not a .lst or a Key,label CSV, or names no photo of the
    batch: found before any photo runs (the message names the line or what is missing)."""
