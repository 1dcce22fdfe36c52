"""The in-process Lambda bridge runs handlers as Lambda would: one invocation at a time."""

from __future__ import annotations

import io
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
from moto import mock_aws

from local_stack.aws import lambda_runtime
from local_stack.aws.function_logs import FunctionLog, FunctionOutput
from tests.conftest import load_event


def test_concurrent_invocations_do_not_share_powertools_state(functions):
    """Powertools' metric set is class-level: two handlers at once used to flush each other's
    metrics and fail with SchemaValidationError. Sixteen threads, two events, no failure."""
    handler = functions["FilterInferences"].app.lambda_handler
    events = [load_event("filter_inferences.json"), load_event("filter_inferences_low_confidence.json")]
    start = threading.Barrier(16)

    def call(number: int) -> tuple[str, bool]:
        if number < 16:
            start.wait()
        return lambda_runtime.invoke("FilterInferences", handler, events[number % 2])

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the race needs a switch mid-flush
    try:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(call, range(3000)))
    finally:
        sys.setswitchinterval(switch_interval)

    errors = {json.loads(text)["errorType"] for text, errored in results if errored}
    assert errors == {"ThresholdConfidenceNotMet"}  # the low-confidence event's own error, nothing else
    assert sum(not errored for _, errored in results) == 1500


def test_a_result_that_is_not_json_is_the_runtimes_marshal_error():
    text, errored = lambda_runtime.invoke("f", lambda event, context: {"when": object()}, {}, "request-1")
    assert errored is True
    error = json.loads(text)
    assert error["errorType"] == "Runtime.MarshalError"
    assert error["errorMessage"].startswith("Unable to marshal response: Object of type object")
    assert error["requestId"] == "request-1"


def test_the_context_carries_the_request_id():
    text, _ = lambda_runtime.invoke("f", lambda event, context: context.aws_request_id, {}, "request-2")
    assert json.loads(text) == "request-2"


class RecordingSender:
    """A ``LogSender`` that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def put(self, group: str, stream: str, message: str, timestamp_ms: int | None = None) -> None:
        self.events.append((group, stream, message))


def test_with_a_log_an_invocation_is_logged_as_lambda_logs_it(monkeypatch):
    sender = RecordingSender()
    log = FunctionLog(
        sender, "/aws/lambda/g", "2026/01/02/[$LATEST]" + "a" * 32, memory_size_mb=512, init_ms=120
    )
    monkeypatch.setattr(sys, "stdout", FunctionOutput(io.StringIO(), None))  # as the stack's process has it

    def handler(event, context):
        print("one", "line")
        print("no newline", end="")
        return [context.log_group_name, context.log_stream_name, context.memory_limit_in_mb]

    text, _ = lambda_runtime.invoke("f", handler, {}, "r-1", log)
    _, errored = lambda_runtime.invoke("f", lambda event, context: 1 / 0, {}, "r-2", log)

    assert json.loads(text) == [log.group, log.stream, 512]
    assert {(group, stream) for group, stream, _ in sender.events} == {(log.group, log.stream)}
    first, second = [message for *_, message in sender.events[:5]], [m for *_, m in sender.events[5:]]
    assert first[:4] == [
        "START RequestId: r-1 Version: $LATEST",
        "one line",
        "no newline",
        "END RequestId: r-1",
    ]
    assert first[4].startswith("REPORT RequestId: r-1\tDuration: ")
    assert first[4].endswith("\tInit Duration: 120.00 ms")  # last, as Lambda writes it
    assert "\tMemory Size: 512 MB\tMax Memory Used: " in first[4]
    assert errored and second[0] == "START RequestId: r-2 Version: $LATEST"
    assert second[1].startswith(
        "[ERROR] ZeroDivisionError: division by zero\nTraceback (most recent call last):\n"
    )
    assert second[2:3] == ["END RequestId: r-2"] and len(second) == 4
    assert second[3].startswith("REPORT RequestId: r-2\tDuration: ")  # warm: no Init Duration


def test_a_function_registered_with_a_log_group_logs_there_sent_when_unregistered():
    with mock_aws():
        boto3.client("logs").create_log_group(logGroupName="/aws/lambda/s/F")  # the stack's
        lambda_runtime.register(
            "f", lambda event, context: event, log_group="/aws/lambda/s/F", memory_size_mb=256
        )
        assert lambda_runtime.invoker_for("f")({"n": 1}) == ('{"n": 1}', False)
        lambda_runtime.unregister_all()  # sends what was logged

        logs = boto3.client("logs")
        (stream,) = logs.describe_log_streams(logGroupName="/aws/lambda/s/F")["logStreams"]
        events = logs.get_log_events(
            logGroupName="/aws/lambda/s/F", logStreamName=stream["logStreamName"], startFromHead=True
        )["events"]
    assert [event["message"].split(" ")[0] for event in events] == ["START", "END", "REPORT"]
