"""The local deploy is the template as CloudFormation deploys it: SAM's transform expands
template.yaml, every resource of the result is created and listed by the local CloudFormation
with its physical id, and each role holds what the transform gave it."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from local_stack.aws import deploy, lambda_runtime, sam_transform
from local_stack.aws.template import NO_VALUE, Template, make_resolver

STACK = "deploy-test"


@pytest.fixture(scope="module")
def deployed():
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        stack = deploy.deploy(
            session, endpoint_name="vehicle-classifier-local", bucket="deploy-test", stack_name=STACK
        )
        try:
            yield session, stack
        finally:
            lambda_runtime.unregister_all()


@pytest.fixture(scope="module")
def transformed(deployed) -> dict:
    _, stack = deployed
    return sam_transform.expand(Template.load().body, stack.parameters, "us-east-1")


@pytest.fixture(scope="module")
def expanded(transformed) -> dict:
    return transformed["Resources"]


def _decided(statements: list, template: Template, parameters: dict) -> list[dict]:
    """The statements a role gets: each ``Fn::If`` decided on the deployed parameters (a
    condition that does not hold leaves its statement out: ``AWS::NoValue``)."""
    resolve = make_resolver(parameters, {}, {"AWS::Region": "us-east-1", "AWS::Partition": "aws"})
    return [c for c in (template.chosen(s, resolve) for s in statements) if c is not NO_VALUE]


def test_every_resource_of_the_transformed_template_is_listed_with_its_physical_id(deployed, expanded):
    session, stack = deployed
    listed = session.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    by_id = {r["LogicalResourceId"]: r for r in listed}
    # AlarmEmailSubscription's condition (an AlarmEmail) does not hold: CloudFormation creates none;
    # nor the Express workflow's under WorkflowType Standard
    unmet = ("HasAlarmEmail", "ExpressWorkflow")
    wanted = {k: v["Type"] for k, v in expanded.items() if v.get("Condition") not in unmet}
    assert {k: r["ResourceType"] for k, r in by_id.items()} == wanted
    assert all(r["PhysicalResourceId"] for r in listed)
    assert {k: r.physical_id for k, r in stack.resources.items()} == {
        k: r["PhysicalResourceId"] for k, r in by_id.items()
    }
    assert by_id["SerializeImageDataFunction"]["PhysicalResourceId"] == f"{STACK}-SerializeImageDataFunction"


def _statements_resolved(session, role_name: str) -> dict[str, dict]:
    iam = session.client("iam")
    return {
        name: iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    }


def test_every_role_holds_the_transforms_trust_inline_and_managed_policies(deployed, transformed, expanded):
    session, stack = deployed
    template = Template(transformed)
    iam = session.client("iam")
    roles = {
        k: v
        for k, v in expanded.items()
        if v["Type"] == "AWS::IAM::Role" and v.get("Condition") != "ExpressWorkflow"  # Standard deployed
    }
    assert set(roles) == set(stack.of_type("AWS::IAM::Role")) and len(roles) == 7
    for logical_id, resource in roles.items():
        name = stack.resources[logical_id].physical_id
        properties = resource["Properties"]
        policies = _statements_resolved(session, name)
        assert set(policies) == {p["PolicyName"] for p in properties["Policies"]}, logical_id
        for policy in properties["Policies"]:
            written = _decided(policy["PolicyDocument"]["Statement"], template, stack.parameters)
            got = policies[policy["PolicyName"]]
            assert [s.get("Sid") for s in got["Statement"]] == [s.get("Sid") for s in written]
            assert [s["Action"] for s in got["Statement"]] == [s["Action"] for s in written]
            assert "Fn::" not in json.dumps(got) and "${" not in json.dumps(got)  # every intrinsic resolved
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        assert {p["PolicyArn"] for p in attached} == set(properties.get("ManagedPolicyArns", [])), logical_id
        trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
        written = properties["AssumeRolePolicyDocument"]
        assert [s["Principal"] for s in trust["Statement"]] == [s["Principal"] for s in written["Statement"]]
    # the managed policy the stack creates for reviewers, with its document resolved
    reviewer = stack.resources["ReviewerPolicy"]
    version = iam.get_policy(PolicyArn=reviewer.arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=reviewer.arn, VersionId=version)["PolicyVersion"]["Document"]
    assert [s["Sid"] for s in document["Statement"]] == [
        s["Sid"] for s in expanded["ReviewerPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    ]
    find_the_stack = document["Statement"][0]["Resource"]
    assert (
        find_the_stack
        == session.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]["StackId"]
    )


def test_each_function_state_machine_and_rule_acts_as_its_own_role(deployed, expanded):
    session, stack = deployed
    lambda_client = session.client("lambda")
    for logical_id, function in stack.of_type("AWS::Lambda::Function").items():
        own = stack.resources[expanded[logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]]
        assert own.logical_id == f"{logical_id}Role"
        configuration = lambda_client.get_function(FunctionName=function.physical_id)["Configuration"]
        assert configuration["Role"] == own.arn == function.role_arn
    sfn = session.client("stepfunctions")
    for logical_id, machine in stack.of_type("AWS::StepFunctions::StateMachine").items():
        described = sfn.describe_state_machine(stateMachineArn=machine.arn)
        assert described["roleArn"] == stack.resources[f"{logical_id}Role"].arn == machine.role_arn
    targets = session.client("events").list_targets_by_rule(Rule=stack.resources["UploadRule"].physical_id)
    assert [t["RoleArn"] for t in targets["Targets"]] == [stack.resources["UploadRuleRole"].arn]
    assert len({r.role_arn for r in stack.resources.values() if r.role_arn}) == 7  # no role shared


def test_the_state_machines_definition_has_the_transforms_substitutions(deployed):
    session, stack = deployed
    definition = session.client("stepfunctions").describe_state_machine(
        stateMachineArn=stack.state_machine_arn
    )["definition"]
    assert stack.resources["SerializeImageDataFunction"].arn in definition
    assert "${" not in definition


def test_each_function_answers_its_log_group_as_lambda_does(deployed):
    """sam logs --stack-name finds a function's lines through GetFunctionConfiguration's LoggingConfig."""
    session, stack = deployed
    lambda_client = session.client("lambda")
    for logical_id, function in stack.of_type("AWS::Lambda::Function").items():
        configuration = lambda_client.get_function_configuration(FunctionName=function.physical_id)
        group = stack.log_groups[logical_id.removesuffix("Function") + "LogGroup"]
        assert configuration["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": group}
