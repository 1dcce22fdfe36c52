"""One handler per resource type of the transformed template: each creates its resource through
the service's API with the properties CloudFormation would pass, under the physical name
CloudFormation would give it here, and answers what ``Ref`` and ``Fn::GetAtt`` read
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-template-resource-type-ref.html).
A second deploy of the same stack updates what exists. A type with no handler is refused by
name: nothing of the template is skipped in silence."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from local_stack.aws import sam_transform
from local_stack.aws.reserved_concurrency import apply_reserved_concurrency
from local_stack.aws.template import substituted
from local_stack.errors import TemplateError
from local_stack.settings import ACCOUNT_ID


@dataclass
class Created:
    """A resource as the stack records it: its physical id (what ``Ref`` answers, except where
    ``ref`` differs, as a queue's URL) and its ``Fn::GetAtt`` attributes."""

    physical_id: str
    attributes: dict[str, str] = field(default_factory=dict)
    ref: str | None = None

    @property
    def arn(self) -> str:
        return self.attributes.get("Arn", self.physical_id)


@dataclass
class Context:
    """What a handler needs besides the resource: the clients, the stack and its region."""

    clients: Callable[[str], Any]
    stack_name: str
    region: str
    bucket: str  # the local stack's image bucket, named by the caller
    existing: dict[str, str]  # {logical id: physical id} of the stack as recorded before, if any

    def physical_name(self, logical_id: str, limit: int = 64) -> str:
        """``<stack>-<LogicalId>``, cut to the service's limit as CloudFormation cuts a generated
        name: deterministic per stack, so the names tests and docs write stay true."""
        return f"{self.stack_name}-{logical_id}"[:limit]


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _ignore(code: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ClientError as error:
        if error.response["Error"]["Code"] != code:
            raise
        return None


def bucket(ctx: Context, logical_id: str, properties: dict) -> Created:
    s3 = ctx.clients("s3")
    kwargs: dict[str, Any] = {"Bucket": ctx.bucket}
    if ctx.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    return Created(
        ctx.bucket,
        {
            "Arn": f"arn:aws:s3:::{ctx.bucket}",
            "DomainName": f"{ctx.bucket}.s3.amazonaws.com",
            "RegionalDomainName": f"{ctx.bucket}.s3.{ctx.region}.amazonaws.com",
        },
    )


def bucket_policy(ctx: Context, logical_id: str, properties: dict) -> Created:
    # Recorded, not put: the local S3 speaks plain HTTP, so the template's DenyInsecureTransport
    # (aws:SecureTransport "false") would refuse every request once S3 evaluates bucket policies.
    return Created(properties["Bucket"])


def role(ctx: Context, logical_id: str, properties: dict) -> Created:
    iam = ctx.clients("iam")
    name = properties.get("RoleName") or ctx.physical_name(logical_id)
    trust = _json(properties["AssumeRolePolicyDocument"])
    created = _ignore(
        "EntityAlreadyExists",
        lambda: iam.create_role(
            RoleName=name,
            Path=properties.get("Path", "/"),
            AssumeRolePolicyDocument=trust,
            Description=properties.get("Description", ""),
            MaxSessionDuration=int(properties.get("MaxSessionDuration", 3600)),
        ),
    )
    if created is None:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
    arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    wanted = {p["PolicyName"]: _json(p["PolicyDocument"]) for p in properties.get("Policies", [])}
    for old in set(iam.list_role_policies(RoleName=name)["PolicyNames"]) - set(wanted):
        iam.delete_role_policy(RoleName=name, PolicyName=old)
    for policy_name, document in wanted.items():
        iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=document)
    managed = set(properties.get("ManagedPolicyArns", []))
    attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]}
    for old in attached - managed:
        iam.detach_role_policy(RoleName=name, PolicyArn=old)
    for policy_arn in managed - attached:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    return Created(name, {"Arn": arn, "RoleId": iam.get_role(RoleName=name)["Role"]["RoleId"]})


REVIEWER_ROLE_SUFFIX = "Reviewer"


def reviewer_role(iam: Any, stack_name: str, reviewer_policy_arn: str) -> str:
    """``<stack>-Reviewer``: not in the template (which creates no person's principal), the local
    stand-in for whichever role, group or user the team attaches ``ReviewerPolicy`` to. It trusts
    the account (``arn:aws:iam::<account>:root``: whoever the account's policies let assume it)
    and holds that policy alone, so ``python -m review`` with the ``reviewer`` profile
    (``credentials.write_aws_config``) has exactly the reviewers' rights. Its ARN; idempotent."""
    name = f"{stack_name}-{REVIEWER_ROLE_SUFFIX}"
    statement = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}}
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{**statement, "Action": "sts:AssumeRole"}]})
    description = "Local stand-in for the principal holding ReviewerPolicy (python -m review)"
    created = _ignore(
        "EntityAlreadyExists",
        lambda: iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, Description=description),
    )
    if created is None:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
    iam.attach_role_policy(RoleName=name, PolicyArn=reviewer_policy_arn)
    return iam.get_role(RoleName=name)["Role"]["Arn"]


def managed_policy(ctx: Context, logical_id: str, properties: dict) -> Created:
    iam = ctx.clients("iam")
    name = properties.get("ManagedPolicyName") or ctx.physical_name(logical_id, 128)
    path = properties.get("Path", "/")
    arn = f"arn:aws:iam::{ACCOUNT_ID}:policy{path}{name}"
    document = _json(properties["PolicyDocument"])
    created = _ignore(
        "EntityAlreadyExists",
        lambda: iam.create_policy(
            PolicyName=name, Path=path, PolicyDocument=document, Description=properties.get("Description", "")
        ),
    )
    if created is None:  # a new default version, as CloudFormation's update makes; IAM keeps five
        versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
        if len(versions) >= 5:
            oldest = min((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
            iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=document, SetAsDefault=True)
    for role_name in properties.get("Roles", []):
        iam.attach_role_policy(RoleName=role_name, PolicyArn=arn)
    return Created(arn, {"PolicyArn": arn})


def log_group(ctx: Context, logical_id: str, properties: dict) -> Created:
    logs = ctx.clients("logs")
    name = properties.get("LogGroupName") or ctx.physical_name(logical_id, 512)
    _ignore("ResourceAlreadyExistsException", lambda: logs.create_log_group(logGroupName=name))
    if "RetentionInDays" in properties:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(properties["RetentionInDays"]))
    return Created(name, {"Arn": f"arn:aws:logs:{ctx.region}:{ACCOUNT_ID}:log-group:{name}:*"})


def _queue_attribute(value: Any) -> str:
    # SQS's API takes every attribute as a string, booleans as "true"/"false", documents as JSON
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        redrive = dict(value)
        if "maxReceiveCount" in redrive:
            redrive["maxReceiveCount"] = int(redrive["maxReceiveCount"])
        return json.dumps(redrive)
    return str(value)


def queue(ctx: Context, logical_id: str, properties: dict) -> Created:
    sqs = ctx.clients("sqs")
    name = properties.get("QueueName") or ctx.physical_name(logical_id, 80)
    attributes = {
        key: _queue_attribute(value) for key, value in properties.items() if key not in ("QueueName", "Tags")
    }
    url = _ignore("QueueAlreadyExists", lambda: sqs.create_queue(QueueName=name, Attributes=attributes))
    url = url["QueueUrl"] if url else sqs.get_queue_url(QueueName=name)["QueueUrl"]
    if attributes:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Created(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})


def queue_policy(ctx: Context, logical_id: str, properties: dict) -> Created:
    sqs = ctx.clients("sqs")
    for url in properties["Queues"]:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": _json(properties["PolicyDocument"])})
    return Created(ctx.physical_name(logical_id))


def rule(ctx: Context, logical_id: str, properties: dict) -> Created:
    events = ctx.clients("events")
    name = properties.get("Name") or ctx.physical_name(logical_id)
    arn = events.put_rule(
        Name=name,
        EventPattern=_json(properties["EventPattern"]),
        State=properties.get("State", "ENABLED"),
        Description=properties.get("Description", ""),
    )["RuleArn"]
    targets = [
        {key: value for key, value in target.items() if key in _TARGET_KEYS}
        for target in properties.get("Targets", [])
    ]
    if targets:
        events.put_targets(Rule=name, Targets=targets)
    return Created(name, {"Arn": arn})


_TARGET_KEYS = (
    "Id",
    "Arn",
    "RoleArn",
    "Input",
    "InputPath",
    "InputTransformer",
    "RetryPolicy",
    "DeadLetterConfig",
)


def key(ctx: Context, logical_id: str, properties: dict) -> Created:
    kms = ctx.clients("kms")
    key_id = ctx.existing.get(logical_id)
    if key_id is None or _ignore("NotFoundException", lambda: kms.describe_key(KeyId=key_id)) is None:
        arguments = {"Description": properties.get("Description", "")}
        if "KeyPolicy" in properties:
            arguments["Policy"] = _json(properties["KeyPolicy"])
        key_id = kms.create_key(**arguments)["KeyMetadata"]["KeyId"]
    return Created(key_id, {"Arn": f"arn:aws:kms:{ctx.region}:{ACCOUNT_ID}:key/{key_id}", "KeyId": key_id})


def topic(ctx: Context, logical_id: str, properties: dict) -> Created:
    sns = ctx.clients("sns")
    name = properties.get("TopicName") or ctx.physical_name(logical_id, 256)
    attributes = {k: str(properties[k]) for k in ("DisplayName", "KmsMasterKeyId") if k in properties}
    arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    return Created(arn, {"TopicArn": arn, "TopicName": name})


def subscription(ctx: Context, logical_id: str, properties: dict) -> Created:
    arn = ctx.clients("sns").subscribe(
        TopicArn=properties["TopicArn"],
        Protocol=properties["Protocol"],
        Endpoint=properties["Endpoint"],
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return Created(arn)


_ALARM_NUMBERS = {"Period": int, "EvaluationPeriods": int, "DatapointsToAlarm": int, "Threshold": float}


def alarm(ctx: Context, logical_id: str, properties: dict) -> Created:
    name = properties.get("AlarmName") or ctx.physical_name(logical_id, 255)
    arguments = {key: _ALARM_NUMBERS.get(key, lambda v: v)(value) for key, value in properties.items()}
    for metric in arguments.get("Metrics", []):
        if "MetricStat" in metric:
            metric["MetricStat"]["Period"] = int(metric["MetricStat"]["Period"])
    ctx.clients("cloudwatch").put_metric_alarm(**{**arguments, "AlarmName": name})
    return Created(name, {"Arn": f"arn:aws:cloudwatch:{ctx.region}:{ACCOUNT_ID}:alarm:{name}"})


def dashboard(ctx: Context, logical_id: str, properties: dict) -> Created:
    name = properties.get("DashboardName") or ctx.physical_name(logical_id, 255)
    ctx.clients("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=properties["DashboardBody"])
    return Created(name)


def _placeholder_zip() -> bytes:
    # moto stores the code but never runs it: lambda_runtime runs the real handler instead.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# the local stack runs functions/<name>/app.py itself\n")
    return buffer.getvalue()


_FUNCTION_CONFIGURATION = (
    "Role", "Handler", "Description", "Timeout", "MemorySize", "Environment", "Runtime", "TracingConfig",
    "Layers", "LoggingConfig", "Architectures",
)  # fmt: skip


def function(ctx: Context, logical_id: str, properties: dict) -> Created:
    lambda_client = ctx.clients("lambda")
    name = properties.get("FunctionName") or ctx.physical_name(logical_id)
    sam_transform.artifact_path(properties["Code"])  # the code must be one of ours
    configuration = {k: properties[k] for k in _FUNCTION_CONFIGURATION if k in properties}
    for number in ("Timeout", "MemorySize"):
        if number in configuration:
            configuration[number] = int(configuration[number])
    try:
        arn = lambda_client.create_function(
            FunctionName=name, Code={"ZipFile": _placeholder_zip()}, **configuration
        )["FunctionArn"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceConflictException":
            raise
        configuration.pop("Architectures", None)  # a code property: UpdateFunctionCode's
        arn = lambda_client.update_function_configuration(FunctionName=name, **configuration)["FunctionArn"]
    apply_reserved_concurrency(lambda_client, name, properties)
    return Created(name, {"Arn": arn})


def _logging(configuration: dict) -> dict:
    """A state machine's ``LoggingConfiguration`` as CreateStateMachine takes it."""
    return {
        "level": configuration.get("Level", "OFF"),
        "includeExecutionData": bool(configuration.get("IncludeExecutionData", False)),
        "destinations": [
            {"cloudWatchLogsLogGroup": {"logGroupArn": d["CloudWatchLogsLogGroup"]["LogGroupArn"]}}
            for d in configuration.get("Destinations", [])
        ],
    }


def state_machine_name(ctx: Context, logical_id: str, properties: dict) -> str:
    # the local stack's names since before the transform: <stack>-ClassifyImage (tests and docs use them)
    return properties.get("StateMachineName") or ctx.physical_name(
        logical_id.removesuffix("StateMachine"), 80
    )


def state_machine(ctx: Context, logical_id: str, properties: dict) -> Created:
    sfn = ctx.clients("stepfunctions")
    name = state_machine_name(ctx, logical_id, properties)
    definition = substituted(
        sam_transform.artifact_path(properties["DefinitionS3Location"]).read_text(),
        {key: str(value) for key, value in properties.get("DefinitionSubstitutions", {}).items()},
    )
    arguments: dict[str, Any] = {"definition": definition, "roleArn": properties["RoleArn"]}
    if "LoggingConfiguration" in properties:
        arguments["loggingConfiguration"] = _logging(properties["LoggingConfiguration"])
    if "TracingConfiguration" in properties:
        arguments["tracingConfiguration"] = {"enabled": bool(properties["TracingConfiguration"]["Enabled"])}
    arn = f"arn:aws:states:{ctx.region}:{ACCOUNT_ID}:stateMachine:{name}"
    if _ignore("StateMachineDoesNotExist", lambda: sfn.describe_state_machine(stateMachineArn=arn)):
        sfn.update_state_machine(stateMachineArn=arn, **arguments)
    else:
        arn = sfn.create_state_machine(
            name=name, type=properties.get("StateMachineType", "STANDARD"), **arguments
        )["stateMachineArn"]
    return Created(arn, {"Arn": arn, "Name": name})


HANDLERS: dict[str, Callable[[Context, str, dict], Created]] = {
    "AWS::S3::Bucket": bucket,
    "AWS::S3::BucketPolicy": bucket_policy,
    "AWS::IAM::Role": role,
    "AWS::IAM::ManagedPolicy": managed_policy,
    "AWS::Logs::LogGroup": log_group,
    "AWS::SQS::Queue": queue,
    "AWS::SQS::QueuePolicy": queue_policy,
    "AWS::Events::Rule": rule,
    "AWS::KMS::Key": key,
    "AWS::SNS::Topic": topic,
    "AWS::SNS::Subscription": subscription,
    "AWS::CloudWatch::Alarm": alarm,
    "AWS::CloudWatch::Dashboard": dashboard,
    "AWS::Lambda::Function": function,
    "AWS::StepFunctions::StateMachine": state_machine,
}


def create(ctx: Context, logical_id: str, resource_type: str, properties: dict) -> Created:
    handler = HANDLERS.get(resource_type)
    if handler is None:
        raise TemplateError(f"{logical_id}: the local deploy cannot create {resource_type} yet")
    return handler(ctx, logical_id, properties)
