"""Where a handler's output goes: what it prints (its JSON log lines and EMF metrics, which
Lambda would send to CloudWatch Logs) goes to the function log, never between the lines of the
table the CLI prints."""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterator
from typing import Any

_in_handler = threading.local()


@contextlib.contextmanager
def handler_output() -> Iterator[None]:
    """Mark this thread as running a handler: its prints go to the function log."""
    _in_handler.active = True
    try:
        yield
    finally:
        _in_handler.active = False


class FunctionOutput(io.TextIOBase):
    """``sys.stdout`` for a process that runs handlers in threads: what a handler prints goes to
    ``sink`` (or nowhere); everything else goes to the real stdout. ``redirect_stdout`` would
    not do: it is global, and handlers run side by side with the table the CLI prints."""

    def __init__(self, stdout: Any, sink: Any) -> None:
        self._stdout, self._sink = stdout, sink
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        if not getattr(_in_handler, "active", False):
            return self._stdout.write(text)
        with self._lock:  # whole lines, never interleaved with another writer's
            return self._sink.write(text) if self._sink else len(text)

    def flush(self) -> None:
        self._stdout.flush()
        if self._sink:
            self._sink.flush()
