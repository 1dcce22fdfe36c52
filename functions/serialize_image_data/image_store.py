"""S3 adapter: read one image object no larger than a cap, mapping every S3 failure to one of our
named errors."""

from __future__ import annotations

from functools import cache

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    IncompleteReadError,
    ParamValidationError,
    ResponseStreamingError,
)

from exceptions import (
    ImageAccessDenied,
    ImageNotFound,
    ImageStoreError,
    ImageStoreUnavailable,
    InvalidEvent,
)
from image_data import check_upload_size

_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}
# InvalidObjectState: archived in a Glacier storage class, unreadable until restored
_DENIED = {"AccessDenied", "403", "Forbidden", "KMS.AccessDeniedException", "InvalidObjectState"}
_NOT_A_LOCATION = {"InvalidBucketName", "InvalidArgument", "KeyTooLongError", "InvalidRequest"}
_TRANSIENT = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "503",
    "500",
}
# botocore's transport failures: connect/read timeouts, refused or reset connections, a body
# stream cut short
_TRANSPORT = (ConnectionError, HTTPClientError, IncompleteReadError, ResponseStreamingError)


@cache
def s3_client():
    """Created once per container, on first use (so tests can set up moto first). The SDK does
    not retry: the state machine's Retry is the one retry policy, so each attempt shows in the
    execution history and the total time stays bounded (docs/errors.md, "Errors and retries")."""
    return boto3.client(
        "s3",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=10
        ),
    )


def read_image(bucket: str, key: str, *, max_bytes: int) -> bytes:
    """The object's bytes, refused with ImageTooLarge before any download when it is larger
    than ``max_bytes``."""
    name = f"s3://{bucket}/{key}"
    try:
        client = s3_client()
        size = _object_size(client, bucket, key)
        if size is not None:
            check_upload_size(size, max_bytes=max_bytes, name=name)
        response = client.get_object(Bucket=bucket, Key=key)
        body = response["Body"]
        try:
            # Checked again from the GET's headers, before its body is read: the object may
            # have been replaced since the HEAD.
            check_upload_size(response["ContentLength"], max_bytes=max_bytes, name=name)
            return body.read()
        finally:
            body.close()
    except ClientError as error:
        raise s3_error(error, name) from error
    except ParamValidationError as error:  # refused by botocore before any request
        raise InvalidEvent(f"{name} is not an S3 location: {_first_line(error)}") from error
    except _TRANSPORT as error:
        raise ImageStoreUnavailable(f"S3 unreachable reading {name}: {_first_line(error)}") from error
    except BotoCoreError as error:  # anything else the SDK raises (credentials, an ARN it refuses)
        raise ImageStoreError(f"could not read {name}: {_first_line(error)}") from error


def _object_size(client, bucket: str, key: str) -> int | None:
    """The object's size from a HEAD, or None when S3 answered 404. A HEAD's answer has no
    body, so its 404 cannot say whether the bucket or the key is missing: the GET that follows
    fails with NoSuchBucket or NoSuchKey, which names it. Every other HEAD failure is raised
    and mapped like a GET's (its code is the HTTP status: "403", "503", ...)."""
    try:
        return client.head_object(Bucket=bucket, Key=key)["ContentLength"]
    except ClientError as error:
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return None
        raise


def s3_error(error: ClientError, name: str) -> Exception:
    """The named error for S3's answer to reading ``name``."""
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    message = details.get("Message") or code
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in _NOT_FOUND:
        return ImageNotFound(f"{name} does not exist ({code})")
    if code in _DENIED:
        return ImageAccessDenied(f"not allowed to read {name} ({code}: {message})")
    if code in _NOT_A_LOCATION:
        return InvalidEvent(f"{name} is not an S3 location S3 accepts ({code}: {message})")
    if code in _TRANSIENT or status >= 500:
        return ImageStoreUnavailable(f"S3 failed reading {name}, retry later ({code}: {message})")
    return ImageStoreError(f"S3 refused reading {name} ({code or status}: {message})")


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
