"""Where a handler's output goes, and the lines Lambda itself writes around it.

What a handler prints (its JSON log lines and EMF metrics) goes to the function log, never
between the lines of the table the CLI prints, and, where the function has a log group, to
CloudWatch Logs as Lambda sends it: one log stream per execution environment, named as Lambda
names it, each line its own event stamped when it was printed, between Lambda's ``START``,
``END`` and ``REPORT`` lines (``local_stack invoke`` prints the same three, as ``sam local
invoke`` does)."""

from __future__ import annotations

import contextlib
import datetime
import io
import math
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from local_stack.aws.cloudwatch_logs import LogSender

LineWriter = Callable[[str], None]

_in_handler = threading.local()


@contextlib.contextmanager
def handler_output(on_line: LineWriter | None = None) -> Iterator[None]:
    """Mark this thread as running a handler: its prints go to the function log and, line by
    line, to ``on_line`` (where ``FunctionOutput`` is ``sys.stdout``)."""
    _in_handler.active = True
    _in_handler.lines = _Lines(on_line) if on_line else None
    try:
        yield
    finally:
        if _in_handler.lines is not None:
            _in_handler.lines.close()
        _in_handler.active, _in_handler.lines = False, None


class _Lines:
    """Text written in pieces (``print`` writes the newline on its own) to whole lines."""

    def __init__(self, on_line: LineWriter) -> None:
        self._on_line, self._partial = on_line, ""

    def write(self, text: str) -> None:
        *complete, self._partial = (self._partial + text).split("\n")
        for line in complete:
            self._on_line(line)

    def close(self) -> None:
        """A last line without its newline is a line too."""
        if self._partial:
            self._on_line(self._partial)
            self._partial = ""


class FunctionOutput(io.TextIOBase):
    """``sys.stdout`` for a process that runs handlers in threads: what a handler prints goes to
    ``sink`` (or nowhere) and to its invocation's lines; everything else goes to ``stdout``.
    ``redirect_stdout`` would not do: it is global, and handlers run side by side with the table
    the CLI prints."""

    def __init__(self, stdout: Any, sink: Any) -> None:
        self._stdout, self._sink = stdout, sink
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        if not getattr(_in_handler, "active", False):
            return self._stdout.write(text)
        if _in_handler.lines is not None:
            _in_handler.lines.write(text)
        with self._lock:  # whole lines, never interleaved with another writer's
            return self._sink.write(text) if self._sink else len(text)

    def flush(self) -> None:
        self._stdout.flush()
        if self._sink and self._sink is not self._stdout:
            self._sink.flush()


# Lambda's own lines. Without a request id: the form ``local_stack invoke`` prints.


def start_line(request_id: str | None) -> str:
    return f"START {_request_id(request_id)}Version: $LATEST"


def end_line(request_id: str | None) -> str:
    return f"END {_request_id(request_id)}".rstrip()


@dataclass(frozen=True)
class Report:
    """What a ``REPORT`` line says of one invocation."""

    duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int
    init_ms: float | None = None  # a cold start's


def report_line(request_id: str | None, report: Report) -> str:
    """Lambda's REPORT line. In CloudWatch Logs (a request id) ``Init Duration`` comes last, as
    Lambda writes it; ``sam local invoke`` (no request id: its emulator's form) prints it first."""
    init = [] if report.init_ms is None else [f"Init Duration: {report.init_ms:.2f} ms"]
    fields = [
        f"Duration: {report.duration_ms:.2f} ms",
        f"Billed Duration: {billed_duration_ms(report.duration_ms)} ms",
        f"Memory Size: {report.memory_size_mb} MB",
        f"Max Memory Used: {report.max_memory_used_mb} MB",
    ]
    fields = fields + init if request_id is not None else init + fields
    return "\t".join([f"REPORT {_request_id(request_id)}".rstrip(), *fields])


def billed_duration_ms(duration_ms: float) -> int:
    """Lambda bills each invocation up to the next millisecond, one at least."""
    return max(1, math.ceil(duration_ms))


def error_line(error: dict) -> str:
    """What the Python runtime logs for a handler's error payload: one event, its traceback in it."""
    line = f"[ERROR] {error.get('errorType')}: {error.get('errorMessage')}"
    trace = "".join(error.get("stackTrace") or [])
    return f"{line}\nTraceback (most recent call last):\n{trace}".rstrip("\n") if trace else line


def _request_id(request_id: str | None) -> str:
    return f"RequestId: {request_id} " if request_id else ""


def log_stream_name(day: datetime.date, environment_id: str) -> str:
    """Lambda's name for an execution environment's stream: ``YYYY/MM/DD/[version]<id>``."""
    return f"{day:%Y/%m/%d}/[$LATEST]{environment_id}"


def new_log_stream_name() -> str:
    """The stream of an execution environment starting now (UTC, as Lambda dates it)."""
    return log_stream_name(datetime.datetime.now(datetime.UTC).date(), uuid.uuid4().hex)


@dataclass
class FunctionLog:
    """One function's log stream in one execution environment: its Lambda lines and its
    handler's lines go there; ``init_ms``, its cold start, goes with its first ``REPORT``."""

    sender: LogSender
    group: str
    stream: str
    memory_size_mb: int = 128
    init_ms: float | None = None

    def write(self, message: str) -> None:
        self.sender.put(self.group, self.stream, message)

    def take_init_ms(self) -> float | None:
        init_ms, self.init_ms = self.init_ms, None
        return init_ms
