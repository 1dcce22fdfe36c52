"""S3 adapter: read a batch's result files and manifest, write its summary, mapping every S3
failure to one of our named errors."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from exceptions import (
    BucketNotFound,
    InvalidResults,
    ResultsNotFound,
    ResultsStoreError,
    ResultsStoreUnavailable,
)

_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}
_TRANSIENT = {"SlowDown", "Throttling", "RequestTimeout", "InternalError", "ServiceUnavailable", "503", "500"}


@cache
def s3_client() -> Any:
    """Created once per container, on first use. One attempt per call: the state machine's Retry
    is the one retry policy (ResultsStoreUnavailable)."""
    return boto3.client(
        "s3",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=60
        ),
    )


def read_text(
    bucket: str, key: str, *, missing: type[ResultsNotFound] = ResultsNotFound, invalid: type = InvalidResults
) -> str:
    """The object's text; ``missing`` when it does not exist, ``invalid`` when it is not UTF-8."""
    try:
        return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    except UnicodeDecodeError as error:
        raise invalid(f"s3://{bucket}/{key} is not UTF-8 text ({error.reason})") from None
    except (ClientError, BotoCoreError) as error:
        raise _named(error, bucket, key, missing) from None


def check_bucket_exists(bucket: str, probe_key: str) -> None:
    """BucketNotFound when ``bucket`` does not exist. S3 answers a read of any key in a bucket
    that does not exist with NoSuchBucket, whoever asks; any other answer (the object, NoSuchKey,
    AccessDenied: SummarizeBatch may not list, so S3 hides a missing key behind 403) means the
    bucket is there, and what may be read in it is the ItemReader's and the functions' concern."""
    try:
        s3_client().get_object(Bucket=bucket, Key=probe_key)["Body"].close()
    except (ClientError, BotoCoreError) as error:
        named = _named(error, bucket, probe_key)
        if isinstance(named, BucketNotFound | ResultsStoreUnavailable):
            raise named from None


def read_json(bucket: str, key: str) -> Any:
    try:
        return json.loads(read_text(bucket, key))
    except ValueError as error:
        raise InvalidResults(f"s3://{bucket}/{key} is not JSON ({error})") from None


def write_json(bucket: str, key: str, value: Any) -> None:
    body = json.dumps(value, indent=2).encode()
    try:
        s3_client().put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    except (ClientError, BotoCoreError) as error:
        raise _named(error, bucket, key) from None


def _named(
    error: Exception, bucket: str, key: str, missing: type[ResultsNotFound] = ResultsNotFound
) -> Exception:
    name = f"s3://{bucket}/{key}"
    if isinstance(error, ParamValidationError):  # botocore refuses a name S3 would never have
        return BucketNotFound(f"bucket {bucket!r} cannot exist ({' '.join(str(error).split())})")
    if not isinstance(error, ClientError):  # a timeout, a refused or reset connection
        return ResultsStoreUnavailable(f"{name}: S3 could not be reached ({type(error).__name__})")
    code = str(error.response.get("Error", {}).get("Code", ""))
    if code == "NoSuchBucket":
        return BucketNotFound(f"bucket {bucket} does not exist (S3: NoSuchBucket)")
    if code in _NOT_FOUND:
        return missing(f"{name} does not exist")
    if code in _TRANSIENT:
        return ResultsStoreUnavailable(f"{name}: S3 answered {code}")
    return ResultsStoreError(f"{name}: S3 refused with {code or 'no code'}")
