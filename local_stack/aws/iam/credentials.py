"""The credentials each principal acts with, as AWS hands them out: a function's are its role's
temporary credentials (Lambda assumes the role named by the function's ``Role`` and puts
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN in its environment:
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime);
a state machine's are its ``roleArn``'s; the upload rule target's its ``RoleArn``'s; a person's
come from an AWS config file with one profile per role (``role_arn`` + ``source_profile``:
https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-role.html). Roles are read from the
AWS APIs (GetFunction, DescribeStateMachine), never from template.yaml."""

from __future__ import annotations

import configparser
import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local_stack.aws.iam import role_sessions
from local_stack.aws.iam.role_sessions import RoleNotAssumable
from local_stack.aws.iam.trust_policy import Caller, Trust, trust

ADMIN_PROFILE = "local-admin"  # the source profile: the stack's administrator key
SESSION_SECONDS = 43_200  # the longest AssumeRole session (a role's MaxSessionDuration may cap it)


CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def assumed_role_environment(
    sts: Any, role_arn: str, session_name: str, duration_seconds: int | None = None
) -> dict[str, str]:
    """AssumeRole on ``role_arn``; the three variables Lambda sets from the answer."""
    duration = {"DurationSeconds": duration_seconds} if duration_seconds else {}
    answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64], **duration)["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": answer["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": answer["SecretAccessKey"],
        "AWS_SESSION_TOKEN": answer["SessionToken"],
    }


def service_role_session(
    iam: Any,
    sts: Any,
    role_arn: str,
    service: str,
    session_name: str,
    region: str | None = None,
    context: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], datetime.datetime]:
    """``role_arn`` assumed as ``service`` would (``role_sessions.LAMBDA``, ``EVENTS``, ...): the three
    AWS_* variables and when they expire (AssumeRole's Expiration). ``RoleNotAssumable`` unless the
    role's trust policy names the service (read through IAM's GetRole, so it works from any process),
    its conditions decided on ``context`` (the keys the service sends: EventBridge
    ``aws:SourceAccount`` and ``aws:SourceArn``). The session lasts the role's MaxSessionDuration
    (1 h unless the role says more, at most 12 h: AssumeRole's DurationSeconds,
    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html)."""
    role = iam.get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
    caller = Caller.for_service(service, region)
    if trust(role["AssumeRolePolicyDocument"], caller, context=context) is not Trust.NAMED:
        raise RoleNotAssumable(role_arn, service)
    duration = role.get("MaxSessionDuration")
    lasting = {"DurationSeconds": duration} if duration else {}
    answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64], **lasting)["Credentials"]
    environment = {
        "AWS_ACCESS_KEY_ID": answer["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": answer["SecretAccessKey"],
        "AWS_SESSION_TOKEN": answer["SessionToken"],
    }
    return environment, answer["Expiration"]


def function_environment(lambda_client: Any, sts: Any, function_name: str, iam: Any = None) -> dict[str, str]:
    """The credentials ``function_name`` runs with: its configuration's Role, assumed with the
    function's name as the session name (as Lambda does); given ``iam``, only if the role trusts
    ``lambda.amazonaws.com``, as Lambda requires."""
    configuration = lambda_client.get_function(FunctionName=function_name)["Configuration"]
    role, name = configuration["Role"], configuration["FunctionName"]
    if iam is not None:
        region = lambda_client.meta.region_name
        return service_role_session(iam, sts, role, role_sessions.LAMBDA, name, region)[0]
    return assumed_role_environment(sts, role, name)


def state_machine_role(stepfunctions: Any, state_machine_arn: str) -> str:
    return stepfunctions.describe_state_machine(stateMachineArn=state_machine_arn)["roleArn"]


def write_aws_config(
    path: Path,
    profiles: Mapping[str, str],
    region: str,
    endpoint_url: str | None,
    s3_endpoint_url: str | None = None,
) -> Path:
    """An AWS config file: ``ADMIN_PROFILE`` (the stack's key, in the same file as
    ``aws_access_key_id``, which the CLI and boto3 accept in config) and one profile per
    ``profiles`` name -> role ARN, each assuming that role from it; every profile carries the
    stack's endpoints (``endpoint_url`` and the per-service ``services`` section). Use it with
    ``AWS_CONFIG_FILE=path AWS_PROFILE=reviewer``."""
    config = configparser.ConfigParser(interpolation=None)
    endpoints = {
        **({"endpoint_url": endpoint_url} if endpoint_url else {}),
        **({"services": "local-stack"} if s3_endpoint_url else {}),
    }
    config[f"profile {ADMIN_PROFILE}"] = {
        "region": region,
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
        **endpoints,
    }
    for name, role_arn in sorted(profiles.items()):
        config[f"profile {name}"] = {
            "region": region,
            "role_arn": role_arn,
            "source_profile": ADMIN_PROFILE,
            "role_session_name": name,
            **endpoints,
        }
    if s3_endpoint_url:  # S3's own endpoint (the local S3 is a server of its own)
        config.read_string(f"[services local-stack]\ns3 =\n  endpoint_url = {s3_endpoint_url}\n")
    path = Path(path)
    with path.open("w") as file:
        config.write(file)
    return path
