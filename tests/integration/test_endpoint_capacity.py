"""The local endpoint's capacity through real clients: boto3 over HTTP against a queueing
endpoint, and the one-photo workflow of ``up`` retrying through a cold start that outlasts
ClassifyImage's read timeout."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError

from local_stack.aws.endpoint_capacity import EndpointCapacity
from local_stack.aws.sagemaker_endpoint import LocalEndpoint
from local_stack.processes.stack_process import start_stack_process
from local_stack.settings import EVENTS_DIR, SAMPLES_DIR
from scones_core.wsgi_server import serve

pytestmark = pytest.mark.integration

PHOTO = sorted(SAMPLES_DIR.glob("*.png"))[0].read_bytes()
ENDED_WITHIN = 120.0  # seconds; the executions below end within ~10 s


def _runtime(url: str, read_timeout: float = 30) -> object:
    return boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=read_timeout),
    )


def _invoke(client) -> float:
    started = time.monotonic()
    client.invoke_endpoint(EndpointName="e", ContentType="image/png", Body=PHOTO)["Body"].read()
    return time.monotonic() - started


def _answered_at(client, started: float) -> float:
    _invoke(client)
    return time.monotonic() - started


def test_n_simultaneous_requests_finish_in_turns_of_the_workers():
    capacity = EndpointCapacity(workers_per_instance=2, service_seconds=0.4)
    with serve(LocalEndpoint("e", capacity=capacity), threads=16) as server:
        client = _runtime(server.url)
        _invoke(client)  # the model loads; the workers are free again 0.4 s later
        time.sleep(0.5)
        started = time.monotonic()
        with ThreadPoolExecutor(6) as pool:  # each answer's time since the six were sent
            took = sorted(pool.map(lambda _: _answered_at(client, started), range(6)))
    # the k-th finishes near ceil(k/2) * 0.4 s: 0.4, 0.4, 0.8, 0.8, 1.2, 1.2 (HTTP adds a little)
    for k, seconds in enumerate(took, start=1):
        expected = -(-k // 2) * 0.4
        assert expected - 0.05 <= seconds <= expected + 0.35, (k, took)


def test_a_request_waiting_past_the_callers_read_timeout_fails_as_botocore_sees_it():
    capacity = EndpointCapacity(workers_per_instance=1, service_seconds=1.5)
    with serve(LocalEndpoint("e", capacity=capacity), threads=16) as server:
        _invoke(_runtime(server.url))  # loaded; its worker busy for 1.5 s
        with pytest.raises(ReadTimeoutError):
            _invoke(_runtime(server.url, read_timeout=1))


@pytest.mark.slow  # a stack of its own: a cold-starting endpoint, a 1 s endpoint timeout
def test_the_workflow_retries_through_a_cold_start_longer_than_its_timeout():
    options = ["--endpoint-cold-start-seconds", "2.5", "--endpoint-timeout-seconds", "1"]
    options += ["--threshold", "0.5"]  # this photo's answer is 0.71: the test is about the retries
    with start_stack_process(options) as stack:  # the default bucket: the one the sample event names
        sfn = stack.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=stack.state_machine_arn,
            input=(EVENTS_DIR / "classify_image.json").read_text(),  # `up` put its photo there
        )["executionArn"]
        deadline = time.monotonic() + ENDED_WITHIN
        while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    failures = [event["taskFailedEventDetails"]["error"] for event in events if event["type"] == "TaskFailed"]
    assert described["status"] == "SUCCEEDED", described
    assert failures and set(failures) == {"EndpointUnavailable"}  # timed out, retried, answered
