"""The local stack as CloudFormation knows it: after the local ``sam deploy``, a CloudFormation
stack of the same name answers ``aws cloudformation describe-stacks`` with template.yaml's own
Outputs and the parameters the stack was deployed with, so commands written for AWS (the
docs', a user's scripts) read the bucket and the state machine from it, unchanged.

moto's CloudFormation cannot create the stack's functions or its state machine for the local
stack (it would make a second state machine in the Step Functions backend that has no
interpreter), so ``deploy`` creates those itself and the recorded stack holds what moto's
CloudFormation creates as CloudFormation would: the log groups (under the template's names,
where the functions' and the state machine's logs go), the alarm topic and the upload
dead-letter queue. Every Output is resolved here to the value the local deploy gave it, except
a Ref to one of those recorded resources, which CloudFormation resolves itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from local_stack.aws.template import Template
from scones_core.stack_outputs import read_stack

# the resources the recorded stack creates, and the properties of each that matter locally
# (encryption keys and policies refer to resources the local stack does not have)
RECORDED_PROPERTIES = {
    "AWS::Logs::LogGroup": ("LogGroupName", "RetentionInDays"),
    "AWS::SNS::Topic": ("DisplayName",),
    "AWS::SQS::Queue": ("MessageRetentionPeriod",),
}
_NUMERIC_PROPERTIES = {"RetentionInDays", "MessageRetentionPeriod"}


def stack_template(template: Template, resolve: Callable[[Any], str], parameters: Mapping[str, str]) -> dict:
    """The CloudFormation template of the recorded stack: the recorded resources, the
    template's Outputs, and one String parameter per deployed parameter."""
    resources = {}
    for logical_id, resource in template.body["Resources"].items():
        kept = RECORDED_PROPERTIES.get(resource["Type"])
        if kept is None or "Condition" in resource:
            continue
        properties = {
            name: _property_value(name, resolve(value))
            for name, value in resource.get("Properties", {}).items()
            if name in kept
        }
        resources[logical_id] = {"Type": resource["Type"], "Properties": properties}
    outputs = {}
    for name, output in template.body.get("Outputs", {}).items():
        value = output["Value"]
        recorded_ref = isinstance(value, dict) and list(value) == ["Ref"] and value["Ref"] in resources
        outputs[name] = {"Value": value if recorded_ref else resolve(value)}
        if "Description" in output:
            outputs[name]["Description"] = output["Description"]
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": template.body.get("Description", ""),
        "Parameters": {name: {"Type": "String"} for name in parameters},
        "Resources": resources,
        "Outputs": outputs,
    }


def _property_value(name: str, value: str) -> Any:
    return int(value) if name in _NUMERIC_PROPERTIES else value


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
