"""`teardown`: delete the endpoints, endpoint configs and models that carry the project tag.

Plain boto3 here, not sagemaker-core: teardown only lists, reads tags and deletes, and the
resource classes reject some describe answers that moto gives, where teardown is tested.
Then it says what the SAM stack and the bucket still hold, and the commands that delete them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from training_job.project import (
    APPROX_HOURLY_USD,
    ENDPOINT_TAG_KEY,
    PROJECT_TAG_KEY,
    PROJECT_TAG_VALUE,
)


@dataclass
class ProjectResources:
    endpoints: list[str] = field(default_factory=list)
    endpoint_configs: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.endpoints or self.endpoint_configs or self.models)


def _tags(sagemaker: Any, arn: str) -> dict[str, str]:
    tags, kwargs = {}, {"ResourceArn": arn}
    while True:
        page = sagemaker.list_tags(**kwargs)
        tags |= {tag["Key"]: tag["Value"] for tag in page.get("Tags", [])}
        if not page.get("NextToken"):
            return tags
        kwargs["NextToken"] = page["NextToken"]


def _ours(tags: dict[str, str], endpoint_name: str | None, *, is_endpoint: bool) -> bool:
    if tags.get(PROJECT_TAG_KEY) != PROJECT_TAG_VALUE:
        return False
    if endpoint_name is None:
        return True
    return is_endpoint or tags.get(ENDPOINT_TAG_KEY) == endpoint_name


def _list(sagemaker: Any, operation: str, key: str) -> list[dict]:
    items = []
    for page in sagemaker.get_paginator(operation).paginate():
        items += page.get(key, [])
    return items


def find_project_resources(sagemaker: Any, endpoint_name: str | None = None) -> ProjectResources:
    """Everything tagged project=scones-vehicle-classifier (only `endpoint_name`'s, if given)."""
    found = ProjectResources()
    for item in _list(sagemaker, "list_endpoints", "Endpoints"):
        if endpoint_name and item["EndpointName"] != endpoint_name:
            continue
        if _ours(_tags(sagemaker, item["EndpointArn"]), endpoint_name, is_endpoint=True):
            found.endpoints.append(item["EndpointName"])
    for item in _list(sagemaker, "list_endpoint_configs", "EndpointConfigs"):
        if _ours(_tags(sagemaker, item["EndpointConfigArn"]), endpoint_name, is_endpoint=False):
            found.endpoint_configs.append(item["EndpointConfigName"])
    for item in _list(sagemaker, "list_models", "Models"):
        if _ours(_tags(sagemaker, item["ModelArn"]), endpoint_name, is_endpoint=False):
            found.models.append(item["ModelName"])
    return found


def _ignore_missing(call, **kwargs) -> bool:
    """Delete, treating "already gone" as done (a second teardown, or a race)."""
    from botocore.exceptions import ClientError

    try:
        call(**kwargs)
    except ClientError as error:
        if "Could not find" in str(error) or error.response["Error"].get("Code") == "ResourceNotFound":
            return False
        raise
    return True


def delete_resources(sagemaker: Any, resources: ProjectResources) -> None:
    """Endpoints first (they stop the billing), then their configs, then the models."""
    for name in resources.endpoints:
        _ignore_missing(sagemaker.delete_endpoint, EndpointName=name)
    for name in resources.endpoint_configs:
        _ignore_missing(sagemaker.delete_endpoint_config, EndpointConfigName=name)
    for name in resources.models:
        _ignore_missing(sagemaker.delete_model, ModelName=name)


@dataclass(frozen=True)
class StackReport:
    name: str
    status: str | None  # None: no such stack
    resource_types: dict[str, int]
    buckets: list[str]


def stack_report(cloudformation: Any, stack_name: str) -> StackReport:
    from botocore.exceptions import ClientError

    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in str(error):
            return StackReport(stack_name, None, {}, [])
        raise
    resources = []
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        resources += page.get("StackResourceSummaries", [])
    types = Counter(item["ResourceType"] for item in resources)
    buckets = sorted(
        item["PhysicalResourceId"]
        for item in resources
        if item["ResourceType"] == "AWS::S3::Bucket" and item.get("PhysicalResourceId")
    )
    return StackReport(stack_name, stack["StackStatus"], dict(sorted(types.items())), buckets)


def bucket_summary(s3: Any, bucket: str, prefix: str = "") -> dict[str, tuple[int, int]] | None:
    """Top-level folder -> (objects, bytes) under `prefix`; None when the bucket is gone."""
    from botocore.exceptions import ClientError

    summary: dict[str, list[int]] = {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                rest = item["Key"][len(prefix) :].lstrip("/")
                top = rest.split("/", 1)[0] + ("/" if "/" in rest else "")
                count_size = summary.setdefault(top, [0, 0])
                count_size[0] += 1
                count_size[1] += item["Size"]
    except ClientError as error:
        if error.response["Error"].get("Code") in ("NoSuchBucket", "404"):
            return None
        raise
    return {key: (value[0], value[1]) for key, value in sorted(summary.items())}


def endpoint_cost_line(instance_type: str = "ml.m5.large") -> str:
    price = APPROX_HOURLY_USD.get(instance_type)
    if price is None:
        return "An endpoint bills per instance-hour while it exists, whether or not it is called."
    return (
        f"An endpoint on one {instance_type} costs about ${price:.3f}/hour "
        f"(~${price * 24 * 30:.0f}/month, us-east-1 on-demand, approximate) while it exists."
    )
