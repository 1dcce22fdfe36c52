"""Lambda execution environments as worker processes: the stack's handlers run here, each
process running one invocation at a time, as an execution environment does in Lambda.

Why not in the stack's own process: there the handlers take turns with moto and the ASL
interpreter under one interpreter lock, and Powertools keeps its metric set and logger keys in
class-level state, so they also had to take turns with each other (one invocation at a time
for the whole stack). In worker processes they run side by side, on every core, each with a
Powertools state of its own. The interpreter still calls them through ``lambda_bridge``; only
where the handler runs changes.

The protocol is a pipe each way, one JSON line per message: the parent first writes the
configuration (``{"functions": {name: {"code_dir", "environment"}}, "function_log"}``), the
worker imports every function and answers ``{"ready": true}`` (or ``{"error": ...}``); then
each ``{"function", "event"}`` line gets ``{"payload", "errored"}`` back, the payload being what
the Lambda runtime would answer. A worker ends when its stdin closes, which also happens when
the stack's process dies. A worker that dies mid-invocation answers as Lambda's runtime does
(``Runtime.ExitError``) and is replaced by a fresh one, a cold start.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from local_stack.runner import LocalStackError

_REPO_ROOT = Path(__file__).resolve().parent.parent
_STOP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class FunctionSpec:
    """What a worker needs to import a function as its Lambda would."""

    code_dir: Path
    environment: Mapping[str, str]


class ExecutionEnvironments:
    """A fixed set of worker processes, each able to run any of the stack's functions."""

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
        self._idle: queue.SimpleQueue[subprocess.Popen] = queue.SimpleQueue()
        self._all: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._closed = False
        started = [self._spawn() for _ in range(size)]  # all at once: their imports overlap
        try:
            for process in started:
                self._wait_until_ready(process)
                self._idle.put(process)
        except BaseException:
            self.close()
            raise

    def invoke(self, function_name: str, event: Any) -> tuple[str, bool]:
        """Run one invocation in an idle environment (waiting for one if all are busy)."""
        process = self._idle.get()
        try:
            process.stdin.write(json.dumps({"function": function_name, "event": event}) + "\n")
            process.stdin.flush()
            line = process.stdout.readline()
        except (BrokenPipeError, ValueError):  # ValueError: the pipe was closed by close()
            line = ""
        if not line:
            return self._replace_after_exit(process)
        self._idle.put(process)
        answer = json.loads(line)
        return answer["payload"], answer["errored"]

    def close(self) -> None:
        """End every worker: close its stdin, wait, kill the ones that do not end."""
        with self._lock:
            self._closed = True
            processes, self._all = list(self._all), set()
        for process in processes:
            with contextlib.suppress(OSError):  # already broken: it died
                process.stdin.close()
        for process in processes:
            try:
                process.wait(timeout=_STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()

    def __enter__(self) -> ExecutionEnvironments:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _spawn(self) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "local_stack.execution_environment"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=_REPO_ROOT,
            env=dict(os.environ),  # the stack's exports: where S3 and the endpoint are
        )
        with self._lock:
            self._all.add(process)
        process.stdin.write(self._configuration + "\n")
        process.stdin.flush()
        return process

    def _wait_until_ready(self, process: subprocess.Popen) -> None:
        line = process.stdout.readline()
        answer = json.loads(line) if line.startswith("{") else {}
        if not answer.get("ready"):
            reason = answer.get("error") or f"its process exited with code {process.wait()}"
            raise LocalStackError(f"a Lambda execution environment did not start: {reason}")

    def _replace_after_exit(self, process: subprocess.Popen) -> tuple[str, bool]:
        """The worker died mid-invocation: answer as Lambda's runtime does, start another."""
        code = process.wait()
        with self._lock:
            self._all.discard(process)
            closed = self._closed
        process.stdout.close()
        if not closed:
            replacement = self._spawn()
            self._wait_until_ready(replacement)
            self._idle.put(replacement)
        message = f"RequestId: {uuid.uuid4()} Error: Runtime exited with error: exit status {code}"
        return json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}), True


def _serve(configuration: Mapping[str, Any], requests: IO[str], answers: IO[str]) -> int:
    """In the worker: import the functions, then answer invocations until stdin closes."""
    from local_stack import lambda_bridge

    try:
        handlers = {
            name: lambda_bridge.load_function(Path(spec["code_dir"]), spec["environment"]).app.lambda_handler
            for name, spec in configuration["functions"].items()
        }
    except Exception as error:
        answers.write(json.dumps({"error": f"{type(error).__name__}: {error}"}) + "\n")
        answers.flush()
        return 1
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    for line in requests:
        request = json.loads(line)
        name = request["function"]
        payload, errored = lambda_bridge.invoke(name, handlers[name], request["event"])
        answers.write(json.dumps({"payload": payload, "errored": errored}) + "\n")
        answers.flush()
    return 0


def _main() -> int:
    # Ctrl-C reaches the whole process group; the stack decides when its workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configuration = json.loads(sys.stdin.readline() or "{}")
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    # What the handlers print (their JSON logs and EMF metrics, CloudWatch's share in AWS) goes
    # to the function log, or nowhere; only the answers go to the stack. Line-buffered: one
    # write per line, so that the workers' lines never interleave in the shared log.
    log_path = configuration.get("function_log") or os.devnull
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - stdout for the life of the process
    os.dup2(log.fileno(), sys.stdout.fileno())
    sys.stdout = log
    return _serve(configuration, sys.stdin, answers)


if __name__ == "__main__":
    sys.exit(_main())
