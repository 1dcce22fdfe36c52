"""`teardown`: delete the endpoints, endpoint configs and models that carry the project tag.

Plain boto3 here, not sagemaker-core: teardown only lists, reads tags and deletes, and the
resource classes reject some describe answers that moto gives, where teardown is tested.
Then it says what the SAM stack and the bucket still hold, and the commands that delete them,
and which of SageMaker's own log groups are left: SageMaker creates /aws/sagemaker/TrainingJobs
and /aws/sagemaker/Endpoints/<endpoint> itself
(https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html) without a retention
setting, and CloudWatch Logs keeps such log data indefinitely
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html),
so their storage is billed until someone deletes them or sets a retention.

It also deletes the CloudWatch alarms `deploy` creates for its rollbacks (named
`scones-vehicle-classifier-rollback-<endpoint>-<metric>`, tagged like the endpoint), which cost
$0.10 a month each for as long as they exist.

Before an endpoint is deleted, the autoscaling `deploy --autoscale-max-instances` set up on its
variants is removed: DeleteScalingPolicy for each policy (which also deletes the CloudWatch alarms
Application Auto Scaling made for a target-tracking policy), then DeregisterScalableTarget. AWS
deregisters the variants of a deleted endpoint by itself only when the caller may call
DeregisterScalableTarget (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-delete-with-scaling.html),
so doing it first makes a missing permission fail before anything is deleted. An endpoint that
was never autoscaled has no scalable target, and nothing is done.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from scones_core.project import (
    APPROX_HOURLY_USD,
    ENDPOINT_TAG_KEY,
    PROJECT_TAG_KEY,
    PROJECT_TAG_VALUE,
    TRAINING_JOB_PREFIX,
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
    """Everything tagged project=scones-vehicle-classifier (only `endpoint_name`'s, if given:
    that endpoint, and a smoke-test endpoint tagged endpoint=<name> whose deletion failed)."""
    found = ProjectResources()
    for item in _list(sagemaker, "list_endpoints", "Endpoints"):
        tags = _tags(sagemaker, item["EndpointArn"])
        named = endpoint_name is None or item["EndpointName"] == endpoint_name
        if _ours(tags, endpoint_name, is_endpoint=named):
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


def find_rollback_alarms(cloudwatch: Any, endpoint_name: str | None = None) -> list[str]:
    """The rollback alarms `deploy` made (only `endpoint_name`'s, if given): listed by their name
    prefix, kept only if they carry the project tag (and that endpoint's tag)."""
    from training_job.rollout import ROLLBACK_ALARM_PREFIX

    prefix = ROLLBACK_ALARM_PREFIX + (f"{endpoint_name}-" if endpoint_name else "")
    found = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix):
        for alarm in page.get("MetricAlarms", []):
            listed = cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"]).get("Tags", [])
            tags = {tag["Key"]: tag["Value"] for tag in listed}
            if _ours(tags, endpoint_name, is_endpoint=False):
                found.append(alarm["AlarmName"])
    return found


def find_endpoint_autoscaling(autoscaling_client: Any, endpoint_names: list[str]) -> list[Any]:
    """The scalable targets (with their policies) of the variants of `endpoint_names`, as
    `autoscaling.Registered`; an empty list when none is registered."""
    from training_job.autoscaling import registered_for_endpoints

    return registered_for_endpoints(autoscaling_client, endpoint_names)


def remove_endpoint_autoscaling(autoscaling_client: Any, found: list[Any]) -> None:
    """Delete each target's policies, then deregister it (what is already gone counts as done)."""
    from training_job.autoscaling import remove

    for registered in found:
        remove(autoscaling_client, registered)


_ALARMS_PER_DELETE = 100


def delete_alarms(cloudwatch: Any, names: list[str]) -> None:
    """DeleteAlarms, 100 names at a time (the most it takes)."""
    for start in range(0, len(names), _ALARMS_PER_DELETE):
        cloudwatch.delete_alarms(AlarmNames=names[start : start + _ALARMS_PER_DELETE])


@dataclass(frozen=True)
class StackReport:
    name: str
    status: str | None  # None: no such stack
    resource_types: dict[str, int]
    buckets: list[str]


def stack_report(cloudformation: Any, stack_name: str) -> StackReport:
    from scones_core.stack_outputs import StackNotFound, read_stack

    try:
        stack = read_stack(cloudformation, stack_name)
    except StackNotFound:
        return StackReport(stack_name, None, {}, [])
    resources = []
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        resources += page.get("StackResourceSummaries", [])
    types = Counter(item["ResourceType"] for item in resources)
    buckets = sorted(
        item["PhysicalResourceId"]
        for item in resources
        if item["ResourceType"] == "AWS::S3::Bucket" and item.get("PhysicalResourceId")
    )
    return StackReport(stack_name, stack.status, dict(sorted(types.items())), buckets)


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


#: What the SAM stack costs every month while it exists, used or not (us-east-1 list prices,
#: approximate): its customer managed KMS key ($1/month,
#: https://aws.amazon.com/kms/pricing/), its dashboard ($3/month beyond an account's 3 free)
#: and its 14 standard-resolution alarm metrics ($0.10 each; an account's first 10 are free),
#: https://aws.amazon.com/cloudwatch/pricing/. Its EMF custom metrics are billed only for the
#: hours in which they are published, so not while idle.
STACK_FIXED_MONTHLY_USD = {"KMS key": 1.00, "dashboard": 3.00, "14 alarm metrics": 1.40}


def stack_cost_line() -> str:
    items = ", ".join(f"{name} ${usd:.2f}" for name, usd in STACK_FIXED_MONTHLY_USD.items())
    return (
        f"The SAM stack costs up to ~${sum(STACK_FIXED_MONTHLY_USD.values()):.2f}/month while it exists, "
        f"idle or not ({items}; less within the free tier); `sam delete` stops that. Its Lambdas "
        "and state machine cost only per execution."
    )


def endpoint_cost_line(instance_type: str = "ml.m5.large") -> str:
    price = APPROX_HOURLY_USD.get(instance_type)
    if price is None:
        return "An endpoint bills per instance-hour while it exists, whether or not it is called."
    return (
        f"An endpoint on one {instance_type} costs about ${price:.3f}/hour "
        f"(~${price * 24 * 30:.0f}/month, us-east-1 on-demand, approximate) while it exists."
    )


#: SageMaker's own log groups: one for every training job in the account and region (a stream
#: per job and instance, `<job>/algo-1-<epoch>`), one per endpoint.
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
ENDPOINT_LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"


@dataclass(frozen=True)
class LogGroupReport:
    name: str
    retention_days: int | None  # None: never expires
    stored_bytes: int
    endpoint: str | None = None  # the endpoint of an endpoint log group
    endpoint_live: bool = False  # that endpoint still exists
    our_streams: int = 0  # training group: streams of vehicle-ic-* jobs
    streams: int = 0  # training group: all its streams


def _log_groups(logs: Any, prefix: str) -> list[dict]:
    groups = []
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix):
        groups += page.get("logGroups", [])
    return groups


def _stream_names(logs: Any, group: str) -> list[str]:
    names = []
    for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=group):
        names += [stream["logStreamName"] for stream in page.get("logStreams", [])]
    return names


def sagemaker_log_groups(
    logs: Any,
    *,
    endpoints: Collection[str],
    live_endpoints: Collection[str],
    only_named: bool,
) -> list[LogGroupReport]:
    """SageMaker's training log group, and the log groups of `endpoints`; unless `only_named`,
    also those whose endpoint no longer exists (left by endpoints deleted earlier)."""
    found = []
    for group in _log_groups(logs, TRAINING_LOG_GROUP):
        if group["logGroupName"] != TRAINING_LOG_GROUP:
            continue
        streams = _stream_names(logs, TRAINING_LOG_GROUP)
        found.append(
            LogGroupReport(
                TRAINING_LOG_GROUP,
                group.get("retentionInDays"),
                group.get("storedBytes", 0),
                our_streams=sum(1 for name in streams if name.startswith(TRAINING_JOB_PREFIX)),
                streams=len(streams),
            )
        )
    for group in _log_groups(logs, ENDPOINT_LOG_GROUP_PREFIX):
        endpoint = group["logGroupName"][len(ENDPOINT_LOG_GROUP_PREFIX) :]
        live = endpoint in live_endpoints
        if endpoint in endpoints or (not only_named and not live):
            found.append(
                LogGroupReport(
                    group["logGroupName"],
                    group.get("retentionInDays"),
                    group.get("storedBytes", 0),
                    endpoint=endpoint,
                    endpoint_live=live,
                )
            )
    return found


def live_endpoint_names(sagemaker: Any) -> set[str]:
    return {item["EndpointName"] for item in _list(sagemaker, "list_endpoints", "Endpoints")}
