"""The failures the monitoring package knows, in one place."""


class MonitoringError(Exception):
    """Base class: the CLI prints these as one clear line and exits non-zero."""


class CaptureSourceError(MonitoringError):
    """The capture source cannot be listed (folder missing, bucket missing, no access, bad URI)."""


class NoCaptureRecords(MonitoringError):
    """The source held no usable capture record, so there is nothing to report on."""


class InvalidRecord(ValueError):
    """One captured line is not a usable record; ``reason`` is the key counted in the summary."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class InvalidImage(ValueError):
    """A captured input cannot be decoded back into an image."""


class BaselineError(MonitoringError):
    """The baseline cannot be read (missing, no access, not JSON) or is no baseline of this model."""


class ReviewedSetError(MonitoringError):
    """The reviewed data set cannot be read (no such folder or stack, no access) or is malformed."""


class BatchResultsNotFound(MonitoringError):
    """A batch's results folder, its summary.json or manifest.json (so: not a BatchClassify results
    folder), or a result file its manifest lists, does not exist."""


class BatchResultsUnreadable(MonitoringError):
    """A batch's results exist but cannot be read: S3 refused (no access) or could not be reached,
    or a local file could not be opened."""


class BatchResultsMalformed(MonitoringError):
    """A batch's summary.json, manifest.json or a result file is not JSON, or not what SummarizeBatch
    and Step Functions' ResultWriter write."""
