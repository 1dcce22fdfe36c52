"""``python -m local_stack bench --chaos``: does every execution end, and end named, when the
stack's processes die under load? ``up`` runs in a child process; during a run (300 executions
at concurrency 16 by default) this kills (SIGKILL) an execution environment once a quarter of
the executions have started, the endpoint at half and S3 at three quarters: fixed points, so
two runs compare. Then it prints what ended how, what the endpoint captured, and how long each
process took to come back.

Every failed execution is counted under its error name; a name that no ``Fail`` state of the
deployed state machine gives (``States.TaskFailed``, a botocore error, ...) is marked unnamed,
never left out. "Lost" counts executions that were started and then not found, and "still
running" those not ended when the run's wait ended: both must be 0.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from itertools import cycle, islice
from typing import Any

from botocore.config import Config

from local_stack.client import images
from local_stack.client.executions import run_executions
from local_stack.client.results import ExecutionResult
from local_stack.errors import LocalStackError
from local_stack.processes.endpoint_server import CAPTURE_FLUSH_SECONDS
from local_stack.processes.stack_process import StackProcess, start_stack_process
from local_stack.settings import CAPTURE_PREFIX, SAMPLES_DIR, SAMPLES_LST

DEFAULT_EXECUTIONS = 300
LOST = "LOST"  # the status this run gives an execution that DescribeExecution no longer finds
_RECOVERY_DEADLINE_SECONDS = 60
_ANSWERED = {None, "ThresholdConfidenceNotMet"}  # executions the endpoint answered


@dataclass(frozen=True)
class Kill:
    """Kill the ``name`` process (``python -m module``) once ``share`` of the executions started."""

    name: str
    module: str
    share: float


KILLS = (
    Kill("execution environment", "local_stack.processes.execution_environments", 0.25),
    Kill("endpoint", "local_stack.processes.endpoint_server", 0.50),
    Kill("S3", "local_stack.processes.s3_server", 0.75),
)


@dataclass
class Recovery:
    """One kill and the replacement that followed it (``seconds`` None: not back in time)."""

    kill: Kill
    killed_pid: int | None
    new_pid: int | None = None
    seconds: float | None = None

    def describe(self) -> str:
        if self.killed_pid is None:
            return f"{self.kill.name}: no process to kill"
        if self.seconds is None:
            return f"{self.kill.name}: NOT back within {_RECOVERY_DEADLINE_SECONDS} s (pid {self.killed_pid})"
        return f"{self.kill.name} {self.seconds:.1f} s (pid {self.killed_pid} -> {self.new_pid})"


class _ChaosClient:
    """The Step Functions client the run drives, with the kills at fixed starts: the n-th
    ``start_execution`` fires what ``at[n]`` holds, once it has answered. An execution that
    DescribeExecution no longer finds is answered with status ``LOST``, so that it is counted
    instead of ending the run."""

    def __init__(self, sfn: Any, at: dict[int, Any]) -> None:
        self._sfn, self._at = sfn, at
        self._lock = threading.Lock()
        self.started = 0

    def start_execution(self, **parameters: Any) -> dict:
        answer = self._sfn.start_execution(**parameters)
        with self._lock:
            self.started += 1
            fire = self._at.pop(self.started, None)
        if fire is not None:
            fire()
        return answer

    def describe_execution(self, **parameters: Any) -> dict:
        try:
            return self._sfn.describe_execution(**parameters)
        except self._sfn.exceptions.ExecutionDoesNotExist:
            return {"executionArn": parameters["executionArn"], "status": LOST}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sfn, name)


def run_chaos(executions: int, concurrency: int, execution_environments: int) -> int:
    samples, _ = images.find_images(SAMPLES_DIR, SAMPLES_LST)
    photos = [image for image in samples if image.path.suffix == ".png"]
    to_run = list(islice(cycle(photos), executions))
    options = ["--bucket", "scones-chaos", "--execution-environments", str(execution_environments)]
    with start_stack_process(options) as stack:
        keys = images.upload_images(stack.client("s3"), stack.bucket, photos)
        sfn = stack.client("stepfunctions")
        run_executions(sfn, stack.state_machine_arn, stack.bucket, photos[:4], keys, 4)  # warm up
        recoveries: list[Recovery] = []
        threads: list[threading.Thread] = []
        at = {
            max(1, round(kill.share * executions)): _killer(stack, kill, recoveries, threads)
            for kill in KILLS
        }
        client = _ChaosClient(sfn, at)
        ran, wall = run_executions(client, stack.state_machine_arn, stack.bucket, to_run, keys, concurrency)
        for thread in threads:
            thread.join()
        time.sleep(2 * CAPTURE_FLUSH_SECONDS + 1)  # the endpoint writes what it holds
        captured = _capture_records(stack)
        named = _named_errors(sfn, stack.state_machine_arn)
    problems = _print_report(executions, concurrency, client.started, ran, wall, named, captured, recoveries)
    if problems:
        raise LocalStackError(f"chaos: {problems}")
    return 0


def _killer(stack: StackProcess, kill: Kill, recoveries: list[Recovery], threads: list[threading.Thread]):
    """What the n-th start fires: SIGKILL the first ``kill.module`` process, then time its
    replacement in a thread of its own."""

    def fire() -> None:
        before = stack.child_pids(kill.module)
        recovery = Recovery(kill, before[0] if before else None)
        recoveries.append(recovery)
        if recovery.killed_pid is None:
            return
        killed_at = time.monotonic()
        os.kill(recovery.killed_pid, signal.SIGKILL)
        thread = threading.Thread(target=_time_recovery, args=(stack, recovery, set(before), killed_at))
        thread.start()
        threads.append(thread)

    return fire


def _time_recovery(stack: StackProcess, recovery: Recovery, before: set[int], killed_at: float) -> None:
    """Seconds from the kill until a new process has taken the killed one's place and (S3, the
    endpoint) answers a call on the old URL; an execution environment is back when its
    replacement has started (the pool starts it on the slot's next invocation)."""
    deadline = killed_at + _RECOVERY_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        new = [pid for pid in stack.child_pids(recovery.kill.module) if pid not in before]
        if new and _answers(stack, recovery.kill):
            recovery.new_pid, recovery.seconds = new[0], time.monotonic() - killed_at
            return
        time.sleep(0.05)


def _answers(stack: StackProcess, kill: Kill) -> bool:
    try:
        if kill.name == "S3":
            config = Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=10)
            stack.client("s3", config=config).head_bucket(Bucket=stack.bucket)
        elif kill.name == "endpoint":
            url = stack.environment["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"]
            urllib.request.urlopen(f"{url}/ping", timeout=10).close()
    except Exception:  # not back yet: whatever the failure, the next round asks again
        return False
    return True


def _capture_records(stack: StackProcess) -> int:
    s3 = stack.client("s3")
    return sum(
        len(s3.get_object(Bucket=stack.bucket, Key=item["Key"])["Body"].read().splitlines())
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=stack.bucket, Prefix=f"{CAPTURE_PREFIX}/"
        )
        for item in page.get("Contents", [])
    )


def _named_errors(sfn: Any, state_machine_arn: str) -> set[str]:
    """The ``Error`` of every ``Fail`` state of the deployed definition: the project's names."""
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=state_machine_arn)["definition"])
    return {
        state["Error"] for state in _states(definition) if state.get("Type") == "Fail" and "Error" in state
    }


def _states(machine: dict):
    """Every state, those of Parallel branches and Map iterators included."""
    for state in machine.get("States", {}).values():
        yield state
        for branch in state.get("Branches", []):
            yield from _states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _states(state[key])


def _print_report(
    executions: int,
    concurrency: int,
    started: int,
    ran: list[ExecutionResult],
    wall: float,
    named: set[str],
    captured: int,
    recoveries: list[Recovery],
) -> str:
    """Print the figures; what went wrong, in words ('' if nothing did)."""
    statuses = Counter(result.status for result in ran)
    failed = Counter(r.error for r in ran if r.status not in ("SUCCEEDED", "RUNNING", LOST))
    answered = sum(result.error in _ANSWERED and result.status != LOST for result in ran)
    kills = ", ".join(f"{kill.name} after {max(1, round(kill.share * executions))}" for kill in KILLS)
    by_name = ", ".join(
        f"{name} {count}" + ("" if name in named else " (unnamed)") for name, count in failed.most_common()
    )
    print(f"chaos: {executions} executions at concurrency {concurrency}; SIGKILL, once each: {kills} started")
    print(
        f"started {started}, succeeded {statuses['SUCCEEDED']}, failed {sum(failed.values())} "
        f"({by_name or 'none'}), still running {statuses['RUNNING']}, lost {statuses[LOST]} "
        f"({len(ran) / wall:.1f} executions/s)"
    )
    print(
        f"capture: {captured} records for {answered} answered executions ({captured - answered:+d}: "
        "records the killed endpoint had not written yet, or answers captured twice by a retry)"
    )
    print("recovery: " + ", ".join(recovery.describe() for recovery in recoveries))
    problems = []
    if statuses[LOST] or statuses["RUNNING"] or started != executions:
        problems.append(f"{statuses[LOST]} lost, {statuses['RUNNING']} still running, {started} started")
    problems += [r.describe() for r in recoveries if r.seconds is None]
    return "; ".join(problems)
