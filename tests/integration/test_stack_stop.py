"""Nothing outlives its stack, whatever is queued: a stack closed while its endpoint holds a long
queue of InvokeEndpoint calls stops every one of its processes within the stop bound, and the
queued callers get a connection error, as callers of a terminated instance do."""

from __future__ import annotations

import os
import threading
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_stack.processes.stack_process import start_stack_process
from local_stack.settings import DEFAULT_ENDPOINT_NAME, SAMPLES_DIR

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PHOTO = sorted(SAMPLES_DIR.glob("*.png"))[0].read_bytes()
CALLS = 40  # on 1 instance of 2 workers at 2 s a call: the last would be answered after ~40 s
# ``up`` closes its children one after the other (execution environments, the endpoint, S3),
# each within its bound; before the fix, the endpoint alone took the 30 s ``up`` was given
STACK_CLOSED_WITHIN = 20.0


def _alive(pid: int) -> bool:
    """Still a process (not a zombie: a reaped or exited child no longer runs anything)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_closing_a_stack_with_a_full_endpoint_queue_leaves_no_process_behind():
    options = ["--bucket", "scones-stop", "--execution-environments", "2"]
    options += ["--endpoint-service-ms", "2000", "--endpoint-instances", "1"]
    stack = start_stack_process(options)
    try:
        parts = stack.processes()
        assert {part for part, _ in parts} >= {"moto + interpreter", "endpoint", "S3"}, parts
        runtime = boto3.client(
            "sagemaker-runtime",
            region_name=stack.environment["AWS_DEFAULT_REGION"],
            endpoint_url=stack.environment["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(
                retries={"mode": "standard", "total_max_attempts": 1},
                read_timeout=120,
                max_pool_connections=CALLS,
            ),
        )
        outcomes: list[BaseException | str] = []

        def call() -> None:
            try:
                runtime.invoke_endpoint(
                    EndpointName=DEFAULT_ENDPOINT_NAME, ContentType="image/png", Body=PHOTO
                )
                outcomes.append("answered")
            except BaseException as error:
                outcomes.append(error)

        callers = [threading.Thread(target=call, daemon=True) for _ in range(CALLS)]
        for caller in callers:
            caller.start()
        time.sleep(3.0)  # all sent; the first two answered, the rest queued
    finally:
        started = time.monotonic()
        stack.close()
        took = time.monotonic() - started
    left = [(part, pid) for part, pid in parts if _alive(pid)]
    assert not left, f"alive after close returned ({took:.1f} s): {left}"
    assert took < STACK_CLOSED_WITHIN, f"close took {took:.1f} s"
    for caller in callers:
        caller.join(timeout=30)  # they end on the dropped connections, at once
    assert len(outcomes) == CALLS
    dropped = [outcome for outcome in outcomes if outcome != "answered"]
    assert dropped, "every queued call was answered: the stack waited for its queue"
    # a connection error (botocore's ConnectionClosedError, EndpointConnectionError...), never
    # an error answer the endpoint made up
    assert not [error for error in dropped if isinstance(error, ClientError)], dropped
    assert os.getpid() not in {pid for _, pid in parts}
