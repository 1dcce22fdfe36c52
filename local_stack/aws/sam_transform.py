"""template.yaml as CloudFormation deploys it: the ``AWS::Serverless-2016-10-31`` transform run by
samtranslator (package aws-sam-translator, the code CloudFormation runs for that transform and
``sam deploy`` runs before it), after what ``sam package`` does to a local template: each
function's ``CodeUri`` and each state machine's ``DefinitionUri`` become S3 locations. Here they
name ``ARTIFACTS_BUCKET``, whose keys are the paths in this repository (``artifact_path``), so
the local deploy finds each function's code and each definition where ``sam package`` found them.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from local_stack.settings import REPO_ROOT

# the S3 bucket `sam package` would upload to; nothing is uploaded: its keys are repository paths
ARTIFACTS_BUCKET = "local-stack-artifacts"

# the AWS managed policies a SAM resource may name by name (Policies: [AWSXrayWriteOnlyAccess]);
# the transform asks IAM's ListPolicies for them, offline this map answers
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
}


class _ManagedPolicies:
    def load(self) -> dict[str, str]:
        return MANAGED_POLICIES


def packaged(body: dict) -> dict:
    """``body`` as ``sam package`` leaves it: local code and definitions as S3 locations."""
    body = copy.deepcopy(body)
    for resource in body.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and isinstance(properties.get("CodeUri"), str):
            properties["CodeUri"] = f"s3://{ARTIFACTS_BUCKET}/{properties['CodeUri']}"
        if resource["Type"] == "AWS::Serverless::StateMachine" and isinstance(
            properties.get("DefinitionUri"), str
        ):
            properties["DefinitionUri"] = f"s3://{ARTIFACTS_BUCKET}/{properties['DefinitionUri']}"
    return body


def expand(body: dict, parameters: dict[str, str], region: str) -> dict:
    """The CloudFormation template the transform makes of ``body`` (a SAM template as loaded,
    short-form tags as ``Fn::`` mappings), given the stack's parameter values and region."""
    from samtranslator.translator.transform import transform  # 0.4 s to import: only when deploying

    # the transform reads the region from boto3's default session (the ARNs' partition)
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        return transform(packaged(body), dict(parameters), _ManagedPolicies())
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


def artifact_path(location: dict[str, Any]) -> Path:
    """The repository path an S3 location of ``packaged`` names (a function's ``Code``, a state
    machine's ``DefinitionS3Location``)."""
    bucket = location.get("S3Bucket", location.get("Bucket"))
    key = location.get("S3Key", location.get("Key"))
    if bucket != ARTIFACTS_BUCKET or not isinstance(key, str):
        raise ValueError(f"{location!r} is no artifact of the local deploy (s3://{ARTIFACTS_BUCKET}/...)")
    return REPO_ROOT / key
