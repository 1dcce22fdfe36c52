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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ADMIN_PROFILE = "local-admin"  # the source profile: the stack's administrator key
SESSION_SECONDS = 43_200  # the longest AssumeRole session (a role's MaxSessionDuration may cap it)


def assumed_role_environment(sts: Any, role_arn: str, session_name: str) -> dict[str, str]:
    """AssumeRole on ``role_arn``; the three variables Lambda sets from the answer."""
    answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64])["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": answer["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": answer["SecretAccessKey"],
        "AWS_SESSION_TOKEN": answer["SessionToken"],
    }


def function_environment(lambda_client: Any, sts: Any, function_name: str) -> dict[str, str]:
    """The credentials ``function_name`` runs with: its configuration's Role, assumed with the
    function's name as the session name (as Lambda does)."""
    configuration = lambda_client.get_function(FunctionName=function_name)["Configuration"]
    return assumed_role_environment(sts, configuration["Role"], configuration["FunctionName"])


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
