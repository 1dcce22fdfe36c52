"""The local ``sam deploy``: create what template.yaml creates, against moto's API.

Works the same against moto in-process (``mock_aws``, the unit tests) and against the moto
server (``python -m local_stack up``): it only speaks boto3.
"""

from __future__ import annotations

import functools
import io
import json
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
from botocore.exceptions import ClientError

from local_stack.aws import lambda_runtime, moto_patches, stack_record
from local_stack.aws.reserved_concurrency import apply_reserved_concurrency
from local_stack.aws.template import Template, make_resolver
from local_stack.errors import InvalidBucketName
from local_stack.processes.execution_environments import ExecutionEnvironments, FunctionSpec
from local_stack.settings import ACCOUNT_ID, STACK_NAME

STATE_MACHINE_ID = "ClassifyImageStateMachine"
BATCH_STATE_MACHINE_ID = "BatchClassifyStateMachine"
# the single-photo workflow's functions (bench's direct loop calls these), and the batch's own
FUNCTION_IDS = ("SerializeImageDataFunction", "ClassifyImageFunction", "FilterInferencesFunction")
BATCH_FUNCTION_IDS = ("SummarizeBatchFunction",)
_ASSUME_LAMBDA_AND_STATES = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


# S3's naming rules for general purpose buckets, in the order its documentation lists them
_RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def check_bucket_name(bucket: str) -> None:
    reserved = [p for p in _RESERVED_BUCKET_PREFIXES if bucket.startswith(p)] + [
        s for s in _RESERVED_BUCKET_SUFFIXES if bucket.endswith(s)
    ]
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
        problem = "3-63 lower-case letters, digits, dots and hyphens, a letter or digit at each end"
    elif ".." in bucket:
        problem = "no two adjacent dots"
    elif re.fullmatch(r"\d+(\.\d+){3}", bucket):  # "formatted as an IP address", valid one or not
        problem = "not formatted as an IP address"
    elif reserved:
        problem = f"{reserved[0]!r} is reserved by S3"
    else:
        return
    raise InvalidBucketName(f"bucket name {bucket!r} is not valid in S3: {problem}")


@dataclass
class DeployedStack:
    stack_name: str
    bucket: str
    state_machine_arn: str
    function_names: dict[str, str]
    parameters: dict[str, str]
    # describe-stacks' Outputs: template.yaml's, with the local values
    outputs: dict[str, str] = field(default_factory=dict)
    # the template's log groups: {logical id: name}
    log_groups: dict[str, str] = field(default_factory=dict)
    functions: dict[str, SimpleNamespace] = field(repr=False, default_factory=dict)
    # the worker processes the functions run in, if any; whoever deployed closes them
    environments: ExecutionEnvironments | None = field(repr=False, default=None)
    # BatchClassify: the Distributed Map over a prefix (docs/batch.md)
    batch_state_machine_arn: str = ""


def deploy(
    session: boto3.Session,
    *,
    endpoint_name: str,
    bucket: str,
    stack_name: str = STACK_NAME,
    parameters: dict[str, str] | None = None,
    template: Template | None = None,
    execution_environments: int = 0,
    function_log: Path | None = None,
) -> DeployedStack:
    """Create the bucket, the four functions and the two state machines (ClassifyImage and
    BatchClassify) from the real ASL with the template's substitutions. Idempotent.

    The functions run our handlers in ``execution_environments`` worker processes (see
    ``local_stack.processes.execution_environments``; their logs go to ``function_log``; the
    caller closes ``DeployedStack.environments``), or, with 0, in this process, one invocation at
    a time (``DeployedStack.functions`` holds their modules). A later deploy registers its own.
    """
    template = template or Template.load()
    moto_patches.install()
    template.check_parameters({**(parameters or {}), "EndpointName": endpoint_name})
    check_bucket_name(bucket)
    params = {**template.parameter_defaults(), **(parameters or {}), "EndpointName": endpoint_name}
    pseudo = {
        "AWS::Partition": "aws",
        "AWS::Region": session.region_name,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::StackName": stack_name,
    }
    create_bucket(session.client("s3"), bucket, session.region_name)
    role_arn = _ensure_role(session.client("iam"), f"{stack_name}-role")
    attributes: dict[str, str] = {"ImageBucket": bucket}
    resolve = make_resolver(params, attributes, pseudo)
    log_group_attributes = _log_group_attributes(template, resolve, session.region_name)
    attributes.update(log_group_attributes)
    _ensure_review_queues(session.client("sqs"), template, stack_name, resolve, attributes)
    created = _create_functions(session.client("lambda"), template, stack_name, role_arn, resolve, attributes)
    apply_reserved_concurrency(session.client("lambda"), template, created, resolve)
    functions, environments = _run_functions(created, execution_environments, function_log)
    try:
        # a substitution may be an Fn::If on the template's Conditions (ExecutionTimeoutSeconds)
        definition = template.state_machine(
            STATE_MACHINE_ID, lambda value: resolve(template.chosen(value, resolve))
        )
        state_machine_arn = _ensure_state_machine(
            session.client("stepfunctions"),
            f"{stack_name}-ClassifyImage",
            definition,
            role_arn,
            template.state_machine_logging(STATE_MACHINE_ID, resolve),
        )
        attributes[STATE_MACHINE_ID] = state_machine_arn
        batch_state_machine_arn = _ensure_state_machine(
            session.client("stepfunctions"),
            resolve(template.body["Resources"][BATCH_STATE_MACHINE_ID]["Properties"]["Name"]),
            template.state_machine(
                BATCH_STATE_MACHINE_ID, lambda value: resolve(template.chosen(value, resolve))
            ),
            role_arn,
            template.state_machine_logging(BATCH_STATE_MACHINE_ID, resolve),
        )
        attributes[BATCH_STATE_MACHINE_ID] = batch_state_machine_arn
        attributes.update(_dashboard_attributes(template, resolve))
        cloudformation = session.client("cloudformation")
        body = stack_record.stack_template(_without(template, REVIEW_QUEUE_IDS), resolve, params)
        stack_record.record_stack(cloudformation, stack_name, body, params)
        outputs = stack_record.stack_outputs(cloudformation, stack_name)
    except BaseException:
        if environments is not None:
            environments.close()
        raise
    function_names = {logical_id: name for logical_id, (name, _) in created.items()}
    log_groups = {key: name for key, name in log_group_attributes.items() if "." not in key}
    return DeployedStack(
        stack_name,
        bucket,
        state_machine_arn,
        function_names,
        params,
        outputs,
        log_groups,
        functions,
        environments,
        batch_state_machine_arn,
    )


# created here, not by the recorded stack: the state machine's definition names the queue, and
# moto's CloudFormation would keep only a queue's retention (no redrive policy, no visibility timeout)
REVIEW_QUEUE_IDS = ("ReviewDeadLetterQueue", "ReviewQueue")  # the dead-letter queue first: the other names it
_QUEUE_ATTRIBUTES = ("MessageRetentionPeriod", "VisibilityTimeout", "SqsManagedSseEnabled")


def _ensure_review_queues(
    sqs: Any, template: Template, stack_name: str, resolve: Any, attributes: dict[str, str]
) -> None:
    """Create the review queue and its dead-letter queue with the template's properties; add
    their Ref (URL) and GetAtt Arn and QueueName to ``attributes`` (which ``resolve`` reads),
    as CloudFormation gives them."""
    for logical_id in REVIEW_QUEUE_IDS:
        properties = template.body["Resources"][logical_id]["Properties"]
        queue_attributes = {
            key: _queue_attribute(properties[key], resolve) for key in _QUEUE_ATTRIBUTES if key in properties
        }
        if "RedrivePolicy" in properties:
            redrive = properties["RedrivePolicy"]
            queue_attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": resolve(redrive["deadLetterTargetArn"]),
                    "maxReceiveCount": int(redrive["maxReceiveCount"]),
                }
            )
        name = f"{stack_name}-{logical_id}"
        url = sqs.create_queue(QueueName=name, Attributes=queue_attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes.update({logical_id: url, f"{logical_id}.Arn": arn, f"{logical_id}.QueueName": name})


def _queue_attribute(value: Any, resolve: Any) -> str:
    # SQS's API takes every attribute as a string, booleans as "true"/"false"
    return str(value).lower() if isinstance(value, bool) else resolve(value)


def _without(template: Template, logical_ids: tuple[str, ...]) -> Template:
    resources = {k: v for k, v in template.body["Resources"].items() if k not in logical_ids}
    return Template({**template.body, "Resources": resources})


def _log_group_attributes(template: Template, resolve: Any, region: str) -> dict[str, str]:
    """Ref (the name) and GetAtt Arn of the template's log groups, as CloudFormation gives them."""
    attributes = {}
    for logical_id, resource in template.resources_of_type("AWS::Logs::LogGroup").items():
        name = resolve(resource["Properties"]["LogGroupName"])
        attributes[logical_id] = name
        attributes[f"{logical_id}.Arn"] = f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{name}:*"
    return attributes


def _dashboard_attributes(template: Template, resolve: Any) -> dict[str, str]:
    """Ref of the template's dashboards (their names: the DashboardUrl output links the console's
    page, which the local stack has no twin of)."""
    return {
        logical_id: resolve(resource["Properties"]["DashboardName"])
        for logical_id, resource in template.resources_of_type("AWS::CloudWatch::Dashboard").items()
    }


def _create_functions(
    lambda_client: Any,
    template: Template,
    stack_name: str,
    role_arn: str,
    resolve: Any,
    attributes: dict[str, str],
) -> dict[str, tuple[str, FunctionSpec]]:
    """Create the template's functions in moto; add their names and ARNs to ``attributes`` (Ref
    and GetAtt for the state machine's substitutions); return ``{logical id: (name, spec)}``."""
    created = {}
    for logical_id in FUNCTION_IDS + BATCH_FUNCTION_IDS:
        name = f"{stack_name}-{logical_id}"
        environment = template.function_environment(logical_id, resolve)
        created[logical_id] = (
            name,
            FunctionSpec(
                template.function_code_dir(logical_id),
                environment,
                template.function_timeout(logical_id),
                log_group=template.function_log_group(logical_id, resolve),
                memory_size_mb=template.function_memory_mb(logical_id),
            ),
        )
        arn = _ensure_function(lambda_client, name, role_arn, environment)
        attributes.update({logical_id: name, f"{logical_id}.Arn": arn})
    return created


def _run_functions(
    created: dict[str, tuple[str, FunctionSpec]], execution_environments: int, function_log: Path | None
) -> tuple[dict[str, SimpleNamespace], ExecutionEnvironments | None]:
    """Register where each function's invocations run: in ``execution_environments`` worker
    processes, or (0) here, one at a time; returns the modules loaded here and the pool."""
    if execution_environments:
        specs = dict(created.values())
        environments = ExecutionEnvironments(specs, execution_environments, function_log)
        for name in specs:
            lambda_runtime.register_invoker(name, functools.partial(environments.invoke, name))
        return {}, environments
    functions = {}
    for logical_id, (name, spec) in created.items():
        started = time.perf_counter()
        functions[logical_id] = lambda_runtime.load_function(spec.code_dir, spec.environment)
        lambda_runtime.register(
            name,
            functions[logical_id].app.lambda_handler,
            log_group=spec.log_group,
            memory_size_mb=spec.memory_size_mb,
            init_ms=(time.perf_counter() - started) * 1000,
        )
    return functions, None


def create_bucket(s3: Any, bucket: str, region: str) -> None:
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def _ensure_role(iam: Any, name: str) -> str:
    try:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=_ASSUME_LAMBDA_AND_STATES)["Role"][
            "Arn"
        ]
    except ClientError as error:
        if error.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
        return iam.get_role(RoleName=name)["Role"]["Arn"]


def _placeholder_zip() -> bytes:
    # moto stores the code but never runs it: lambda_runtime runs the real handler instead.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# the local stack runs functions/<name>/app.py itself\n")
    return buffer.getvalue()


def _ensure_function(lambda_client: Any, name: str, role_arn: str, environment: dict[str, str]) -> str:
    try:
        return lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Architectures=["arm64"],
            Role=role_arn,
            Handler="app.lambda_handler",
            Code={"ZipFile": _placeholder_zip()},
            Environment={"Variables": environment},
        )["FunctionArn"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceConflictException":
            raise
        return lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def _ensure_state_machine(sfn: Any, name: str, definition: str, role_arn: str, logging: dict | None) -> str:
    logging_arguments = {"loggingConfiguration": logging} if logging else {}
    for machine in sfn.list_state_machines()["stateMachines"]:
        if machine["name"] == name:
            sfn.update_state_machine(
                stateMachineArn=machine["stateMachineArn"], definition=definition, **logging_arguments
            )
            return machine["stateMachineArn"]
    return sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn, **logging_arguments)[
        "stateMachineArn"
    ]
