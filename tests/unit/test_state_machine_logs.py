"""A state machine's execution events in its log group, as Step Functions writes them: one log
event per history event of the level's types, in order, each the documented JSON object; none
for a machine without logging configuration. moto runs in this process with the stack's
patches (``aws.moto_patches``); the rendering itself (``aws.state_machine_logs``) is tested
on its own below."""

from __future__ import annotations

import datetime
import json
import logging
import re
import time
import uuid

import boto3
import pytest
from moto import mock_aws

from local_stack.aws import moto_patches
from local_stack.aws.state_machine_logs import (
    LogDestination,
    LogStreamNames,
    epoch_milliseconds,
    execution_log_events,
    log_destination,
    log_record,
)
from tests.conftest import service_role

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/r"
GROUP = "/aws/vendedlogs/states/test-state-machine-logs"
GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}:*"
PASS = {
    "StartAt": "Pass",
    "States": {
        "Pass": {"Type": "Pass", "Result": {"a": 1}, "ResultPath": "$.b", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}
FAIL = {"StartAt": "Fail", "States": {"Fail": {"Type": "Fail", "Error": "Boom", "Cause": "on purpose"}}}
RECORD_FIELDS = [
    "id",
    "type",
    "details",
    "previous_event_id",
    "event_timestamp",
    "execution_arn",
    "redrive_count",
]
STREAM = re.compile(r"states/m/\d{4}-\d\d-\d\d-\d\d/[0-9a-f]{8}")


def logging_configuration(level: str = "ALL", include_execution_data: bool = True) -> dict:
    """As the local deploy passes the template's ``Logging`` to CreateStateMachine."""
    return {
        "level": level,
        "includeExecutionData": include_execution_data,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": GROUP_ARN}}],
    }


@pytest.fixture
def aws():
    moto_patches.install()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        session = boto3.Session(region_name=REGION)
        logs = session.client("logs")
        logs.create_log_group(logGroupName=GROUP)
        assert service_role(session.client("iam"), "states.amazonaws.com") == ROLE_ARN
        yield session.client("stepfunctions"), logs


def _state_machine(sfn, definition: dict, logging_config: dict | None, name: str = "m") -> str:
    extra = {"loggingConfiguration": logging_config} if logging_config else {}
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE_ARN, **extra)[
        "stateMachineArn"
    ]


def _run_to_the_end(sfn, machine: str, execution_input: str = '{"x": 1}') -> str:
    arn = sfn.start_execution(stateMachineArn=machine, input=execution_input)["executionArn"]
    deadline = time.monotonic() + 120
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.01)
    return arn


def _logged(logs) -> list[dict]:
    return logs.filter_log_events(logGroupName=GROUP)["events"]


def _details(history_event: dict) -> dict:
    return next((v for k, v in history_event.items() if k.endswith("EventDetails")), {})


def test_an_ended_execution_logs_each_history_event_in_order_as_aws_writes_it(aws):
    sfn, logs = aws
    execution = _run_to_the_end(sfn, _state_machine(sfn, PASS, logging_configuration()))
    history = sfn.get_execution_history(executionArn=execution)["events"]

    logged = _logged(logs)  # right after the end shows: written before it did
    records = [json.loads(event["message"]) for event in logged]
    assert [r["type"] for r in records] == [e["type"] for e in history]
    assert [r["type"] for r in records][:1] + [r["type"] for r in records][-1:] == [
        "ExecutionStarted",
        "ExecutionSucceeded",
    ]
    for record, event, log_event in zip(records, history, logged, strict=True):
        assert list(record) == RECORD_FIELDS
        assert record["id"] == str(event["id"])
        assert record["previous_event_id"] == str(event["previousEventId"])
        milliseconds = round(event["timestamp"].timestamp() * 1000)
        assert record["event_timestamp"] == str(milliseconds) == str(log_event["timestamp"])
        assert record["execution_arn"] == execution and record["redrive_count"] == "0"
        assert record["details"] == _details(event)
    assert records[0]["details"]["input"] == '{"x": 1}'
    [stream] = logs.describe_log_streams(logGroupName=GROUP)["logStreams"]
    assert STREAM.fullmatch(stream["logStreamName"])
    assert {event["logStreamName"] for event in logged} == {stream["logStreamName"]}


def test_without_execution_data_the_details_keep_everything_but_input_and_output(aws):
    sfn, logs = aws
    execution = _run_to_the_end(
        sfn, _state_machine(sfn, PASS, logging_configuration(include_execution_data=False))
    )

    records = [json.loads(event["message"]) for event in _logged(logs)]
    details = {record["type"]: record["details"] for record in records}
    assert details["ExecutionStarted"] == {"roleArn": ROLE_ARN}
    assert details["PassStateEntered"] == {"name": "Pass"}
    assert details["ExecutionSucceeded"] == {}
    assert all(record["execution_arn"] == execution for record in records)
    assert "input" not in json.dumps(records) and "output" not in json.dumps(records)


@pytest.mark.parametrize(
    ("level", "logged_types"),
    [
        ("ERROR", ["FailStateEntered", "ExecutionFailed"]),
        ("FATAL", ["ExecutionFailed"]),
    ],
)
def test_error_and_fatal_log_only_their_event_types(aws, level, logged_types):
    sfn, logs = aws
    execution = _run_to_the_end(sfn, _state_machine(sfn, FAIL, logging_configuration(level)))

    assert sfn.describe_execution(executionArn=execution)["status"] == "FAILED"
    records = [json.loads(event["message"]) for event in _logged(logs)]
    assert [record["type"] for record in records] == logged_types
    assert records[-1]["details"] == {"error": "Boom", "cause": "on purpose"}


def test_executions_of_one_machine_go_to_its_stream_of_the_hour_one_after_another(aws):
    sfn, logs = aws
    machine = _state_machine(sfn, PASS, logging_configuration())
    executions = [_run_to_the_end(sfn, machine, json.dumps({"n": n})) for n in range(2)]

    records = [json.loads(event["message"]) for event in _logged(logs)]
    arns = [record["execution_arn"] for record in records]
    assert arns == sorted(arns, key=executions.index) and set(arns) == set(executions)
    assert len(logs.describe_log_streams(logGroupName=GROUP)["logStreams"]) == 1


def test_a_machine_without_logging_configuration_writes_nothing(aws):
    sfn, logs = aws
    for name, configuration in (("unconfigured", None), ("off", {"level": "OFF"})):
        execution = _run_to_the_end(sfn, _state_machine(sfn, PASS, configuration, name))
        assert sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
    assert logs.describe_log_streams(logGroupName=GROUP)["logStreams"] == []
    assert _logged(logs) == []


def test_a_missing_log_group_loses_the_events_not_the_executions_and_is_named_once(aws, caplog):
    sfn, _ = aws
    missing = f"/aws/vendedlogs/states/never-created-{uuid.uuid4().hex}"  # not warned about before
    configuration = logging_configuration()
    configuration["destinations"][0]["cloudWatchLogsLogGroup"]["logGroupArn"] = GROUP_ARN.replace(
        GROUP, missing
    )
    machine = _state_machine(sfn, PASS, configuration, name="unlogged")

    with caplog.at_level(logging.WARNING, logger=moto_patches.__name__):
        executions = [_run_to_the_end(sfn, machine, json.dumps({"n": n})) for n in range(2)]
    assert [sfn.describe_execution(executionArn=e)["status"] for e in executions] == ["SUCCEEDED"] * 2
    warned = f"log group {missing} does not exist: the events of unlogged's executions are not logged"
    assert caplog.messages.count(warned) == 1


# -- the rendering, on its own --------------------------------------------------------------


def test_the_destination_is_read_from_the_logging_configuration_as_create_state_machine_takes_it():
    assert log_destination(logging_configuration("ERROR", False)) == LogDestination(
        ACCOUNT, REGION, GROUP, "ERROR", include_execution_data=False
    )
    without_star = logging_configuration()
    without_star["destinations"][0]["cloudWatchLogsLogGroup"]["logGroupArn"] = GROUP_ARN.removesuffix(":*")
    assert log_destination(without_star).log_group_name == GROUP
    assert log_destination({"level": "ALL", "destinations": [{}]}) is None
    assert log_destination({"level": "ALL"}) is None
    assert log_destination({"level": "OFF"}) is None  # moto's stored default
    assert log_destination(None) is None
    assert log_destination(logging_configuration("OFF")) is None
    assert (
        log_destination({**logging_configuration(), "includeExecutionData": None}).include_execution_data
        is False
    )


def test_a_history_event_without_details_is_logged_with_empty_details():
    event = {
        "id": 4,
        "previousEventId": 3,
        "type": "WaitStateExited",
        "timestamp": "2026-01-02T03:04:05.678Z",
    }
    record = log_record(event, "arn:x", include_execution_data=True)
    assert record["details"] == {} and record["event_timestamp"] == "1767323045678"
    assert (
        epoch_milliseconds(datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.UTC))
        == 1767323045678
    )


def test_events_are_put_in_time_order_and_their_messages_keep_their_own_times():
    """PutLogEvents refuses a call whose events go back in time."""
    history = [
        {"id": 1, "previousEventId": 0, "type": "ExecutionStarted", "timestamp": "2026-01-01T00:00:00.500Z"},
        {"id": 2, "previousEventId": 1, "type": "PassStateEntered", "timestamp": "2026-01-01T00:00:00.400Z"},
    ]
    destination = LogDestination(ACCOUNT, REGION, GROUP, "ALL", include_execution_data=True)
    events = execution_log_events(history, "arn:x", destination)
    assert [event["timestamp"] for event in events] == [1767225600500] * 2
    assert json.loads(events[1]["message"])["event_timestamp"] == "1767225600400"


def test_each_machine_writes_to_a_new_stream_each_hour():
    ids = iter(["0000000a", "0000000b", "0000000c"])
    streams = LogStreamNames(draw_id=lambda: next(ids))
    at = datetime.datetime(2026, 1, 2, 3, 59, tzinfo=datetime.UTC)
    assert streams.name_for("m", at) == "states/m/2026-01-02-03/0000000a"
    assert streams.name_for("m", at + datetime.timedelta(seconds=30)) == "states/m/2026-01-02-03/0000000a"
    assert streams.name_for("other", at) == "states/other/2026-01-02-03/0000000b"
    assert streams.name_for("m", at + datetime.timedelta(minutes=1)) == "states/m/2026-01-02-04/0000000c"
