"""Function logs where AWS keeps them: each execution environment sends its functions' lines to
CloudWatch Logs (moto's, served here on a loopback port: the workers are processes of their
own) under the function's log group, one stream per environment named as Lambda names it,
between Lambda's START, END and REPORT."""

from __future__ import annotations

import datetime
import json
import re

import boto3
import pytest
from werkzeug.test import Client

from local_stack.aws.moto_patches import moto_app
from local_stack.aws.template import make_resolver
from local_stack.processes.execution_environments import ExecutionEnvironments, FunctionSpec
from scones_core.wsgi_server import serve
from tests.conftest import load_event

pytestmark = pytest.mark.integration

GROUP = "/aws/lambda/test-stack/FilterInferences"
STREAM_NAME = re.compile(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}")


@pytest.fixture
def cloudwatch_logs(monkeypatch):
    """moto's CloudWatch Logs on a loopback port, empty; the workers find it as the stack's
    find theirs, through ``AWS_ENDPOINT_URL``."""
    app = moto_app()
    Client(app).post("/moto-api/reset")
    with serve(app, port=0, name="moto-logs") as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        logs = boto3.client("logs", endpoint_url=server.url)
        logs.create_log_group(logGroupName=GROUP)  # the stack's; the environments make streams only
        yield logs
    Client(app).post("/moto-api/reset")


@pytest.fixture
def filter_spec(template) -> FunctionSpec:
    resolve = make_resolver({**template.parameter_defaults(), "EndpointName": "e"}, {}, {})
    return FunctionSpec(
        template.function_code_dir("FilterInferencesFunction"),
        template.function_environment("FilterInferencesFunction", resolve),
        template.function_timeout("FilterInferencesFunction"),
        log_group=GROUP,
        memory_size_mb=256,
    )


def with_execution_id(event: dict, execution_id: str) -> dict:
    """As the state machine passes it: the functions log with the execution's id."""
    return {**event, "execution": {"id": execution_id}}


def test_an_environment_logs_each_invocation_to_its_functions_group_as_lambda_does(
    cloudwatch_logs, filter_spec
):
    events = [
        with_execution_id(load_event("filter_inferences_low_confidence.json"), "execution-1"),
        with_execution_id(load_event("filter_inferences.json"), "execution-2"),
    ]
    before = f"{datetime.datetime.now(datetime.UTC):%Y/%m/%d}/"
    with ExecutionEnvironments({"filter": filter_spec}, size=1) as environments:
        answers = [environments.invoke("filter", event) for event in events]
    after = f"{datetime.datetime.now(datetime.UTC):%Y/%m/%d}/"
    assert [errored for _, errored in answers] == [True, False]

    (stream,) = cloudwatch_logs.describe_log_streams(logGroupName=GROUP)["logStreams"]
    assert STREAM_NAME.fullmatch(stream["logStreamName"])
    assert stream["logStreamName"].startswith((before, after))  # the day it started, in UTC
    logged = cloudwatch_logs.get_log_events(
        logGroupName=GROUP, logStreamName=stream["logStreamName"], startFromHead=True
    )["events"]
    assert [e["timestamp"] for e in logged] == sorted(e["timestamp"] for e in logged)
    first, second = invocations([e["message"] for e in logged])

    # the refused one: the handler's JSON line with its correlation id, its EMF metrics, the error
    request_id = first[0].removeprefix("START RequestId: ").removesuffix(" Version: $LATEST")
    assert first[0] == f"START RequestId: {request_id} Version: $LATEST"
    lines = [json.loads(line) for line in first[1:-3]]
    refusal = next(line for line in lines if line.get("message") == "confidence below threshold")
    assert refusal["correlation_id"] == "execution-1" and refusal["level"] == "INFO"
    assert any("ThresholdConfidenceNotMet" in str(line.get("_aws")) for line in lines)  # EMF
    assert first[-3].startswith("[ERROR] ThresholdConfidenceNotMet: ")
    assert first[-2] == f"END RequestId: {request_id}"
    fields = report_fields(first[-1])
    assert fields[0] == f"REPORT RequestId: {request_id}" and fields[-1] == "Init Duration"  # Lambda's order
    assert "Memory Size: 256 MB" in first[-1].split("\t")

    # the passing one: warm (no Init Duration), a request id of its own
    second_id = second[0].split()[2]
    assert second_id != request_id
    assert any('"ConfidentInferences"' in line for line in second[1:-2])
    assert second[-2:-1] == [f"END RequestId: {second_id}"]
    assert report_fields(second[-1]) == [
        f"REPORT RequestId: {second_id}",
        "Duration",
        "Billed Duration",
        "Memory Size",
        "Max Memory Used",
    ]

    reports = cloudwatch_logs.filter_log_events(logGroupName=GROUP, filterPattern='"REPORT"')["events"]
    assert len(reports) == 2


def invocations(messages: list[str]) -> list[list[str]]:
    """The stream's lines cut into invocations, each from its START to its REPORT."""
    cut: list[list[str]] = []
    for message in messages:
        if message.startswith("START "):
            cut.append([])
        cut[-1].append(message)
    assert all(lines[-1].startswith("REPORT ") for lines in cut), cut
    return cut


def report_fields(line: str) -> list[str]:
    """A REPORT line's field names (and its head, whole)."""
    head, *fields = line.split("\t")
    return [head, *(field.split(":")[0] for field in fields)]


def test_a_function_without_a_log_group_sends_nothing(cloudwatch_logs, filter_spec, tmp_path):
    log = tmp_path / "functions.log"
    spec = FunctionSpec(filter_spec.code_dir, filter_spec.environment, filter_spec.timeout_seconds)
    with ExecutionEnvironments({"filter": spec}, size=1, function_log=log) as environments:
        environments.invoke("filter", load_event("filter_inferences.json"))
    assert cloudwatch_logs.describe_log_streams(logGroupName=GROUP)["logStreams"] == []
    assert '"ConfidentInferences"' in log.read_text()  # the function log, as before


def test_the_function_log_still_gets_the_handlers_lines_and_only_those(
    cloudwatch_logs, filter_spec, tmp_path
):
    log = tmp_path / "functions.log"
    with ExecutionEnvironments({"filter": filter_spec}, size=1, function_log=log) as environments:
        environments.invoke("filter", load_event("filter_inferences.json"))
    lines = log.read_text().splitlines()
    assert lines and all(line.startswith("{") for line in lines)  # no START/END/REPORT there
    (stream,) = cloudwatch_logs.describe_log_streams(logGroupName=GROUP)["logStreams"]
    messages = [
        e["message"]
        for e in cloudwatch_logs.get_log_events(
            logGroupName=GROUP, logStreamName=stream["logStreamName"], startFromHead=True
        )["events"]
    ]
    assert messages[1:-2] == lines
