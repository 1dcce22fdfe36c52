"""`deploy`: model, endpoint config with data capture, endpoint, through sagemaker-core (SDK v3).

A first deploy creates the endpoint; deploying again to the same name makes a new model and a
new endpoint config (unique, timestamped names) and updates the endpoint in place, so the
endpoint name that the SAM stack holds never changes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from training_job.aws import parse_s3_uri, s3_uri
from training_job.exceptions import EndpointFailedError
from training_job.project import ALGORITHM, DEFAULT_ENDPOINT_INSTANCE, DEFAULT_PREFIX, project_tags
from training_job.training import assigned, core_tags

VARIANT_NAME = "AllTraffic"
#: The algorithm answers application/json, captured as text. Requests arrive as image/png
#: (or application/x-image), which are in neither list, so SageMaker captures them base64.
CAPTURE_JSON_CONTENT_TYPES = ["application/json"]
_MAX_NAME = 63  # SageMaker resource names: [a-zA-Z0-9](-*[a-zA-Z0-9])*, at most 63 characters


@dataclass(frozen=True)
class DeployConfig:
    model_data: str
    endpoint_name: str
    role_arn: str
    capture_s3_uri: str
    instance_type: str = DEFAULT_ENDPOINT_INSTANCE
    instance_count: int = 1
    sampling_percentage: int = 100


@dataclass(frozen=True)
class Deployment:
    endpoint: Any  # sagemaker.core.resources.Endpoint
    endpoint_config_name: str
    model_name: str
    updated: bool  # True when an existing endpoint was updated in place


def default_capture_uri(model_data: str) -> str:
    """Beside the model: s3://<model bucket>/<prefix>/data-capture."""
    bucket, _ = parse_s3_uri(model_data)
    return s3_uri(bucket, DEFAULT_PREFIX, "data-capture")


def versioned_name(endpoint_name: str, now: float | None = None) -> str:
    """`<endpoint>-YYYYMMDD-HHMMSS`, cut to SageMaker's 63 characters."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"{endpoint_name[: _MAX_NAME - len(stamp) - 1].rstrip('-')}-{stamp}"


def model_request(config: DeployConfig, model_name: str, region: str) -> dict[str, Any]:
    from sagemaker.core import image_uris
    from sagemaker.core.shapes import ContainerDefinition

    return {
        "model_name": model_name,
        "primary_container": ContainerDefinition(
            image=image_uris.retrieve(ALGORITHM, region), model_data_url=config.model_data
        ),
        "execution_role_arn": config.role_arn,
        "tags": core_tags(project_tags(config.endpoint_name)),
    }


def endpoint_config_request(config: DeployConfig, config_name: str, model_name: str) -> dict[str, Any]:
    from sagemaker.core.shapes import (
        CaptureContentTypeHeader,
        CaptureOption,
        DataCaptureConfig,
        ProductionVariant,
    )

    return {
        "endpoint_config_name": config_name,
        "production_variants": [
            ProductionVariant(
                variant_name=VARIANT_NAME,
                model_name=model_name,
                instance_type=config.instance_type,
                initial_instance_count=config.instance_count,
                initial_variant_weight=1.0,
            )
        ],
        "data_capture_config": DataCaptureConfig(
            enable_capture=True,
            initial_sampling_percentage=config.sampling_percentage,
            destination_s3_uri=config.capture_s3_uri,
            capture_options=[CaptureOption(capture_mode="Input"), CaptureOption(capture_mode="Output")],
            capture_content_type_header=CaptureContentTypeHeader(
                json_content_types=CAPTURE_JSON_CONTENT_TYPES
            ),
        ),
        "tags": core_tags(project_tags(config.endpoint_name)),
    }


def find_endpoint(session: Any, endpoint_name: str) -> Any | None:
    """The Endpoint resource, or None when there is no endpoint of that name."""
    from botocore.exceptions import ClientError
    from sagemaker.core.resources import Endpoint

    try:
        return Endpoint.get(endpoint_name=endpoint_name, session=session, region=session.region_name)
    except ClientError as error:
        if error.response["Error"].get("Code") == "ValidationException" and "Could not find" in str(error):
            return None
        raise


def deploy(session: Any, config: DeployConfig, *, now: float | None = None) -> Deployment:
    """Create model + endpoint config; create the endpoint, or update it in place if it exists."""
    from sagemaker.core.resources import Endpoint, EndpointConfig, Model

    region = session.region_name
    name = versioned_name(config.endpoint_name, now)
    Model.create(**model_request(config, name, region), session=session, region=region)
    EndpointConfig.create(**endpoint_config_request(config, name, name), session=session, region=region)
    endpoint = find_endpoint(session, config.endpoint_name)
    if endpoint is None:
        endpoint = Endpoint.create(
            endpoint_name=config.endpoint_name,
            endpoint_config_name=name,
            tags=core_tags(project_tags()),
            session=session,
            region=region,
        )
        return Deployment(endpoint, name, name, updated=False)
    if endpoint.endpoint_status == "Failed":
        # SageMaker refuses UpdateEndpoint on a Failed endpoint; it has to go first.
        raise EndpointFailedError(
            f"endpoint {config.endpoint_name} is Failed ({endpoint.failure_reason}) and cannot be updated: "
            f"run `python -m training_job teardown --endpoint-name {config.endpoint_name}` and deploy again"
        )
    endpoint.endpoint_config_name = name  # UpdateEndpoint sends the resource's config name
    endpoint.update()
    return Deployment(endpoint, name, name, updated=True)


def wait_in_service(
    deployment: Deployment, *, poll_seconds: float = 30, timeout_seconds: float | None = None, **options
) -> Any:
    """Wait until InService on the new endpoint config (an update that rolled back is a failure)."""
    from training_job.waiting import wait_for

    endpoint = deployment.endpoint

    def refresh() -> tuple[str, str]:
        endpoint.refresh()
        return endpoint.endpoint_status, endpoint.endpoint_status

    status = wait_for(
        refresh,
        done={"InService", "Failed", "OutOfService", "UpdateRollbackFailed"},
        what=f"endpoint {endpoint.endpoint_name}",
        poll_seconds=poll_seconds,
        timeout_seconds=timeout_seconds,
        **options,
    )
    if status != "InService":
        reason = assigned(endpoint.failure_reason) or "no reason given"
        raise EndpointFailedError(f"endpoint {endpoint.endpoint_name} is {status}: {reason}")
    if endpoint.endpoint_config_name != deployment.endpoint_config_name:
        reason = assigned(endpoint.failure_reason) or "no reason given"
        raise EndpointFailedError(
            f"endpoint {endpoint.endpoint_name} rolled back to {endpoint.endpoint_config_name}: {reason}"
        )
    return endpoint
