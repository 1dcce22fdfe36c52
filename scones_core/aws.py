"""The boto3 session the commands share, one client per session and service, and S3 URIs."""

from __future__ import annotations

from functools import cache
from typing import Any


def make_session(region: str | None = None, profile: str | None = None) -> Any:
    """A boto3 session: region and credentials from the usual chain unless given.

    botocore itself reads only AWS_DEFAULT_REGION; AWS_REGION (which the AWS CLI v2 and the
    other SDKs honour, and which wins there) is taken here too.
    """
    import os

    import boto3

    return boto3.Session(region_name=region or os.environ.get("AWS_REGION") or None, profile_name=profile)


def check_session(session: Any) -> None:
    """Fail before any work (a 161 MB download, say) when there is no region or no credentials."""
    from botocore.exceptions import NoCredentialsError, NoRegionError

    if not session.region_name:
        raise NoRegionError()
    if session.get_credentials() is None:
        raise NoCredentialsError()


#: A smoke test's InvokeEndpoint: SageMaker ends an invocation at 60 s, and a call that fails
#: counts as a wrong answer, so no retries (the default would try a hanging model five times).
_CLIENT_OPTIONS = {
    "sagemaker-runtime": {"retries": {"mode": "standard", "total_max_attempts": 1}, "read_timeout": 70}
}


@cache
def aws_client(session: Any, service: str) -> Any:
    """One client per session and service, so that a botocore Stubber attached to it in a test
    sees every request (as `training_job.aws.sagemaker_core_client` does for SageMaker)."""
    from botocore.config import Config

    return session.client(service, config=Config(**_CLIENT_OPTIONS.get(service, {})))


def s3_uri(bucket: str, *parts: str) -> str:
    key = "/".join(part.strip("/") for part in parts if part and part.strip("/"))
    return f"s3://{bucket}/{key}" if key else f"s3://{bucket}"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """'s3://bucket/some/key' -> ('bucket', 'some/key')."""
    if not uri.startswith("s3://") or len(uri) <= len("s3://"):
        raise ValueError(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"not an S3 URI: {uri!r}")
    return bucket, key
