"""The boto3 session the commands share, S3 URIs, and the client sagemaker-core sends through."""

from __future__ import annotations

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


def sagemaker_core_client(session: Any) -> Any:
    """The boto3 SageMaker client that sagemaker-core's resources use for this session.

    `Base.get_sagemaker_client` caches one client per (session, region); every resource call
    made with ``session=session, region=session.region_name`` goes through this object, so a
    botocore Stubber attached to it sees (and checks) each request.
    """
    from sagemaker.core.resources import Base

    return Base.get_sagemaker_client(session=session, region_name=session.region_name)


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
