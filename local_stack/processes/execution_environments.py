"""Lambda execution environments as worker processes: the stack's handlers run here, each
process running one invocation at a time, as an execution environment does in Lambda.

Why not in the stack's own process: there the handlers take turns with moto and the ASL
interpreter under one interpreter lock, and Powertools keeps its metric set and logger keys in
class-level state, so they also had to take turns with each other (one invocation at a time
for the whole stack). In worker processes they run side by side, on every core; the three
functions in one worker share its Powertools state and take turns, as before. The interpreter
still calls them through ``aws.lambda_runtime``'s registry; only where the handler runs changes.

The protocol is a pipe each way, one JSON line per message: the parent first writes the
configuration (``{"functions": {name: {"code_dir", "environment"}}, "function_log"}``), the
worker imports every function and answers ``{"ready": true}`` (or ``{"error": {"errorType",
"errorMessage"}}``); then each ``{"function", "event", "request_id"}`` line gets one line
back, ``1`` (errored) or ``0`` followed by the payload that the Lambda runtime would answer,
already JSON (one line: JSON escapes newlines), so it is not encoded a second time. A worker
ends when its stdin closes, which also happens when the stack's process dies.

What Lambda does around a handler, the pool does too: an environment that dies mid-invocation
answers ``Runtime.ExitError``, one that runs past the function's ``Timeout`` is stopped and
answers ``Sandbox.Timedout``; either way its slot is empty and the next invocation there starts
a fresh environment (a cold start), as does one whose environment died while idle. A cold start
that fails answers the function's init error (``Runtime.ImportModuleError``, ...).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from local_stack.errors import LocalStackError
from local_stack.processes import child_process

_STOP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class FunctionSpec:
    """What a worker needs to import a function as its Lambda would, and its ``Timeout``."""

    code_dir: Path
    environment: Mapping[str, str]
    timeout_seconds: float | None = None


class _ColdStartFailed(Exception):
    def __init__(self, payload: dict) -> None:
        super().__init__(payload["errorMessage"])
        self.payload = payload


class EnvironmentDidNotStart(LocalStackError):
    """The first workers' cold start failed; ``payload`` is the init error Lambda would answer."""

    def __init__(self, payload: dict) -> None:
        super().__init__(
            f"a Lambda execution environment did not start: {payload['errorType']}: {payload['errorMessage']}"
        )
        self.payload = payload


class ExecutionEnvironments:
    """A fixed number of slots, each holding a worker process (or none yet: the next
    invocation there starts one), each worker able to run any of the stack's functions."""

    def __init__(self, functions: Mapping[str, FunctionSpec], size: int, function_log: Path | None = None):
        if size < 1:
            raise LocalStackError(f"execution environments: need at least 1, got {size}")
        self._configuration = json.dumps(
            {
                "functions": {
                    name: {"code_dir": str(spec.code_dir), "environment": dict(spec.environment)}
                    for name, spec in functions.items()
                },
                "function_log": str(function_log) if function_log else None,
            }
        )
        self._timeouts = {name: spec.timeout_seconds for name, spec in functions.items()}
        self._slots: queue.SimpleQueue[subprocess.Popen | None] = queue.SimpleQueue()
        self._live: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._closed = False
        try:
            started = [self._spawn() for _ in range(size)]  # all at once: their imports overlap
            for process in started:
                self._wait_until_ready(process)
        except _ColdStartFailed as failure:
            self.close()
            raise EnvironmentDidNotStart(failure.payload) from None
        except BaseException:
            self.close()
            raise
        for process in started:
            self._slots.put(process)

    def invoke(self, function_name: str, event: Any) -> tuple[str, bool]:
        """Run one invocation in a free slot (waiting for one if all are busy)."""
        request_id = str(uuid.uuid4())
        request = json.dumps({"function": function_name, "event": event, "request_id": request_id})
        process = self._take_slot()
        try:
            process = self._deliver(process, request + "\n")
        except _ColdStartFailed as failure:
            self._slots.put(None)
            return json.dumps(failure.payload), True
        except BaseException:
            self._slots.put(None)
            raise
        timeout = self._timeouts.get(function_name)
        if timeout is not None and not select.select([process.stdout], [], [], timeout)[0]:
            self._end(process, kill=True)
            self._slots.put(None)
            message = f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
            return json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": message}), True
        line = process.stdout.readline()
        if not line:  # it died mid-invocation
            self._slots.put(None)
            status = child_process.exit_status(self._end(process))
            message = f"RequestId: {request_id} Error: Runtime exited with error: {status}"
            return json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}), True
        self._slots.put(process)
        return line[1:].rstrip("\n"), line[0] == "1"

    def close(self) -> None:
        """End every worker: close its stdin (it finishes the invocation in hand), wait, kill
        the ones still running at the deadline. Invocations not yet started fail."""
        with self._lock:
            self._closed = True
            processes, self._live = list(self._live), set()
        for process in processes:
            with contextlib.suppress(OSError):  # already broken: it died
                process.stdin.close()  # all of them at once: they finish side by side
        deadline = time.monotonic() + _STOP_TIMEOUT_SECONDS
        for process in processes:
            child_process.stop(process, deadline - time.monotonic())

    def __enter__(self) -> ExecutionEnvironments:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _take_slot(self) -> subprocess.Popen | None:
        while True:
            if self._closed:
                raise LocalStackError("the stack's execution environments are closed")
            with contextlib.suppress(queue.Empty):
                return self._slots.get(timeout=0.5)  # a timeout, so that close() ends the wait

    def _deliver(self, process: subprocess.Popen | None, request: str) -> subprocess.Popen:
        """Write the request to ``process``, starting a fresh one first if the slot is empty or
        its worker died while idle (then this invocation is a cold start, not a failure)."""
        for _ in range(2):
            if process is None or process.poll() is not None:
                if process is not None:
                    self._end(process)
                process = self._spawn()
                self._wait_until_ready(process)
            try:
                process.stdin.write(request)
                process.stdin.flush()
                return process
            except (BrokenPipeError, ValueError):  # ValueError: close() closed the pipe
                if self._closed:
                    raise LocalStackError("the stack's execution environments are closed") from None
                self._end(process)
                process = None
        raise LocalStackError("two fresh execution environments in a row died before their first invocation")

    def _spawn(self) -> subprocess.Popen:
        # the stack's exports: where S3 and the endpoint are
        process = child_process.spawn("local_stack.processes.execution_environments", env=os.environ)
        with self._lock:
            closed = self._closed
            if not closed:
                self._live.add(process)
        if closed:
            child_process.kill(process)
            raise LocalStackError("the stack's execution environments are closed")
        process.stdin.write(self._configuration + "\n")
        process.stdin.flush()
        return process

    def _wait_until_ready(self, process: subprocess.Popen) -> None:
        answer = child_process.read_until_ready(process, _answer) or {}
        if answer.get("ready"):
            return
        exited = {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"Runtime exited with error: {child_process.exit_status(self._end(process))}",
        }
        raise _ColdStartFailed(answer.get("error") or exited)

    def _end(self, process: subprocess.Popen, kill: bool = False) -> int:
        """Stop tracking ``process``; kill it if asked; its exit code once it has ended."""
        with self._lock:
            self._live.discard(process)
        if kill:
            child_process.kill(process)
        child_process.stop(process, timeout=_STOP_TIMEOUT_SECONDS)
        return process.returncode


def _answer(line: str) -> dict:
    """The worker's first line: ``{"ready": true}`` or ``{"error": ...}``; anything else (a
    crash's output) is no answer, ``{}``."""
    return json.loads(line) if line.startswith("{") else {}


def _init_error(error: Exception) -> dict:
    """The error the Lambda runtime reports when a function's module fails to import."""
    if isinstance(error, ImportError):
        return {
            "errorType": "Runtime.ImportModuleError",
            "errorMessage": f"Unable to import module 'app': {error}",
        }
    if isinstance(error, SyntaxError):
        return {"errorType": "Runtime.UserCodeSyntaxError", "errorMessage": str(error)}
    return {"errorType": type(error).__name__, "errorMessage": str(error)}


def _serve(configuration: Mapping[str, Any], requests: IO[str], answers: IO[str]) -> int:
    """In the worker: import the functions, then answer invocations until stdin closes."""
    from local_stack.aws import lambda_runtime

    try:
        handlers = {
            name: lambda_runtime.load_function(Path(spec["code_dir"]), spec["environment"]).app.lambda_handler
            for name, spec in configuration["functions"].items()
        }
    except Exception as error:
        answers.write(json.dumps({"error": _init_error(error)}) + "\n")
        answers.flush()
        return 1
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    for line in requests:
        request = json.loads(line)
        name = request["function"]
        # (invoke's one-at-a-time lock is never contended here: one thread)
        payload, errored = lambda_runtime.invoke(
            name, handlers[name], request["event"], request["request_id"]
        )
        answers.write(f"{int(errored)}{payload}\n")
        answers.flush()
    return 0


def _main() -> int:
    # Ctrl-C reaches the whole process group; the stack decides when its workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # as in the stack's process: Powertools warns on every invocation that ends before adding a
    # metric (the failure paths)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    requests = os.fdopen(os.dup(sys.stdin.fileno()), "r")
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    # The pipes are ours alone: a handler (or a process it starts) that reads stdin reads
    # nothing, and what it prints (its JSON logs and EMF metrics, CloudWatch's share in AWS) goes
    # to the function log, or nowhere. Line-buffered: one write per line, so that the workers'
    # lines never interleave in the shared log.
    configuration = json.loads(requests.readline() or "{}")
    null_input = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_input, sys.stdin.fileno())
    log = open(configuration.get("function_log") or os.devnull, "a", buffering=1)  # noqa: SIM115 - for the life of the process
    os.dup2(log.fileno(), sys.stdout.fileno())
    sys.stdout = log
    return _serve(configuration, requests, answers)


if __name__ == "__main__":
    sys.exit(_main())
