"""The state machines' service integrations act as the state machine's role while IAM is
enforced (moto in-process, mock_aws, the interpreter running executions): a role without the
grant fails the task under the error name Step Functions gives the refusal on AWS, the same role
with the grant succeeds. Lambda (registered function, run in this process), SQS, the Distributed
Map's ItemReader and ResultWriter."""

from __future__ import annotations

import json
import time

import pytest

from local_stack.aws import lambda_runtime
from tests.conftest import iam_enforced

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "batch-bucket"
ENDED_WITHIN = 120.0  # seconds; an execution here ends in well under one
STATES_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:classify"
LAMBDA_TASK = {
    "StartAt": "Classify",
    "States": {
        "Classify": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": FUNCTION_ARN, "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "End": True,
        }
    },
}
SQS_TASK = {
    "StartAt": "Send",
    "States": {
        "Send": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": "QUEUE", "MessageBody.$": "$"},
            "End": True,
        }
    },
}
MAP = {
    "StartAt": "Map",
    "States": {
        "Map": {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:listObjectsV2",
                "Parameters": {"Bucket": BUCKET, "Prefix": "in/"},
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Pass",
                "States": {"Pass": {"Type": "Pass", "End": True}},
            },
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": BUCKET, "Prefix": "out"},
            },
            "End": True,
        }
    },
}


@pytest.fixture
def aws(monkeypatch):
    """moto running executions with every patch and enforcement on; the fixtures act as the
    administrator (mock_aws's key)."""
    with iam_enforced(monkeypatch, stepfunctions={"execute_state_machine": True}) as admin:
        admin.client("s3").create_bucket(Bucket=BUCKET)
        yield admin
    lambda_runtime.unregister_all()


def role(admin, name: str, statements: list[dict], trust: dict = STATES_TRUST) -> str:
    iam = admin.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if statements:
        document = {"Version": "2012-10-17", "Statement": statements}
        iam.put_role_policy(RoleName=name, PolicyName="grant", PolicyDocument=json.dumps(document))
    return arn


def allow(action: str, resource: str) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def run(admin, definition: dict, role_arn: str, execution_input: dict | None = None) -> dict:
    sfn = admin.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=role_arn.rsplit("/", 1)[1], definition=json.dumps(definition), roleArn=role_arn
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(execution_input or {}))[
        "executionArn"
    ]
    deadline, pause = time.monotonic() + ENDED_WITHIN, 0.01
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(pause)
        pause = min(2 * pause, 0.1)
    return described


def test_a_lambda_task_without_invoke_function_fails_as_aws_names_it_and_succeeds_with_it(aws):
    lambda_runtime.register_invoker("classify", lambda event: (json.dumps({"got": event}), False))
    denied = role(aws, "NoInvoke", [allow("lambda:InvokeFunction", f"{FUNCTION_ARN}-other")])
    granted = role(aws, "Invoke", [allow("lambda:InvokeFunction", FUNCTION_ARN)])

    refused = run(aws, LAMBDA_TASK, denied, {"n": 1})
    assert (refused["status"], refused["error"]) == ("FAILED", "Lambda.AWSLambdaException")
    assert ":assumed-role/NoInvoke/" in refused["cause"]
    assert (
        f"is not authorized to perform: lambda:InvokeFunction on resource: {FUNCTION_ARN} because no "
        "identity-based policy allows the lambda:InvokeFunction action (Service: AWSLambda; Status Code: "
        "403; Error Code: AccessDeniedException;"
    ) in refused["cause"]

    succeeded = run(aws, LAMBDA_TASK, granted, {"n": 1})
    assert succeeded["status"] == "SUCCEEDED"
    assert json.loads(succeeded["output"]) == {"got": {"n": 1}}


def test_an_sqs_task_without_send_message_fails_as_aws_names_it_and_succeeds_with_it(aws):
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName="reviews")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:reviews"
    definition = json.loads(json.dumps(SQS_TASK).replace("QUEUE", queue))
    denied = role(aws, "NoSend", [allow("sqs:ReceiveMessage", queue_arn)])
    granted = role(aws, "Send", [allow("sqs:SendMessage", queue_arn)])

    refused = run(aws, definition, denied, {"n": 1})
    assert (refused["status"], refused["error"]) == ("FAILED", "SQS.AmazonSQSException")
    assert "is not authorized to perform: sqs:SendMessage" in refused["cause"]
    assert "(Service: AmazonSQS; Status Code: 403; Error Code: AccessDenied;" in refused["cause"]

    assert run(aws, definition, granted, {"n": 1})["status"] == "SUCCEEDED"
    assert json.loads(sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"]) == {"n": 1}


def test_the_item_reader_without_list_bucket_fails_the_map_with_item_reader_failed(aws):
    aws.client("s3").put_object(Bucket=BUCKET, Key="in/a", Body=b"x")
    denied = role(aws, "NoList", [allow("s3:PutObject", f"arn:aws:s3:::{BUCKET}/out/*")])

    refused = run(aws, MAP, denied)

    assert (refused["status"], refused["error"]) == ("FAILED", "States.ItemReaderFailed")
    assert "is not authorized to perform: s3:ListBucket" in refused["cause"]


def test_the_result_writer_without_put_object_fails_the_map_with_result_writer_failed(aws):
    aws.client("s3").put_object(Bucket=BUCKET, Key="in/a", Body=b"x")
    denied = role(aws, "NoWrite", [allow("s3:ListBucket", f"arn:aws:s3:::{BUCKET}")])

    refused = run(aws, MAP, denied)

    assert (refused["status"], refused["error"]) == ("FAILED", "States.ResultWriterFailed")
    assert "is not authorized to perform: s3:PutObject" in refused["cause"]


def test_the_map_with_both_grants_succeeds(aws):
    aws.client("s3").put_object(Bucket=BUCKET, Key="in/a", Body=b"x")
    granted = role(
        aws,
        "Batch",
        [
            allow("s3:ListBucket", f"arn:aws:s3:::{BUCKET}"),
            allow("s3:PutObject", f"arn:aws:s3:::{BUCKET}/out/*"),
        ],
    )

    assert run(aws, MAP, granted)["status"] == "SUCCEEDED"
