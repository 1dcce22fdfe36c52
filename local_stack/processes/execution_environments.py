"""Lambda execution environments as worker processes: the stack's handlers run here, each
process running one invocation at a time, as an execution environment does in Lambda.

Why not in the stack's own process: there the handlers take turns with moto and the ASL
interpreter under one interpreter lock, and Powertools keeps its metric set and logger keys in
class-level state, so they also had to take turns with each other (one invocation at a time
for the whole stack). In worker processes they run side by side, on every core; the three
functions in one worker share its Powertools state and take turns, as before. The interpreter
still calls them through ``aws.lambda_runtime``'s registry; only where the handler runs changes.

The protocol is a pipe each way, one JSON line per message: the parent first writes the
configuration (``{"functions": {name: {"code_dir", "environment", "log_group",
"memory_size_mb"}}, "function_log"}``), the worker imports every function and answers
``{"ready": true}`` (or ``{"error": {"errorType", "errorMessage"}}``); then each
``{"function", "event", "request_id"}`` line gets one line back, ``1`` (errored) or ``0``
followed by the payload that the Lambda runtime would answer, already JSON (one line: JSON
escapes newlines), so it is not encoded a second time. A worker ends when its stdin closes,
which also happens when the stack's process dies; one that dies mid-invocation ends as soon as
the handler returns (its answer finds no reader), and the handler's calls to the stack's
servers fail at once then, as those are gone too. (No thread watches for the parent: a second
thread lets a SIGKILLed worker look dead, a zombie leader, while its pipes are still open.)

What Lambda does around a handler, the pool does too: an environment that dies mid-invocation
answers ``Runtime.ExitError``, one that runs past the function's ``Timeout`` is stopped and
answers ``Sandbox.Timedout``; either way its slot is empty and the next invocation there starts
a fresh environment (a cold start), as does one whose environment died while idle. A cold start
that fails answers the function's init error (``Runtime.ImportModuleError``, ...).

Logs: what a handler prints goes to the function log (``function_log``, or nowhere) and, for a
function with a ``log_group``, to CloudWatch Logs as Lambda sends it (``aws.function_logs``):
each worker is one execution environment with its own log stream per function, ``START``, the
handler's lines, ``END`` and ``REPORT`` (with ``Init Duration`` on the worker's first
invocation of the function). A background thread in the worker sends them about once a second
and when the worker ends (``aws.cloudwatch_logs``), so an invocation never waits for
CloudWatch; a worker killed (SIGKILL, a timeout) loses its last second of lines there, as the
function log may lose what it had not written. The worker finds CloudWatch Logs as the
functions find AWS: the stack's exports it inherits (``AWS_ENDPOINT_URL``, the region).
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

from local_stack.aws.cloudwatch_logs import LogSender
from local_stack.aws.function_logs import FunctionLog, FunctionOutput, new_log_stream_name
from local_stack.aws.iam.credentials import CREDENTIAL_VARIABLES
from local_stack.errors import EnvironmentDidNotStart, LocalStackError
from local_stack.processes import child_process

_STOP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class FunctionSpec:
    """What a worker needs to import a function as its Lambda would, its ``Timeout``, its
    ``MemorySize`` (for ``REPORT``) and the log group its logs go to (None: CloudWatch Logs gets
    nothing, the function log still does)."""

    code_dir: Path
    environment: Mapping[str, str]
    timeout_seconds: float | None = None
    log_group: str | None = None
    memory_size_mb: int = 128


# put in the slots' queue by close(): whoever takes it puts it back and stops
_CLOSED: Any = object()


class _ColdStartFailed(Exception):
    def __init__(self, payload: dict) -> None:
        super().__init__(payload["errorMessage"])
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
                    name: {
                        "code_dir": str(spec.code_dir),
                        "environment": dict(spec.environment),
                        "log_group": spec.log_group,
                        "memory_size_mb": spec.memory_size_mb,
                    }
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
        self._slots.put(_CLOSED)  # ends every wait for a slot, one after the other
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
        # A blocking get, no timeout: a batch has hundreds of invocations waiting here, and a
        # wait that woke every 0.5 s to look at _closed cost each of them the GIL, over and over
        slot = self._slots.get()
        if slot is _CLOSED:
            self._slots.put(_CLOSED)  # for the next one waiting
            raise LocalStackError("the stack's execution environments are closed")
        return slot

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

    functions = configuration["functions"]
    handlers, init_ms = {}, {}
    # each function's role's credentials (Lambda's AWS_* variables), in force while it runs
    sessions = {
        name: lambda_runtime.role_session(
            {k: v for k, v in spec["environment"].items() if k in CREDENTIAL_VARIABLES}
        )
        for name, spec in functions.items()
    }
    try:
        for name, spec in functions.items():
            started = time.perf_counter()
            module = lambda_runtime.load_function(Path(spec["code_dir"]), spec["environment"])
            handlers[name] = module.app.lambda_handler
            init_ms[name] = (time.perf_counter() - started) * 1000
    except Exception as error:
        answers.write(json.dumps({"error": _init_error(error)}) + "\n")
        answers.flush()
        return 1
    sender, logs = _function_logs(functions, init_ms)
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    try:
        for line in requests:
            request = json.loads(line)
            name = request["function"]
            # (invoke's one-at-a-time lock is never contended here: one thread)
            payload, errored = lambda_runtime.invoke(
                name,
                handlers[name],
                request["event"],
                request["request_id"],
                logs.get(name),
                sessions[name],
            )
            try:
                answers.write(f"{int(errored)}{payload}\n")
                answers.flush()
            except BrokenPipeError:  # the stack died during this invocation: nobody takes it
                os._exit(1)
    finally:
        if sender is not None:
            sender.close()  # what the last second logged
    return 0


def _function_logs(
    functions: Mapping[str, Any], init_ms: Mapping[str, float]
) -> tuple[LogSender | None, dict[str, FunctionLog]]:
    """This environment's log stream of each function that has a log group, and their sender
    (None: no function has one, so no thread either)."""
    groups = {name: spec["log_group"] for name, spec in functions.items() if spec.get("log_group")}
    if not groups:
        return None, {}
    sender = LogSender()
    stream = new_log_stream_name()  # one environment, one name: each function's group has its own stream
    logs = {
        name: FunctionLog(sender, group, stream, functions[name]["memory_size_mb"], init_ms[name])
        for name, group in groups.items()
    }
    return sender, logs


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
    sys.stdout = FunctionOutput(log, log)  # and a handler's lines to its log stream too
    return _serve(configuration, requests, answers)


if __name__ == "__main__":
    sys.exit(_main())
