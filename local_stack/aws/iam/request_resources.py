"""What IAM checks for one request: the IAM action(s), the resource ARN each is checked on, and
the condition keys the template's policies use, per service and operation, as the Service
Authorization Reference lists them (https://docs.aws.amazon.com/service-authorization/latest/reference/).
An operation not in the table is checked as ``service:Operation`` on ``*``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote


@dataclass(frozen=True)
class Check:
    action: str  # service:Action
    resource: str  # an ARN, or "*"
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    service: str  # the signing name of the credential scope: s3, lambda, states, ...
    operation: str  # the API operation: GetObject, Invoke, StartExecution, ...
    region: str
    account: str
    params: Mapping[str, Any]  # the JSON body or the query string, one value per name
    path: str = "/"

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"


# operation -> IAM action where the two differ
_LAMBDA_ACTIONS = {
    "Invoke": "InvokeFunction",
    "InvokeAsync": "InvokeFunction",
    "ListFunctions": "ListFunctions",
}
_S3_ACTIONS = {
    "HeadObject": "GetObject",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListParts": "ListMultipartUploadParts",
    "DeleteObjects": "DeleteObject",
}
_STATES_EXECUTION_OPERATIONS = {"DescribeExecution", "StopExecution", "GetExecutionHistory", "ListMapRuns"}
_STATES_MACHINE_OPERATIONS = {
    "StartExecution",
    "StartSyncExecution",
    "DescribeStateMachine",
    "ListExecutions",
}


def checks(request: Request) -> list[Check]:
    """The checks for one request to a JSON or query service (S3 has ``s3_checks``)."""
    handler = _HANDLERS.get(request.service)
    if handler is not None:
        found = handler(request)
        if found is not None:
            return found
    return [Check(f"{request.service}:{request.operation}", "*")]


def _lambda(request: Request) -> list[Check] | None:
    action = f"lambda:{_LAMBDA_ACTIONS.get(request.operation, request.operation)}"
    match = re.search(r"/functions/([^/?]+)", request.path)
    if match is None:
        return [Check(action, "*")]
    name = unquote(match.group(1))
    # a name, a name:qualifier, or an ARN with or without one (Invoke's FunctionName)
    name = name.split(":")[6] if name.startswith("arn:") else name.split(":")[0]
    return [Check(action, request.arn("lambda", f"function:{name}"))]


def _states(request: Request) -> list[Check] | None:
    p, action = request.params, f"states:{request.operation}"
    if request.operation in _STATES_MACHINE_OPERATIONS and p.get("stateMachineArn"):
        return [Check(action, str(p["stateMachineArn"]))]
    if request.operation in _STATES_EXECUTION_OPERATIONS and p.get("executionArn"):
        return [Check(action, str(p["executionArn"]))]
    if request.operation == "DescribeMapRun" and p.get("mapRunArn"):
        return [Check(action, str(p["mapRunArn"]))]
    return None


def _sqs(request: Request) -> list[Check] | None:
    url = request.params.get("QueueUrl")
    name = str(url).rstrip("/").rsplit("/", 1)[-1] if url else request.params.get("QueueName")
    if not name:
        return None
    return [Check(f"sqs:{request.operation}", request.arn("sqs", str(name)))]


def _logs(request: Request) -> list[Check] | None:
    group = request.params.get("logGroupName")
    if not group:
        return None
    stream = request.params.get("logStreamName")
    if stream and request.operation in ("PutLogEvents", "GetLogEvents"):
        return [
            Check(f"logs:{request.operation}", request.arn("logs", f"log-group:{group}:log-stream:{stream}"))
        ]
    return [Check(f"logs:{request.operation}", request.arn("logs", f"log-group:{group}:*"))]


def _cloudwatch(request: Request) -> list[Check] | None:
    if request.operation == "PutMetricData":  # no resource type; the namespace is a condition key
        return [
            Check(
                "cloudwatch:PutMetricData",
                "*",
                {"cloudwatch:namespace": str(request.params.get("Namespace", ""))},
            )
        ]
    return None


def _sagemaker(request: Request) -> list[Check] | None:
    match = re.search(r"/endpoints/([^/?]+)/invocations", request.path)
    if request.operation != "InvokeEndpoint" or match is None:
        return None
    # SageMaker writes its ARNs in lower case (endpoint/name)
    return [
        Check(
            "sagemaker:InvokeEndpoint",
            request.arn("sagemaker", f"endpoint/{unquote(match.group(1)).lower()}"),
        )
    ]


def _events(request: Request) -> list[Check] | None:
    if request.operation == "PutEvents":
        buses = {str(entry.get("EventBusName") or "default") for entry in request.params.get("Entries") or []}
        return [Check("events:PutEvents", _bus_arn(request, bus)) for bus in sorted(buses or {"default"})]
    if request.params.get("Name") and request.operation.endswith("Rule"):
        return [Check(f"events:{request.operation}", request.arn("events", f"rule/{request.params['Name']}"))]
    return None


def _bus_arn(request: Request, bus: str) -> str:
    return bus if bus.startswith("arn:") else request.arn("events", f"event-bus/{bus}")


def _iam(request: Request) -> list[Check] | None:
    for name, kind in (("RoleName", "role"), ("UserName", "user"), ("PolicyArn", None)):
        value = request.params.get(name)
        if value:
            resource = str(value) if kind is None else f"arn:aws:iam::{request.account}:{kind}/{value}"
            return [Check(f"iam:{request.operation}", resource)]
    return None


def _sts(request: Request) -> list[Check] | None:
    role = request.params.get("RoleArn")
    return [Check(f"sts:{request.operation}", str(role))] if role else None


def _cloudformation(request: Request) -> list[Check] | None:
    """A stack operation naming its stack is checked on the stack's ARN,
    ``arn:aws:cloudformation:<region>:<account>:stack/<name>/<id>`` (the Service Authorization
    Reference's ``stack`` resource type: ReviewerPolicy grants DescribeStacks on ``AWS::StackId``);
    a name is looked up in this process's moto CloudFormation (the stack's server)."""
    name = request.params.get("StackName")
    if not name:
        return None
    name = str(name)
    stack_id = name if name.startswith("arn:") else _stack_id(request, name)
    return [Check(f"cloudformation:{request.operation}", stack_id or "*")]


def _stack_id(request: Request, name: str) -> str | None:
    from moto.cloudformation.models import cloudformation_backends

    try:
        stacks = cloudformation_backends[request.account][request.region].stacks
    except KeyError:
        return None
    for stack in list(stacks.values()):
        if stack.name == name and stack.status != "DELETE_COMPLETE":
            return stack.stack_id
    return None


_HANDLERS = {
    "cloudformation": _cloudformation,
    "lambda": _lambda,
    "states": _states,
    "sqs": _sqs,
    "logs": _logs,
    "monitoring": _cloudwatch,
    "cloudwatch": _cloudwatch,
    "sagemaker": _sagemaker,
    "events": _events,
    "iam": _iam,
    "sts": _sts,
}


def s3_checks(
    operation: str, bucket: str | None, key: str | None, query: Mapping[str, Any], headers: Mapping[str, str]
) -> list[Check]:
    """S3's checks: object actions on ``arn:aws:s3:::bucket/key``, bucket actions on
    ``arn:aws:s3:::bucket`` with ``s3:prefix`` for ListBucket; CopyObject is ``s3:PutObject`` on
    the target and ``s3:GetObject`` on the source (CopyObject API reference, "Permissions":
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html)."""
    action = f"s3:{_S3_ACTIONS.get(operation, operation)}"
    if not bucket:
        return [Check(action, "*")]
    if not key:
        context = (
            {"s3:prefix": str(query["prefix"])} if action == "s3:ListBucket" and "prefix" in query else {}
        )
        return [Check(action, f"arn:aws:s3:::{bucket}", context)]
    found = [Check(action, f"arn:aws:s3:::{bucket}/{key}")]
    source = {name.lower(): value for name, value in headers.items()}.get("x-amz-copy-source")
    if source and action == "s3:PutObject":
        source = unquote(source.split("?versionId=")[0]).lstrip("/")
        found.append(Check("s3:GetObject", f"arn:aws:s3:::{source}"))
    return found
