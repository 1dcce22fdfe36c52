"""Errors of SerializeImageData. Each class name is the error name the ASL matches."""


class InvalidEvent(ValueError):
    """The event is missing a key or a key has the wrong type; the message names it."""


class InvalidConfiguration(ValueError):
    """MAX_IMAGE_SIDE or MAX_UPLOAD_BYTES is missing or out of range (a deployment mistake, found at
    cold start)."""


class ImageNotFound(LookupError):
    """The bucket or the object does not exist."""


class ImageAccessDenied(PermissionError):
    """The function may not read the object (outside the image bucket, or KMS denied)."""


class NotAnImage(ValueError):
    """The object is no image at all, or an image whose data cannot be decoded (truncated,
    corrupt); the message gives the decoder's reason."""


class UnsupportedImageFormat(ValueError):
    """The object is an image, but in a format we do not decode (HEIC, AVIF, TIFF, ...); the
    message names the format, so the sender knows to export a JPEG."""


class ImageTooLarge(ValueError):
    """The object is larger than MAX_UPLOAD_BYTES, has more pixels than we decode safely, or
    (never expected after normalising) its base64 would not fit a Step Functions state payload."""


class ImageStoreUnavailable(ConnectionError):
    """S3 throttled the read, failed with a 5xx or could not be reached: transient, so the state
    machine retries it with backoff."""


class ImageStoreError(RuntimeError):
    """S3 refused the read for a reason none of the other errors names; the message carries S3's
    code and words. Retrying does not help."""
