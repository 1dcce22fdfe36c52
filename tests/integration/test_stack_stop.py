"""Nothing outlives its stack, whatever is queued: a stack closed (or killed) while its endpoint
holds a long queue of InvokeEndpoint calls leaves none of its processes alive within the stop
bound, and the queued callers get a connection error, as callers of a terminated instance do."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_stack.errors import LocalStackError
from local_stack.processes.child_server import STOP_SECONDS
from local_stack.processes.endpoint_server import EndpointSettings, start_endpoint_server
from local_stack.processes.stack_process import StackProcess, start_stack_process
from local_stack.settings import DEFAULT_ENDPOINT_NAME, EVENTS_DIR, REGION, SAMPLES_DIR
from training_job.local_model import MODEL_PATH

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PHOTO = sorted(SAMPLES_DIR.glob("*.png"))[0].read_bytes()
CALLS = 40  # on 1 instance of 2 workers at 2 s a call: the last would be answered after ~40 s
# ``up`` closes its children one after the other (execution environments, the endpoint, S3),
# each within its bound; before the fix the endpoint alone took the 30 s ``up`` was given, and
# it and S3 were left running (parent 1) when ``up`` was killed at that deadline
STACK_CLOSED_WITHIN = 20.0
# a child whose parent died: noticed at once (stdin) or within a second (a worker mid-invocation)
ORPHANS_GONE_WITHIN = STOP_SECONDS + 3.0


def _alive(pid: int) -> bool:
    """Still a process (a zombie runs nothing: it only waits for its parent to reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@dataclass
class _FullQueue:
    stack: StackProcess | None
    parts: list[tuple[str, int]]  # ``up`` and each of its children, as (part, pid)
    calls: int = CALLS
    callers: list[threading.Thread] = field(default_factory=list)
    outcomes: list[BaseException | str] = field(default_factory=list)

    def start_callers(self, endpoint_url: str) -> None:
        """``calls`` InvokeEndpoint calls at once, each in a thread, without retries."""
        runtime = boto3.client(
            "sagemaker-runtime",
            region_name=REGION,
            endpoint_url=endpoint_url,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(
                retries={"mode": "standard", "total_max_attempts": 1},
                read_timeout=120,
                max_pool_connections=self.calls,
            ),
        )
        self.callers = [
            threading.Thread(target=self.call, args=(runtime,), daemon=True) for _ in range(self.calls)
        ]
        for caller in self.callers:
            caller.start()

    def call(self, runtime) -> None:
        try:
            runtime.invoke_endpoint(EndpointName=DEFAULT_ENDPOINT_NAME, ContentType="image/png", Body=PHOTO)
            self.outcomes.append("answered")
        except BaseException as error:
            self.outcomes.append(error)

    def assert_queued_callers_were_dropped(self) -> None:
        for caller in self.callers:
            caller.join(timeout=30)  # they end on the dropped connections, at once
        assert len(self.outcomes) == self.calls
        dropped = [outcome for outcome in self.outcomes if outcome != "answered"]
        assert dropped, "every queued call was answered: the stack waited for its queue"
        # a connection error (botocore's ConnectionClosedError, EndpointConnectionError...),
        # never an error answer the endpoint made up
        assert not [error for error in dropped if isinstance(error, ClientError)], dropped


@contextmanager
def _stack_with_a_full_endpoint_queue(bucket: str) -> Iterator[_FullQueue]:
    options = ["--bucket", bucket, "--execution-environments", "2"]
    options += ["--endpoint-service-ms", "2000", "--endpoint-instances", "1"]
    stack = start_stack_process(options)
    try:
        parts = stack.processes()
        assert {part for part, _ in parts} >= {"moto + interpreter", "endpoint", "S3"}, parts
        queue = _FullQueue(stack, parts)
        queue.start_callers(stack.environment["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"])
        # and one execution, whose ClassifyImage waits in that queue in an execution environment
        stack.client("stepfunctions").start_execution(
            stateMachineArn=stack.state_machine_arn, input=(EVENTS_DIR / "classify_image.json").read_text()
        )
        time.sleep(3.0)  # all sent; the first two answered, the rest queued
        yield queue
    finally:
        stack.close()


def test_closing_a_stack_with_a_full_endpoint_queue_leaves_no_process_behind():
    with _stack_with_a_full_endpoint_queue("scones-stop") as queue:
        started = time.monotonic()
        queue.stack.close()  # SIGTERM to ``up``, SIGKILL past its bound, as bench does
        took = time.monotonic() - started
    left = [(part, pid) for part, pid in queue.parts if _alive(pid)]
    assert not left, f"alive after close returned ({took:.1f} s): {left}"
    assert took < STACK_CLOSED_WITHIN, f"close took {took:.1f} s"
    queue.assert_queued_callers_were_dropped()


def test_a_stack_whose_process_is_killed_leaves_no_process_behind():
    with _stack_with_a_full_endpoint_queue("scones-stop-killed") as queue:
        children = [(part, pid) for part, pid in queue.parts if pid != queue.stack.process.pid]
        queue.stack.process.kill()  # ``up`` gets no chance to close anything: its children see it
        killed = time.monotonic()
        queue.stack.process.wait()
        while any(_alive(pid) for _, pid in children) and time.monotonic() - killed < 60:
            time.sleep(0.1)
        took = time.monotonic() - killed
    left = [(part, pid) for part, pid in children if _alive(pid)]
    assert not left, f"alive {took:.1f} s after the stack's process was killed: {left}"
    assert took < ORPHANS_GONE_WITHIN, f"its children took {took:.1f} s to end"
    queue.assert_queued_callers_were_dropped()


def test_an_endpoint_process_stops_on_sigterm_within_its_bound_dropping_its_queue(capfd):
    """SIGTERM straight to the endpoint's process, its S3 already gone: the queued callers get
    a connection error, the one answered call's capture record is dropped with one line, and
    the process is gone within the bound by its own clean stop (not its watchdog)."""
    settings = EndpointSettings(
        DEFAULT_ENDPOINT_NAME,
        MODEL_PATH,
        "http://127.0.0.1:9",  # the discard port: no S3 answers
        "nowhere",
        "data-capture",
        capacity={"workers_per_instance": 1, "service_seconds": 2.0},
    )
    endpoint = start_endpoint_server(settings)
    try:
        queue = _FullQueue(None, [], calls=10)
        queue.start_callers(endpoint.url)
        time.sleep(2.8)  # the first answered at ~2 s, its record buffered; the rest queued
        endpoint.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        code = endpoint.process.wait(timeout=60)
        took = time.monotonic() - signalled
    finally:
        with contextlib.suppress(LocalStackError):
            endpoint.close()
    assert took < STOP_SECONDS, f"it took {took:.1f} s"
    assert code == 1, code  # the capture it could not write (EXIT_STOP_OVERRAN: the watchdog)
    queue.assert_queued_callers_were_dropped()
    assert queue.outcomes.count("answered") == 1, queue.outcomes
    dropped_lines = [line for line in capfd.readouterr().err.splitlines() if "are dropped" in line]
    assert len(dropped_lines) == 1, dropped_lines
    assert "1 capture records could not be written" in dropped_lines[0]
