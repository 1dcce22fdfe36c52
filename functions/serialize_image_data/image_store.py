"""S3 adapter: read one image object, mapping S3's errors to ours."""

from __future__ import annotations

from functools import cache

import boto3
from botocore.exceptions import ClientError

from exceptions import ImageAccessDenied, ImageNotFound
from image_data import check_size

_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}
_DENIED = {"AccessDenied", "403", "Forbidden", "KMS.AccessDeniedException"}


@cache
def s3_client():
    """Created once per container, on first use (so tests can set up moto first)."""
    return boto3.client("s3")


def read_image(bucket: str, key: str) -> bytes:
    name = f"s3://{bucket}/{key}"
    try:
        response = s3_client().get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in _NOT_FOUND:
            raise ImageNotFound(f"{name} does not exist ({code})") from error
        if code in _DENIED:
            raise ImageAccessDenied(f"not allowed to read {name} ({code})") from error
        raise
    body = response["Body"]
    try:
        # Refuse before reading: the size is known from the response headers.
        check_size(response["ContentLength"], name=name)
        return body.read()
    finally:
        body.close()
