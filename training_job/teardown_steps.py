"""`teardown`'s steps in their order, and what each says.

First what costs money while it exists goes, each before what it needs: the endpoints'
autoscaling (as AWS asks), the endpoints, their configs and models, then `deploy`'s rollback
alarms. Then what teardown leaves, and how to delete it: SageMaker's log groups (which never
expire), the SAM stack and the buckets it holds, the staging bucket, and what each costs. The
finding and deleting are :mod:`training_job.teardown`'s; this module orders them and words the
report, line by line through ``say``, so that a command only parses its options and calls
:func:`tear_down`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scones_core.project import (
    DEFAULT_ENDPOINT_INSTANCE,
    PROJECT_TAG_KEY,
    PROJECT_TAG_VALUE,
    TRAINING_JOB_PREFIX,
)
from training_job import teardown

Say = Callable[[str], None]


@dataclass(frozen=True)
class TeardownRequest:
    endpoint_name: str | None = None  # None: everything tagged with the project
    dry_run: bool = False
    stack_name: str = ""  # the SAM stack to report on
    bucket: str | None = None  # a bucket to report on (the one `stage` used)
    prefix: str = ""  # only this prefix of the bucket


def tear_down(session, request: TeardownRequest, say: Say) -> None:
    """Delete (unless a dry run) the project's endpoints, configs, models and rollback alarms,
    then report what is left and what it costs."""
    sagemaker = session.client("sagemaker")
    autoscaling = session.client("application-autoscaling")
    found = _delete_sagemaker(sagemaker, autoscaling, request.endpoint_name, request.dry_run, say)
    _delete_alarms(session.client("cloudwatch"), request.endpoint_name, request.dry_run, say)
    _report_log_groups(session.client("logs"), sagemaker, found, request.endpoint_name, say)
    s3 = session.client("s3")
    _report_stack(session.client("cloudformation"), s3, request.stack_name, session.region_name, say)
    if request.bucket:
        summary = teardown.bucket_summary(s3, request.bucket, request.prefix)
        for line in bucket_lines(request.bucket, request.prefix, summary):
            say(line)
    say(cost_line())


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _delete_sagemaker(sagemaker, autoscaling, endpoint_name: str | None, dry_run: bool, say: Say):
    """Say what is found, then (unless a dry run) delete it and say so; return what was found.
    The endpoints' autoscaling goes first, as AWS asks."""
    scope = _scope(endpoint_name)
    found = teardown.find_project_resources(sagemaker, endpoint_name)
    if not found:
        say(f"SageMaker: nothing left ({scope}): no endpoint, endpoint config or model")
        return found
    for line in _deletion_lines(found, "would delete" if dry_run else "deleting"):
        say(line)
    scaled = _endpoint_autoscaling(autoscaling, found.endpoints, dry_run, say)
    if not dry_run:
        if scaled:
            teardown.remove_endpoint_autoscaling(autoscaling, scaled)
            say(f"Application Auto Scaling: deregistered {len(scaled)} scalable targets ({scope})")
        teardown.delete_resources(sagemaker, found)
        say(
            f"SageMaker: deleted {len(found.endpoints)} endpoints, {len(found.endpoint_configs)} "
            f"endpoint configs, {len(found.models)} models ({scope})"
        )
    return found


def _endpoint_autoscaling(autoscaling, endpoints: list[str], dry_run: bool, say: Say) -> list:
    """The autoscaling of the endpoints to delete, one line each; silent when there is none. A
    caller that may not list it is warned, and the deletion goes on."""
    from botocore.exceptions import ClientError

    try:
        scaled = teardown.find_endpoint_autoscaling(autoscaling, endpoints)
    except ClientError as error:
        if error.response["Error"].get("Code") != "AccessDeniedException":
            raise
        say(
            f"warning: could not list the endpoints' autoscaling ({error.response['Error'].get('Message')}); "
            "DeleteEndpoint deregisters an autoscaled variant itself only if you may call "
            "application-autoscaling:DeregisterScalableTarget"
        )
        return []
    for registered in scaled:
        verb = "would deregister" if dry_run else "deregistering"
        say(f"{verb} autoscaling of {registered.line()}")
    return scaled


def _delete_alarms(cloudwatch, endpoint_name: str | None, dry_run: bool, say: Say) -> None:
    """The rollback alarms `deploy` created; silent when there are none."""
    names = teardown.find_rollback_alarms(cloudwatch, endpoint_name)
    for name in names:
        say(f"{'would delete' if dry_run else 'deleting'} alarm {name}")
    if names and not dry_run:
        teardown.delete_alarms(cloudwatch, names)
        say(f"CloudWatch: deleted {len(names)} rollback alarms ({_scope(endpoint_name)})")


def _report_log_groups(logs, sagemaker, found, endpoint_name: str | None, say: Say) -> None:
    """SageMaker's own log groups, which never expire, with the command that deletes or trims each."""
    endpoints = {endpoint_name} if endpoint_name else set(found.endpoints)
    groups = teardown.sagemaker_log_groups(
        logs,
        endpoints=endpoints,
        live_endpoints=teardown.live_endpoint_names(sagemaker),
        only_named=endpoint_name is not None,
    )
    for line in log_group_lines(groups):
        say(line)


def _report_stack(cloudformation, s3, stack_name: str, region: str, say: Say) -> None:
    """The stack's status and contents; a warning per non-empty bucket, which blocks its deletion."""
    stack = teardown.stack_report(cloudformation, stack_name)
    if stack.status is None:
        say(f"SAM stack {stack_name}: not found in {region} (nothing to delete)")
        return
    say(_stack_line(stack))
    for bucket in stack.buckets:
        objects = sum(count for count, _ in (teardown.bucket_summary(s3, bucket) or {}).values())
        if objects:
            say(_non_empty_bucket_warning(bucket, objects))
    say(f"  delete it: sam delete --stack-name {stack_name} --region {region}")


def _scope(endpoint_name: str | None) -> str:
    scope = f"{PROJECT_TAG_KEY}={PROJECT_TAG_VALUE}"
    return f"{scope}, endpoint {endpoint_name}" if endpoint_name else scope


def _deletion_lines(found, verb: str) -> list[str]:
    kinds = (
        ("endpoint", found.endpoints),
        ("endpoint config", found.endpoint_configs),
        ("model", found.models),
    )
    return [f"{verb} {kind} {name}" for kind, names in kinds for name in names]


def _stack_line(stack) -> str:
    kinds = ", ".join(f"{n} {t}" for t, n in stack.resource_types.items())
    return f"SAM stack {stack.name}: {stack.status}; holds {kinds or 'no resources'}"


def _non_empty_bucket_warning(bucket: str, objects: int) -> str:
    return (
        f"  its bucket {bucket} holds {objects} objects; CloudFormation cannot delete a "
        f"non-empty bucket, and it is versioned: empty it with the S3 console's Empty "
        f"(all versions), then delete the stack"
    )


def bucket_lines(bucket: str, prefix: str, summary: dict[str, tuple[int, int]] | None) -> list[str]:
    """What `bucket_summary` found under the prefix, and the command that deletes it."""
    where = f"s3://{bucket}/{prefix}".rstrip("/")
    if summary is None:
        return [f"bucket {bucket}: not found"]
    if not summary:
        return [f"{where}: empty"]
    return [
        f"{where} holds:",
        *(f"  {top:<20} {count:>6} objects {human_size(size):>10}" for top, (count, size) in summary.items()),
        f"  delete them: aws s3 rm {where} --recursive"
        + ("" if prefix else f"   (then the bucket: aws s3 rb s3://{bucket})"),
    ]


#: What `teardown` suggests for a log group that is kept: a month of logs.
SUGGESTED_RETENTION_DAYS = 30


def log_group_lines(groups) -> list[str]:
    """One line per SageMaker log group and the command that deletes it or makes it expire."""
    if not groups:
        return []
    lines = ["SageMaker's log groups (SageMaker sets no retention; storage is billed per GB-month):"]
    for group in groups:
        kept = "never expires" if group.retention_days is None else f"kept {group.retention_days} days"
        head = f"  {group.name}: {kept}, {human_size(group.stored_bytes)}"
        delete = f"aws logs delete-log-group --log-group-name {group.name}"
        expire = (
            f"aws logs put-retention-policy --log-group-name {group.name} "
            f"--retention-in-days {SUGGESTED_RETENTION_DAYS}"
        )
        if group.endpoint is None:  # the training group, shared by every training job in the region
            ours = f"{group.our_streams} of its {group.streams} streams from {TRAINING_JOB_PREFIX}* jobs"
            lines.append(f"{head}, {ours}")
            lines.append(f"    make it expire: {expire}")
            if group.streams and group.our_streams == group.streams:
                lines.append(f"    or, as every stream is this project's, delete it: {delete}")
        elif group.endpoint_live:
            lines.append(f"{head} (endpoint {group.endpoint} still exists)")
            lines.append(f"    make it expire: {expire}")
        else:
            lines.append(f"{head} (endpoint {group.endpoint} is gone)")
            lines.append(f"    delete it: {delete}")
    return lines


def cost_line() -> str:
    return (
        "cost: "
        + teardown.endpoint_cost_line(DEFAULT_ENDPOINT_INSTANCE)
        + " Deleting the endpoint stops that; S3 storage of the staged images and captures costs "
        "cents per month. " + teardown.stack_cost_line()
    )
