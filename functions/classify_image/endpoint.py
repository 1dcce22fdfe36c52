"""SageMaker Runtime adapter: the endpoint's name, and one InvokeEndpoint call with SageMaker's
errors mapped to ours."""

from __future__ import annotations

from functools import cache

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from exceptions import EndpointError, EndpointThrottled, EndpointUnavailable, InvalidConfiguration

_THROTTLED = {"ThrottlingException", "TooManyRequestsException"}
_UNAVAILABLE = {
    "ServiceUnavailable",
    "InternalFailure",
    "InternalDependencyException",
    "ModelNotReadyException",
}


def parse_endpoint_name(raw: str | None) -> str:
    """The ENDPOINT_NAME template.yaml sets. Read at import: a function deployed without it fails
    its cold start with InvalidConfiguration, as FilterInferences does for its threshold."""
    if not raw:
        raise InvalidConfiguration(f"ENDPOINT_NAME must name the SageMaker endpoint, got {raw!r}")
    return raw


@cache
def sagemaker_runtime_client():
    """One client per container, created on first use. The SDK does not retry: the state
    machine's Retry is the one retry policy, so each attempt shows in the execution history."""
    return boto3.client(
        "sagemaker-runtime",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=62
        ),
    )


def invoke_endpoint(endpoint_name: str, image: bytes, content_type: str) -> bytes:
    try:
        response = sagemaker_runtime_client().invoke_endpoint(
            EndpointName=endpoint_name, ContentType=content_type, Accept="application/json", Body=image
        )
        return response["Body"].read()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        if code in _THROTTLED:
            raise EndpointThrottled(f"endpoint {endpoint_name} throttled: {message}") from error
        if code in _UNAVAILABLE or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
            raise EndpointUnavailable(f"endpoint {endpoint_name} unavailable ({code}): {message}") from error
        raise EndpointError(f"endpoint {endpoint_name} failed ({code}): {message}") from error
    # connect/read timeouts, connections closed mid-answer, a body stream cut short
    except (ConnectionError, HTTPClientError) as error:
        raise EndpointUnavailable(f"endpoint {endpoint_name} unreachable: {error}") from error
