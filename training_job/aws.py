"""The client sagemaker-core sends through (the session, S3 URIs and other clients are the
floor's: scones_core.aws)."""

from __future__ import annotations

from typing import Any


def sagemaker_core_client(session: Any) -> Any:
    """The boto3 SageMaker client that sagemaker-core's resources use for this session.

    `Base.get_sagemaker_client` caches one client per (session, region); every resource call
    made with ``session=session, region=session.region_name`` goes through this object, so a
    botocore Stubber attached to it sees (and checks) each request.
    """
    from sagemaker.core.resources import Base

    return Base.get_sagemaker_client(session=session, region_name=session.region_name)
