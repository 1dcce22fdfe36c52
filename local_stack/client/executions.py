"""Run one workflow execution per image against a deployed (local or real) stack and wait for
each to end, as a client of Step Functions would."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import boto3

from local_stack.client.images import ImageToRun
from local_stack.client.results import (
    ENDED_BY_LOG_EVENT,
    ExecutionResult,
    execution_from_log_message,
    result_of,
)
from local_stack.errors import LocalStackError

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# how long an execution runs before the waiter asks whether it waits for a person
REVIEW_CHECK_SECONDS = 2.0


def waiting_for_a_person(events: list[dict]) -> bool:
    """Whether an execution's newest event is its wait for a task token (the review task of
    LowConfidenceAction Review): scheduled, started or submitted, not yet answered."""
    if not events:
        return False
    newest = max(events, key=lambda event: event["id"])
    details = next((value for key, value in newest.items() if key.endswith("EventDetails")), {})
    return newest["type"] in ("TaskScheduled", "TaskStarted", "TaskSubmitted") and str(
        details.get("resource", "")
    ).endswith(".waitForTaskToken")


def run_executions(
    sfn: Any,
    state_machine_arn: str,
    bucket: str,
    images: list[ImageToRun],
    keys: dict[str, str],
    concurrency: int,
    logs: Any = None,
) -> tuple[list[ExecutionResult], float]:
    """At most ``concurrency`` executions in flight; returns the results in image order and the
    wall time. ``logs``: the CloudWatch Logs client an Express workflow's ends are read through
    (``watcher_for``)."""
    run_id = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    with (
        watcher_for(sfn, state_machine_arn, logs) as watcher,
        ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool,
    ):

        def run_one(numbered: tuple[int, ImageToRun]) -> ExecutionResult:
            number, image = numbered
            started = time.perf_counter()
            arn = sfn.start_execution(
                stateMachineArn=state_machine_arn,
                name=f"{run_id}-{number:05d}",  # one run's executions, and their logs, found by name
                input=json.dumps({"s3_bucket": bucket, "s3_key": keys[image.path.name]}),
            )["executionArn"]
            return result_of(image, watcher.wait(arn), time.perf_counter() - started)

        results = list(pool.map(run_one, enumerate(images)))
    return results, time.perf_counter() - started


def watcher_for(sfn: Any, state_machine_arn: str, logs: Any = None) -> ExecutionWatcher | LogGroupWatcher:
    """Where a client of AWS reads this state machine's executions' ends: DescribeExecution for
    a Standard one; for an Express one (which DescribeExecution and ListExecutions refuse) its log
    group's ExecutionSucceeded/Failed/TimedOut/Aborted events, through ``logs`` (a CloudWatch
    Logs client; default: one from the environment, as ``sfn`` was made)."""
    machine = sfn.describe_state_machine(stateMachineArn=state_machine_arn)
    if machine.get("type") != "EXPRESS":
        return ExecutionWatcher(sfn, state_machine_arn)
    destinations = (machine.get("loggingConfiguration") or {}).get("destinations") or []
    arn = destinations[0]["cloudWatchLogsLogGroup"]["logGroupArn"] if destinations else ""
    if not arn:
        raise LocalStackError(
            f"{state_machine_arn} is an Express workflow that logs nowhere: its executions' ends "
            "cannot be read (give it a log group at level ALL with execution data)"
        )
    if logs is None:
        logs = boto3.client(
            "logs", region_name=sfn.meta.region_name, endpoint_url=os.environ.get("AWS_ENDPOINT_URL")
        )
    return LogGroupWatcher(logs, arn.split(":", 6)[6].split(":")[0])


# the end events only (a JSON filter pattern, as CloudWatch Logs takes it:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html); each of
# the others carries the execution's data, base64 photo included (moto_patches.express reads the
# pattern as CloudWatch Logs does; the reader still checks each event's type itself)
END_EVENTS_PATTERN = "{ " + " || ".join(f'$.type = "{name}"' for name in ENDED_BY_LOG_EVENT) + " }"
# how far back each read reaches before the newest end it saw: an execution's events are put
# once it has ended, stamped with its history's times, so a later put is never older than this
READ_BACK_MS = 10_000


class LogGroupWatcher:
    """The ends of Express executions, read from their state machine's log group (one thread
    reads the new end events for every waiter, as ``ExecutionWatcher`` lists for them). Each
    read starts a little before the newest end seen, so a long run does not read its whole
    group again every round."""

    def __init__(self, logs: Any, log_group_name: str, interval: float = 0.1, timeout: float = 330.0) -> None:
        self._logs, self._group, self._interval, self._timeout = logs, log_group_name, interval, timeout
        self._ended: dict[str, dict] = {}
        self._read_error: Exception | None = None  # the last read's, while reads fail
        self._since = int(time.time() * 1000) - 60_000  # events a little older than the run: clock skew
        self._changed = threading.Condition()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-group-watcher", daemon=True)
        self._thread.start()

    def wait(self, execution_arn: str) -> dict:
        """The execution's end as its log group records it; at the timeout (Express ends at 5
        minutes, its log events a little later) it is reported RUNNING, as it stands, unless the
        group could not be read (then LocalStackError says why)."""
        deadline = time.monotonic() + self._timeout
        with self._changed:
            while execution_arn not in self._ended:
                left = deadline - time.monotonic()
                if left <= 0 or self._stopped.is_set():
                    if self._read_error is not None:
                        raise LocalStackError(
                            f"the log group {self._group} could not be read: {self._read_error}"
                        )
                    return {"executionArn": execution_arn, "status": "RUNNING"}
                self._changed.wait(min(left, 1.0))
            return self._ended.pop(execution_arn)

    def __enter__(self) -> LogGroupWatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        seen: dict[str, int] = {}  # event id -> its timestamp, for the events the window still holds
        while not self._stopped.wait(self._interval):
            try:
                pages = self._logs.get_paginator("filter_log_events").paginate(
                    logGroupName=self._group, startTime=self._since, filterPattern=END_EVENTS_PATTERN
                )
                events = [event for page in pages for event in page["events"]]
            except Exception as error:  # the group may have no stream yet: read again next round
                self._read_error = error
                continue
            self._read_error = None
            ended = {}
            for event in events:
                if event["eventId"] in seen:
                    continue
                seen[event["eventId"]] = event["timestamp"]
                execution = execution_from_log_message(event["message"])
                if execution is not None:
                    ended[execution["executionArn"]] = execution
            if events:
                self._since = max(self._since, max(event["timestamp"] for event in events) - READ_BACK_MS)
                seen = {event_id: at for event_id, at in seen.items() if at >= self._since}
            if ended:
                with self._changed:
                    self._ended.update(ended)
                    self._changed.notify_all()


class ExecutionWatcher:
    """One thread asks which executions are still RUNNING, instead of every worker polling
    DescribeExecution: the load on the server stays flat as concurrency grows (per-worker polling
    was most of the requests the local stack served). A waiter whose execution has left RUNNING
    describes it itself, so the describes of one round run side by side (one after another in
    the watcher, they held each ended execution's waiter for ~150 ms at 80 executions/s)."""

    def __init__(
        self, sfn: Any, state_machine_arn: str, interval: float = 0.05, timeout: float = 300.0
    ) -> None:
        self._sfn, self._arn, self._interval, self._timeout = sfn, state_machine_arn, interval, timeout
        self._waiting: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="execution-watcher", daemon=True)
        self._thread.start()

    def wait(self, execution_arn: str) -> dict:
        """The execution's DescribeExecution once it has ended, or as it stands at the timeout."""
        deadline = time.monotonic() + self._timeout
        backoff = self._interval
        while True:
            left: Future = Future()
            with self._lock:
                if self._stopped.is_set():
                    raise LocalStackError("the execution watcher is closed")
                self._waiting[execution_arn] = left
            if not self._ended_or_settled(left, execution_arn, deadline):
                # waiting for a person, or still running at the timeout: report it as it stands
                # (status RUNNING) rather than hold the whole run
                with self._lock:
                    self._waiting.pop(execution_arn, None)
                execution = self._sfn.describe_execution(executionArn=execution_arn)
                if execution["status"] == "RUNNING" and self._waits_for_review(execution_arn):
                    execution["waiting_for_review"] = True
                return execution
            left.result()  # raises the watcher's error, if it had one
            execution = self._sfn.describe_execution(executionArn=execution_arn)
            if execution["status"] in TERMINAL:
                return execution
            # running, but not listed yet (AWS's ListExecutions is eventually consistent): back off,
            # or every round would wake and describe it again
            time.sleep(max(0.0, min(backoff, deadline - time.monotonic())))
            backoff = min(2 * backoff, 5.0)

    def _ended_or_settled(self, left: Future, execution_arn: str, deadline: float) -> bool:
        """Wait for the watcher's word that the execution left RUNNING (True), in slices: one
        that has waited a while is asked whether it waits for a review (False then, at once)."""
        while True:
            left_s = deadline - time.monotonic()
            if futures.wait([left], timeout=max(0.0, min(REVIEW_CHECK_SECONDS, left_s))).done:
                return True
            if left_s <= REVIEW_CHECK_SECONDS or self._waits_for_review(execution_arn):
                return False

    def _waits_for_review(self, execution_arn: str) -> bool:
        events = [
            event
            for page in self._sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
            for event in page["events"]
        ]
        return waiting_for_a_person(events)

    def __enter__(self) -> ExecutionWatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._stopped.set()
        self._thread.join()
        with self._lock:
            for left in self._waiting.values():
                left.set_exception(LocalStackError("the execution watcher was closed while waiting"))
            self._waiting.clear()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            with self._lock:
                waiting = list(self._waiting)
            if not waiting:
                continue
            try:
                running = {
                    execution["executionArn"]
                    for page in self._sfn.get_paginator("list_executions").paginate(
                        stateMachineArn=self._arn, statusFilter="RUNNING"
                    )
                    for execution in page["executions"]
                }
            except Exception as error:  # report to the waiters rather than die silently
                with self._lock:
                    for left in self._waiting.values():
                        left.set_exception(error)
                    self._waiting.clear()
                continue
            with self._lock:
                for arn in set(waiting) - running:
                    left = self._waiting.pop(arn, None)  # None: its waiter timed out meanwhile
                    if left is not None:
                        left.set_result(None)
