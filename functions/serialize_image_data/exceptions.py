"""Errors of SerializeImageData. Each class name is the error name the ASL matches."""


class InvalidEvent(ValueError):
    """The event is missing a key or a key has the wrong type; the message names it."""


class ImageNotFound(LookupError):
    """The bucket or the object does not exist."""


class ImageAccessDenied(PermissionError):
    """The function may not read the object (outside the image bucket, or KMS denied)."""


class NotAnImage(ValueError):
    """The object's first bytes are neither PNG nor JPEG."""


class ImageTooLarge(ValueError):
    """The image's base64 would not fit into a Step Functions state payload."""


class ImageStoreUnavailable(ConnectionError):
    """S3 throttled the read, failed with a 5xx or could not be reached: transient, so the state
    machine retries it with backoff."""


class ImageStoreError(RuntimeError):
    """S3 refused the read for a reason none of the other errors names; the message carries S3's
    code and words. Retrying does not help."""
