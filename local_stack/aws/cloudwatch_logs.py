"""Log events to CloudWatch Logs in batches, from a background thread, as Lambda's own log
agent sends an execution environment's lines: whoever writes a line only appends it to a list
(no AWS call on the invocation's path); the thread sends what piled up about once a second and
once more at ``close``. A process killed with SIGKILL loses what it had not sent yet (up to
about a second of lines), as the function log loses what it had not written.

It reaches CloudWatch Logs through boto3's own settings (``AWS_ENDPOINT_URL`` and the region
in the environment: in the local stack, moto's server). A call that fails loses its batch; the
first failure is one line on stderr, so a stack without CloudWatch Logs does not flood it.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

# PutLogEvents' limits (its API reference): events per call, bytes per call counted as each
# message's UTF-8 length plus 26, and the largest event
MAX_EVENTS_PER_CALL = 10_000
MAX_BYTES_PER_CALL = 1_048_576
EVENT_OVERHEAD_BYTES = 26
MAX_EVENT_BYTES = 262_144

LogEvent = tuple[int, str]  # (milliseconds since the epoch, message)
Destination = tuple[str, str]  # (log group, log stream)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def event_size(message: str) -> int:
    """What an event counts towards a call's bytes."""
    return len(message.encode()) + EVENT_OVERHEAD_BYTES


def truncated(message: str) -> str:
    """``message`` cut to the largest event CloudWatch Logs takes (whole characters)."""
    limit = MAX_EVENT_BYTES - EVENT_OVERHEAD_BYTES
    encoded = message.encode()
    return message if len(encoded) <= limit else encoded[:limit].decode(errors="ignore")


def put_log_events_batches(events: Sequence[LogEvent]) -> Iterator[list[LogEvent]]:
    """``events`` in time order (stable: lines printed in the same millisecond keep their
    order), cut into batches that one PutLogEvents call takes; empty messages, which it
    refuses, left out."""
    batch: list[LogEvent] = []
    size = 0
    for timestamp, message in sorted(events, key=lambda event: event[0]):
        if not message:
            continue
        message = truncated(message)
        if len(batch) == MAX_EVENTS_PER_CALL or size + event_size(message) > MAX_BYTES_PER_CALL:
            yield batch
            batch, size = [], 0
        batch.append((timestamp, message))
        size += event_size(message)
    if batch:
        yield batch


def _logs_client() -> Any:
    import boto3
    from botocore.config import Config

    # short waits: a stack that is gone must not hold a worker's exit for a minute
    config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.session.Session().client("logs", config=config)  # its own session: thread-safe


class LogSender:
    """Sends the events ``put`` gives it to CloudWatch Logs, per (group, stream), from a
    daemon thread every ``interval_s`` and at ``close``; creates each group and stream the
    first time it sends there (one that exists already is fine)."""

    def __init__(self, client_factory: Callable[[], Any] = _logs_client, interval_s: float = 1.0) -> None:
        self._client_factory = client_factory
        self._client: Any = None
        self._interval_s = interval_s
        self._pending: dict[Destination, list[LogEvent]] = {}
        self._lock = threading.Lock()
        self._created: set[Destination] = set()
        self._failed = False
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cloudwatch-logs-sender", daemon=True)
        self._thread.start()

    def put(self, group: str, stream: str, message: str, timestamp_ms: int | None = None) -> None:
        """Queue one event (stamped now unless given); it goes with the next send."""
        event = (now_ms() if timestamp_ms is None else timestamp_ms, message)
        with self._lock:
            self._pending.setdefault((group, stream), []).append(event)

    def close(self, timeout_s: float = 15.0) -> None:
        """Send what is queued and stop the thread (waiting up to ``timeout_s``)."""
        self._closing.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        # the client now, while the environment waits for its first invocation (a boto3 client
        # takes a few hundred milliseconds of CPU); a failure here is tried and told at a send
        with contextlib.suppress(Exception):
            self._client = self._client or self._client_factory()
        while not self._closing.wait(self._interval_s):
            self._send_pending()
        self._send_pending()

    def _send_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for destination, events in pending.items():
            try:
                self._send(destination, events)
            except Exception as error:  # a sender outlives a failed call
                self._report(destination, error)

    def _send(self, destination: Destination, events: list[LogEvent]) -> None:
        if self._client is None:
            self._client = self._client_factory()
        group, stream = destination
        if destination not in self._created:
            self._create(group, stream)
            self._created.add(destination)
        for batch in put_log_events_batches(events):
            self._client.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[{"timestamp": timestamp, "message": message} for timestamp, message in batch],
            )

    def _create(self, group: str, stream: str) -> None:
        # the stream only: the group is the template's (the stack creates it), and a function's
        # role may not create groups, so a missing group loses the lines, as it would on AWS
        with contextlib.suppress(self._client.exceptions.ResourceAlreadyExistsException):
            self._client.create_log_stream(logGroupName=group, logStreamName=stream)

    def _report(self, destination: Destination, error: Exception) -> None:
        self._created.discard(destination)  # it may have been deleted: create it again next time
        if not self._failed:
            self._failed = True
            print(
                f"local_stack: function logs not sent to CloudWatch Logs {destination[0]} "
                f"({type(error).__name__}: {error}); further failures are not shown",
                file=sys.stderr,
            )
