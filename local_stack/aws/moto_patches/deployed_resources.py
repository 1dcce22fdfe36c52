"""The local deploy's resources in moto's CloudFormation and IAM (in the ``server`` group).

Recorded, not created (``parse_and_create_resource``, ``parse_and_update_resource``): the local
deploy (``aws.deploy``) creates every resource of the transformed template through each
service's API, as CloudFormation's resource handlers do, because moto's CloudFormation would
create them short of what the template says (an ``AWS::IAM::Role``'s ``ManagedPolicyArns`` are
dropped, an ``AWS::SQS::Queue`` keeps only some attributes, the bucket would land in the wrong
process, alarms and dashboards are unknown to it) and under random names. It then records the
stack with the transformed template, each resource carrying ``Metadata`` ``RECORDED`` (its
physical id and the attributes ``Fn::GetAtt`` answers). moto would parse and create such a
resource; here it becomes a ``DeployedResource`` that only answers, so ``ListStackResources``,
``DescribeStackResources`` and ``sam logs --stack-name`` see every resource as CloudFormation
lists it. Deleting the stack leaves them (the local stack's resources live as long as it does).

AWS managed policies on demand (``IAMBackend.attach_role_policy``): moto knows AWS's managed
policies (its ``aws_managed_policies`` data, the documents of the AWS Managed Policy Reference,
https://docs.aws.amazon.com/aws-managed-policy/latest/reference/) but loads them only under
``MOTO_IAM_LOAD_MANAGED_POLICIES``, all of them (about 1,300) in every IAM backend. Attaching one
by ARN loads that one from the same data, as AWS answers for every account; an ARN moto's data
lacks stays ``NoSuchEntity``, as AWS answers a policy that does not exist.

A policy without ``Version`` (``IAMPolicyDocumentValidator._validate_version``): moto refuses it
("must be version 2012-10-17 or greater"); IAM reads it as 2008-10-17 and refuses only one that
uses policy variables (``${...}``), which that version lacks
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html).
SAM writes a state machine's inline ``Policies: - Statement:`` without one.

A function's ``LoggingConfig`` (``LambdaFunction.__init__``, ``get_configuration``,
``update_configuration``): moto drops it; Lambda keeps it and GetFunctionConfiguration answers it
(``LogFormat`` Text and ``LogGroup`` ``/aws/lambda/<name>`` by default,
https://docs.aws.amazon.com/lambda/latest/api/API_LoggingConfig.html). ``sam logs --stack-name``
reads a function's log group from it: without it, it waited for ``/aws/lambda/<name>`` forever.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from local_stack.aws.moto_patches.patch import Patch

RECORDED = "LocalStack::Deployed"  # the Metadata key: {"PhysicalResourceId": ..., "Attributes": {...}}


class DeployedResource:
    """What moto's ResourceMap keeps for a resource the local deploy created: its ids and type
    (read by the ListStackResources and DescribeStackResources answers), its attributes."""

    def __init__(self, logical_id: str, resource_type: str, recorded: dict[str, Any]) -> None:
        self.logical_resource_id = logical_id
        self.cf_resource_type = resource_type
        self.physical_resource_id = recorded["PhysicalResourceId"]
        self.attributes = dict(recorded.get("Attributes", {}))

    def get_cfn_attribute(self, name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if name not in self.attributes:
            raise UnformattedGetAttTemplateException()
        return self.attributes[name]

    def is_created(self) -> bool:
        return True

    def delete(self, account_id: str, region_name: str) -> None:
        """The stack's deletion leaves what the local deploy created."""


def _recorded(resource_json: dict[str, Any]) -> dict[str, Any] | None:
    metadata = resource_json.get("Metadata")
    return metadata.get(RECORDED) if isinstance(metadata, dict) else None


def _record_deployed_resources(original: Callable) -> Callable:
    """``moto.cloudformation.parsing:parse_and_create_resource(logical_id, resource_json,
    resources_map, account_id, region_name)`` (and ``parse_and_update_resource``, the same
    parameters): a resource carrying ``RECORDED`` is recorded, not created; any other as moto does."""

    def parse(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        recorded = _recorded(resource_json)
        if recorded is None:
            return original(logical_id, resource_json, resources_map, account_id, region_name)
        return DeployedResource(logical_id, resource_json["Type"], recorded)

    return parse


@functools.cache
def _aws_managed_policy_data() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)


def _load_aws_managed_policies_on_demand(original: Callable) -> Callable:
    """``moto.iam.models:IAMBackend.attach_role_policy(self, policy_arn, role_name)``: an AWS
    managed policy moto has not loaded is loaded from moto's data first."""

    def attach_role_policy(self: Any, policy_arn: str, role_name: str) -> None:
        if policy_arn not in self.managed_policies and policy_arn.split(":")[4:5] == ["aws"]:
            from moto.iam.models import AWSManagedPolicy

            name = policy_arn.rsplit("/", 1)[-1]
            data = _aws_managed_policy_data().get(name)
            if data is not None:
                policy = AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
                if policy.arn == policy_arn:  # the path too: service-role/ and the like
                    self.managed_policies[policy.arn] = policy
        return original(self, policy_arn, role_name)

    return attach_role_policy


def _version_as_iam_reads_it(_original: Callable) -> Callable:
    """``moto.iam.policy_validation:BaseIAMPolicyValidator._validate_version(self)``: 2012-10-17,
    or no Version in a document without policy variables."""

    def validate_version(self: Any) -> None:
        version = self._policy_json.get("Version")
        assert version == "2012-10-17" or (version is None and "${" not in self._policy_document)

    return validate_version


def _keep_logging_config(original: Callable) -> Callable:
    """``moto.awslambda.models:LambdaFunction.__init__(self, account_id, spec, region, version)``."""

    def init(self: Any, account_id: str, spec: dict[str, Any], region: str, version: Any = 1) -> None:
        original(self, account_id, spec, region, version)
        self.logging_config = _logging_config(spec.get("LoggingConfig"), self.function_name)

    return init


def _logging_config(given: dict[str, Any] | None, function_name: str) -> dict[str, Any]:
    return {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function_name}", **(given or {})}


def _answer_logging_config(original: Callable) -> Callable:
    """``moto.awslambda.models:LambdaFunction.get_configuration(self, on_create)``."""

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        configuration = original(self, on_create)
        configuration["LoggingConfig"] = getattr(self, "logging_config", None) or _logging_config(
            None, self.function_name
        )
        return configuration

    return get_configuration


def _update_logging_config(original: Callable) -> Callable:
    """``moto.awslambda.models:LambdaFunction.update_configuration(self, config_updates)``."""

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "LoggingConfig" in config_updates:
            self.logging_config = _logging_config(config_updates["LoggingConfig"], self.function_name)
        return original(self, config_updates)

    return update_configuration


_PARSE_PARAMETERS = ("logical_id", "resource_json", "resources_map", "account_id", "region_name")
PATCHES = (
    Patch(
        "moto.cloudformation.parsing:parse_and_create_resource", _PARSE_PARAMETERS, _record_deployed_resources
    ),
    Patch(
        "moto.cloudformation.parsing:parse_and_update_resource", _PARSE_PARAMETERS, _record_deployed_resources
    ),
    Patch(
        "moto.iam.models:IAMBackend.attach_role_policy",
        ("self", "policy_arn", "role_name"),
        _load_aws_managed_policies_on_demand,
    ),
    Patch(
        "moto.iam.policy_validation:BaseIAMPolicyValidator._validate_version",
        ("self",),
        _version_as_iam_reads_it,
    ),
    Patch(
        "moto.awslambda.models:LambdaFunction.__init__",
        ("self", "account_id", "spec", "region", "version"),
        _keep_logging_config,
    ),
    Patch(
        "moto.awslambda.models:LambdaFunction.get_configuration",
        ("self", "on_create"),
        _answer_logging_config,
    ),
    Patch(
        "moto.awslambda.models:LambdaFunction.update_configuration",
        ("self", "config_updates"),
        _update_logging_config,
    ),
)
