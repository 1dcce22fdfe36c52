"""The local stack as CloudFormation knows it: after the local ``sam deploy``, a CloudFormation
stack of the same name answers ``describe-stacks`` with template.yaml's own Outputs and the
parameters the stack was deployed with, and ``list-stack-resources``/``describe-stack-resources``
with every resource of the transformed template and its physical id, so commands written for
AWS (the docs', ``sam list resources``, ``sam logs --stack-name``, a user's scripts) read the
stack from it, unchanged.

The deploy creates every resource itself (``resource_handlers``); the recorded template is the
transformed template with each resource's properties replaced by ``Metadata`` naming what was
created (``moto_patches.deployed_resources``), so moto's CloudFormation records them without
creating anything a second time. Every Output is resolved here to the value the deploy gave it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from local_stack.aws.moto_patches.deployed_resources import RECORDED
from local_stack.aws.template import Template
from scones_core.stack_outputs import StackNotFound, read_stack


def ensure_stack(cloudformation: Any, stack_name: str, parameters: Mapping[str, str]) -> str:
    """The recorded stack's id (``AWS::StackId``), creating it empty before its first deploy:
    CloudFormation knows a stack's id before it creates any of its resources, and a policy may
    name it (ReviewerPolicy's DescribeStacks)."""
    try:
        return read_stack(cloudformation, stack_name).stack_id
    except StackNotFound:
        pass
    body = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}}
    return record_stack(cloudformation, stack_name, body, {})


def stack_template(
    template: Template,
    resolve: Callable[[Any], str],
    parameters: Mapping[str, str],
    created: Mapping[str, Any] | None = None,
) -> dict:
    """The CloudFormation template of the recorded stack: each created resource (``created``:
    {logical id: ``resource_handlers.Created``}) with its type and what was created, the
    template's Outputs resolved, and one String parameter per deployed parameter."""
    resources = {}
    for logical_id, done in (created or {}).items():
        resource = template.body["Resources"][logical_id]
        resources[logical_id] = {
            "Type": resource["Type"],
            "Metadata": {RECORDED: {"PhysicalResourceId": done.physical_id, "Attributes": done.attributes}},
        }
    outputs = {}
    for name, output in template.body.get("Outputs", {}).items():
        outputs[name] = {"Value": resolve(template.chosen(output["Value"], resolve))}
        if "Description" in output:
            outputs[name]["Description"] = output["Description"]
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": template.body.get("Description", ""),
        "Parameters": {name: {"Type": "String"} for name in parameters},
        "Resources": resources,
        "Outputs": outputs,
    }


def physical_ids(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """``{logical id: physical id}`` of the stack as recorded, or ``{}`` before its first deploy."""
    try:
        listed = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ValidationError":
            raise
        return {}
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in listed}


def record_stack(cloudformation: Any, stack_name: str, body: dict, parameters: Mapping[str, str]) -> str:
    """Create the recorded stack, or update it to ``body`` when a deploy runs again; its id."""
    arguments = {
        "StackName": stack_name,
        "TemplateBody": json.dumps(body),
        "Parameters": [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in parameters.items()],
        "Tags": [{"Key": "local-stack", "Value": "true"}],
    }
    try:
        return cloudformation.create_stack(**arguments)["StackId"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "AlreadyExistsException":
            raise
    try:
        cloudformation.update_stack(**arguments)
    except ClientError as error:
        # the same deploy again: nothing to change is no failure (samconfig's fail_on_empty_changeset)
        if "No updates are to be performed" not in error.response["Error"]["Message"]:
            raise
    return read_stack(cloudformation, stack_name).stack_id


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """``{OutputKey: OutputValue}`` as describe-stacks answers them."""
    return dict(read_stack(cloudformation, stack_name).outputs)
