"""Express executions as AWS runs them (issue 26), in moto's interpreter with the local stack's
patches: AWS's ``express:`` ARN, StopExecution refused, and the 5-minute limit (here a
definition's TimeoutSeconds of 2 and a Wait of 6) ending the execution with ExecutionTimedOut,
error States.Timeout, in its log group, read back by ``LogGroupWatcher``."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local_stack.aws import moto_patches
from local_stack.aws.moto_patches.express import express_execution_arn, is_express_execution_arn
from local_stack.client.executions import END_EVENTS_PATTERN, LogGroupWatcher, watcher_for
from tests.conftest import service_role

GROUP = "/aws/vendedlogs/states/express-test"
GROUP_ARN = f"arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}:*"
TIMEOUT_SECONDS, WAIT_SECONDS = 2, 6
# far above the 2 s the timeout takes: only a missing end reaches it
ENDS_WITHIN_SECONDS = 30


@pytest.fixture
def clients():
    moto_patches.install()  # stays, as other tests leave it (``pristine_moto`` takes it off)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        # a role Step Functions may assume: CreateStateMachine refuses any other, as on AWS
        role = service_role(
            boto3.client("iam", region_name="us-east-1"), "states.amazonaws.com", "express-test"
        )
        logs = boto3.client("logs", region_name="us-east-1")
        logs.create_log_group(logGroupName=GROUP)
        yield boto3.client("stepfunctions", region_name="us-east-1"), logs, role


def machine(sfn, role: str, definition: dict, machine_type: str = "EXPRESS") -> str:
    return sfn.create_state_machine(
        name=f"express-test-{machine_type.lower()}",
        definition=json.dumps(definition),
        roleArn=role,
        type=machine_type,
        loggingConfiguration={
            "level": "ALL",
            "includeExecutionData": True,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": GROUP_ARN}}],
        },
    )["stateMachineArn"]


SLOW = {
    "StartAt": "Wait",
    "TimeoutSeconds": TIMEOUT_SECONDS,
    "States": {
        "Wait": {"Type": "Wait", "Seconds": WAIT_SECONDS, "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}
QUICK = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


def test_express_arns_are_awss_form():
    moto_arn = "arn:aws:states:us-east-1:123456789012:execution:machine:name"

    assert (
        express_execution_arn(moto_arn, "id")
        == "arn:aws:states:us-east-1:123456789012:express:machine:name:id"
    )
    assert is_express_execution_arn(express_execution_arn(moto_arn, "id"))
    assert not is_express_execution_arn(moto_arn)


def test_an_express_execution_has_an_express_arn_and_cannot_be_stopped(clients):
    sfn, _, role = clients
    express = machine(sfn, role, SLOW)
    standard = machine(sfn, role, SLOW, "STANDARD")

    arn = sfn.start_execution(stateMachineArn=express, name="one")["executionArn"]
    standard_arn = sfn.start_execution(stateMachineArn=standard, name="one")["executionArn"]

    prefix, machine_name, name, unique_id = arn.rsplit(":", 3)
    assert prefix == "arn:aws:states:us-east-1:123456789012:express"
    assert (machine_name, name) == ("express-test-express", "one") and len(unique_id) == 36
    assert standard_arn == "arn:aws:states:us-east-1:123456789012:execution:express-test-standard:one"
    with pytest.raises(ClientError, match="Resource type not valid in this context: express") as refused:
        sfn.stop_execution(executionArn=arn)
    assert refused.value.response["Error"]["Code"] == "InvalidArn"


def test_an_express_execution_ends_at_its_timeout_as_aws_ends_it(clients):
    sfn, logs, role = clients
    express = machine(sfn, role, SLOW)
    started = time.monotonic()

    arn = sfn.start_execution(stateMachineArn=express)["executionArn"]
    with LogGroupWatcher(logs, GROUP, timeout=ENDS_WITHIN_SECONDS) as watcher:
        execution = watcher.wait(arn)
    took = time.monotonic() - started

    assert execution == {"executionArn": arn, "status": "TIMED_OUT", "error": "States.Timeout"}
    assert TIMEOUT_SECONDS <= took < WAIT_SECONDS  # at the limit, not when the Wait would end
    time.sleep(WAIT_SECONDS - took + 1)  # the Wait has ended: nothing is logged after the end
    records = [json.loads(event["message"]) for event in logs.filter_log_events(logGroupName=GROUP)["events"]]
    types = [record["type"] for record in records if record["execution_arn"] == arn]
    assert types == ["ExecutionStarted", "WaitStateEntered", "ExecutionTimedOut"]


def test_the_watcher_reads_each_end_once_from_a_window_that_moves(clients):
    sfn, logs, role = clients
    quick = machine(sfn, role, QUICK)

    with watcher_for(sfn, quick, logs=logs) as watcher:
        assert isinstance(watcher, LogGroupWatcher)
        arns = [
            sfn.start_execution(stateMachineArn=quick, input=json.dumps({"n": n}))["executionArn"]
            for n in range(5)
        ]
        ends = [watcher.wait(arn) for arn in arns]

    assert [end["status"] for end in ends] == ["SUCCEEDED"] * 5
    assert [json.loads(end["output"]) for end in ends] == [{"n": n} for n in range(5)]


def test_a_log_group_that_cannot_be_read_is_named_at_the_timeout():
    class Unreadable:
        def get_paginator(self, name):
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "FilterLogEvents"
            )

    from local_stack.errors import LocalStackError

    with (
        LogGroupWatcher(Unreadable(), GROUP, interval=0.01, timeout=0.2) as watcher,
        pytest.raises(LocalStackError, match=r"could not be read: .*AccessDenied"),
    ):
        watcher.wait("arn:aws:states:us-east-1:123456789012:express:m:n:i")


def test_filter_log_events_reads_the_end_events_pattern_as_cloudwatch_logs_does(clients):
    _, logs, _ = clients
    logs.create_log_stream(logGroupName=GROUP, logStreamName="s")
    now = int(time.time() * 1000)
    messages = [
        json.dumps({"type": t}) for t in ("ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed")
    ]
    messages.append("not json ExecutionSucceeded")
    logs.put_log_events(
        logGroupName=GROUP, logStreamName="s", logEvents=[{"timestamp": now, "message": m} for m in messages]
    )

    found = logs.filter_log_events(logGroupName=GROUP, filterPattern=END_EVENTS_PATTERN)["events"]
    terms = logs.filter_log_events(logGroupName=GROUP, filterPattern="ExecutionSucceeded")["events"]

    assert [event["message"] for event in found] == messages[1:3]
    assert len(terms) == 2  # a plain term is still moto's
