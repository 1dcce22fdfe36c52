"""scones_core.stack_outputs: the one reading of describe-stacks, and its family of errors."""

from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from scones_core.stack_outputs import (
    MissingStackOutput,
    StackLookupError,
    StackNotFound,
    StackOutputs,
    read_stack,
)

STACK = "scones-vehicle-classifier"


@pytest.fixture
def cloudformation():
    client = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def described(outputs=None, parameters=None):
    stack = {
        "StackName": STACK,
        "StackId": f"arn:aws:cloudformation:us-east-1:123456789012:stack/{STACK}/1",
        "CreationTime": datetime.datetime(2026, 12, 6),
        "StackStatus": "CREATE_COMPLETE",
        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in (outputs or {}).items()],
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
    }
    return {"Stacks": [stack]}


def test_outputs_and_parameters_are_read_by_key(cloudformation):
    client, stub = cloudformation
    stub.add_response(
        "describe_stacks",
        described({"ImageBucketName": "bucket", "ReviewQueueUrl": "https://q"}, {"BatchSize": "10"}),
        {"StackName": STACK},
    )
    stack = read_stack(client, STACK)
    assert stack.stack_name == STACK and stack.status == "CREATE_COMPLETE"
    assert stack.stack_id.endswith(f"stack/{STACK}/1")
    assert (stack.image_bucket, stack.review_queue_url) == ("bucket", "https://q")
    assert stack.parameters == {"BatchSize": "10"}


def test_a_missing_output_is_named(cloudformation):
    client, stub = cloudformation
    stub.add_response("describe_stacks", described({"ImageBucketName": "bucket"}), {"StackName": STACK})
    stack = read_stack(client, STACK)
    with pytest.raises(MissingStackOutput, match=f"stack {STACK} has no ReviewedDataLocation output"):
        _ = stack.reviewed_data_location
    with pytest.raises(
        MissingStackOutput, match=r"has no Output ReviewQueueUrl, BatchClassifyStateMachineArn$"
    ):
        stack.require("ImageBucketName", "ReviewQueueUrl", "BatchClassifyStateMachineArn")


def test_a_stack_that_does_not_exist_is_not_found(cloudformation):
    client, stub = cloudformation
    stub.add_client_error("describe_stacks", "ValidationError", f"Stack with id {STACK} does not exist")
    with pytest.raises(StackNotFound, match=f"stack {STACK}: Stack with id {STACK} does not exist"):
        read_stack(client, STACK)


def test_any_other_failure_is_a_lookup_error_with_the_services_message(cloudformation):
    client, stub = cloudformation
    stub.add_client_error(
        "describe_stacks", "AccessDenied", "not authorized to perform cloudformation:DescribeStacks"
    )
    with pytest.raises(StackLookupError, match="not authorized") as raised:
        read_stack(client, STACK)
    assert not isinstance(raised.value, StackNotFound)


def test_no_endpoint_is_a_lookup_error(monkeypatch):
    client = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )

    def refuse(**_):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    monkeypatch.setattr(client, "describe_stacks", refuse)
    with pytest.raises(StackLookupError, match="Could not connect"):
        read_stack(client, STACK)


def test_an_undescribed_stack_takes_the_name_asked_for():
    assert StackOutputs.from_description({"StackStatus": "CREATE_COMPLETE"}, STACK).stack_name == STACK
