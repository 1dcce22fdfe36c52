"""CloudFormation's stack operations are checked on the stack's ARN (Service Authorization
Reference, AWS CloudFormation: DescribeStacks on the ``stack`` resource type), so ReviewerPolicy's
``cloudformation:DescribeStacks`` on ``AWS::StackId`` lets a reviewer find the stack."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from local_stack.aws.iam.request_resources import Check, Request, checks

ACCOUNT, REGION = "123456789012", "us-east-1"
TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})


def request(params: dict) -> Request:
    return Request("cloudformation", "DescribeStacks", REGION, ACCOUNT, params)


def test_describe_stacks_by_name_is_checked_on_the_stacks_arn():
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        stack_id = cloudformation.create_stack(StackName="reviewed", TemplateBody=TEMPLATE)["StackId"]
        assert stack_id.startswith(f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/reviewed/")
        on_the_stack = [Check("cloudformation:DescribeStacks", stack_id)]
        assert checks(request({"StackName": "reviewed"})) == on_the_stack
        assert checks(request({"StackName": stack_id})) == on_the_stack


def test_describe_stacks_of_every_stack_or_of_none_is_checked_on_star():
    with mock_aws():
        assert checks(request({})) == [Check("cloudformation:DescribeStacks", "*")]
        assert checks(request({"StackName": "absent"})) == [Check("cloudformation:DescribeStacks", "*")]
