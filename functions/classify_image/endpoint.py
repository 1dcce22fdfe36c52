"""SageMaker Runtime adapter: the endpoint's name, and one InvokeEndpoint call with SageMaker's
errors mapped to ours."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import cache

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

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


def parse_timeout(raw: str | None) -> float:
    """ENDPOINT_TIMEOUT_SECONDS, the longest wait for one answer: 1 to 60 s (SageMaker itself
    ends an invocation at 60 s)."""
    try:
        seconds = float(raw) if raw is not None else math.nan
    except ValueError:
        seconds = math.nan
    if not 1 <= seconds <= 60:
        raise InvalidConfiguration(
            f"ENDPOINT_TIMEOUT_SECONDS must be a number of seconds in 1..60, got {raw!r}"
        )
    return seconds


ENDPOINT_TIMEOUT_SECONDS = parse_timeout(os.environ.get("ENDPOINT_TIMEOUT_SECONDS"))
CONNECT_TIMEOUT_SECONDS = 5


@cache
def sagemaker_runtime_client():
    """One client per container, created on first use. The SDK does not retry: the state
    machine's Retry is the one retry policy, so each attempt shows in the execution history. A
    slow endpoint ends in EndpointUnavailable after ENDPOINT_TIMEOUT_SECONDS, which is retried."""
    return boto3.client(
        "sagemaker-runtime",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=ENDPOINT_TIMEOUT_SECONDS,
        ),
    )


# The answer's type we ask for; and what a response without its ContentType or
# InvokedProductionVariant header is taken to be (an endpoint of one variant).
ACCEPT = "application/json"
DEFAULT_VARIANT = "AllTraffic"


@dataclass(frozen=True)
class EndpointAnswer:
    """The endpoint's answer as data capture keeps it: the body, its content type, and the
    production variant that gave it (the capture's key names it)."""

    body: bytes
    content_type: str = ACCEPT
    variant: str = DEFAULT_VARIANT


def invoke_endpoint(endpoint_name: str, image: bytes, content_type: str) -> EndpointAnswer:
    try:
        response = sagemaker_runtime_client().invoke_endpoint(
            EndpointName=endpoint_name, ContentType=content_type, Accept=ACCEPT, Body=image
        )
        return EndpointAnswer(
            response["Body"].read(),
            response.get("ContentType") or ACCEPT,
            response.get("InvokedProductionVariant") or DEFAULT_VARIANT,
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        if code in _THROTTLED:
            raise EndpointThrottled(f"endpoint {endpoint_name} throttled: {message}") from error
        # a container that did not answer in time: SageMaker's ModelError with OriginalStatusCode 0
        timed_out = code == "ModelError" and error.response.get("OriginalStatusCode") == 0
        if (
            code in _UNAVAILABLE
            or timed_out
            or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
        ):
            raise EndpointUnavailable(f"endpoint {endpoint_name} unavailable ({code}): {message}") from error
        raise EndpointError(f"endpoint {endpoint_name} failed ({code}): {message}") from error
    # connect/read timeouts, connections closed mid-answer, a body stream cut short
    except (ConnectionError, HTTPClientError) as error:
        raise EndpointUnavailable(f"endpoint {endpoint_name} unreachable: {error}") from error
    except BotoCoreError as error:  # anything else the SDK raises (no credentials, ...): not transient
        raise EndpointError(f"endpoint {endpoint_name} not called: {error}") from error
