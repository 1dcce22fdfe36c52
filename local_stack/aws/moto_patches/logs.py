"""CloudWatch Logs (in the ``interpreter`` group): an execution's history written to its state
machine's log group, as Step Functions does, and a log group kept to its newest events."""

from __future__ import annotations

import datetime
import heapq
import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from local_stack.aws.moto_patches.patch import Patch
from local_stack.aws.state_machine_logs import LogStreamNames, execution_log_events, log_destination

logger = logging.getLogger(__name__)

_log_events_kept: int | None = None  # None: keep them all, as moto does


def keep_log_events(limit: int | None) -> int | None:
    """From the next PutLogEvents on, keep at most ``limit`` events per log group, the oldest
    dropped first whichever stream holds them (None: all of them); returns the limit that was in
    force, to put it back."""
    global _log_events_kept
    if limit is not None and limit < 1:
        raise ValueError(f"keep at least 1 log event per log group, got {limit}")
    previous, _log_events_kept = _log_events_kept, limit
    return previous


def oldest_events_beyond(streams: Iterable[Any], limit: int) -> dict[Any, int]:
    """How many events to drop from the head of each stream (``.events``, oldest first, moto's
    ``event_id`` growing with each event made) so that the group keeps its ``limit`` newest:
    ``{stream: count}``, only the streams that lose some."""
    streams = [stream for stream in streams if stream.events]
    excess = sum(len(stream.events) for stream in streams) - limit
    if excess <= 0:
        return {}
    dropped: dict[Any, int] = {}
    # the oldest first across the streams: a merge of their heads, stopped after `excess`
    merged = heapq.merge(*(_ids_of(stream.events, index) for index, stream in enumerate(streams)))
    for _, index in itertools.islice(merged, excess):
        dropped[streams[index]] = dropped.get(streams[index], 0) + 1
    return dropped


def _ids_of(events: list, index: int) -> Iterator[tuple[int, int]]:
    return ((event.event_id, index) for event in events)


def _forget_old_log_events(original: Callable) -> Callable:
    """``moto.logs.models.LogStream.put_log_events(self, log_events)`` keeps every event for as
    long as the server runs (the functions' lines and the executions' events, ~17 KB per
    execution), and a function writes a stream per execution environment, the state machine one
    per hour: a cap per stream bounds nothing. After each put we keep at most
    ``keep_log_events(limit)`` events per log group, the oldest dropped first, as the group's
    retention (``RetentionInDays``) drops the oldest on AWS (no limit, the default here, keeps
    them all). Streams stay, emptied or not: a writer may still hold one. moto's streams are not
    thread-safe (its own TODO), and a trim rewrites other streams than the one written: puts
    take turns."""
    one_put_at_a_time = threading.Lock()

    def put_log_events(self: Any, log_events: Any) -> str:
        with one_put_at_a_time:
            token = original(self, log_events)
            limit = _log_events_kept
            if limit is not None and len(self.events) > 0:
                for stream, count in oldest_events_beyond(self.log_group.streams.values(), limit).items():
                    forgotten = stream.events[:count]
                    # a new list, swapped in: a reader in another thread goes on over the one it began with
                    stream.events = stream.events[count:]
                    stream.stored_bytes -= sum(len(event.message) for event in forgotten)
        return token

    return put_log_events


def _log_ended_executions(terminated: Callable) -> Callable:
    """``moto.stepfunctions.parser.backend.execution:BaseExecutionWorkerCommunication.
    terminated(self)`` is where an execution's worker reports that the program ended (every
    status, StartExecution's and StartSyncExecution's). Before moto reflects the end in the
    execution's status, we write its history to CloudWatch Logs as Step Functions does for a
    state machine whose ``loggingConfiguration`` names a log group (``aws.state_machine_logs``
    renders the events): one PutLogEvents per execution, into moto's ``logs`` backend in this
    process (the call moto's own logs responses make; ~0.7 ms per execution of the workflow, 21
    events), so a client that sees the execution ended finds its log events. A machine without
    logging configuration (or level ``OFF``) writes nothing; a log group that does not exist
    loses the events (AWS's delivery is best-effort too) and is named in one warning. moto's
    interpreter has a per-event logging session of its own, but its backend never starts one."""
    from moto.logs.exceptions import ResourceNotFoundException
    from moto.logs.models import logs_backends

    streams = LogStreamNames()
    # moto's log streams are not thread-safe (its own TODO): executions end in threads of their own
    one_delivery_at_a_time = threading.Lock()
    missing_groups_named: set[str] = set()  # a stack without its log group warns once, not per execution

    def log_history(execution: Any) -> None:
        destination = log_destination(execution.state_machine.loggingConfiguration)
        if destination is None:
            return
        history = execution.to_history_output()["events"]  # what GetExecutionHistory answers
        events = execution_log_events(history, execution.exec_arn, destination)
        if not events:
            return
        logs = logs_backends[destination.account_id][destination.region]
        with one_delivery_at_a_time:
            stream = streams.name_for(execution.state_machine.name, datetime.datetime.now(datetime.UTC))
            try:
                logs.ensure_log_stream(destination.log_group_name, stream)
                logs.put_log_events(destination.log_group_name, stream, events)
            except ResourceNotFoundException:  # AWS drops them too: logging never fails an execution
                if destination.log_group_name not in missing_groups_named:
                    missing_groups_named.add(destination.log_group_name)
                    logger.warning(
                        "log group %s does not exist: the events of %s's executions are not logged",
                        destination.log_group_name,
                        execution.state_machine.name,
                    )

    def terminated_and_logged(self: Any) -> None:
        try:
            log_history(self.execution)
        finally:
            terminated(self)  # whatever logging did, the execution ends

    return terminated_and_logged


PATCHES = (
    Patch("moto.logs.models:LogStream.put_log_events", ("self", "log_events"), _forget_old_log_events),
    Patch(
        "moto.stepfunctions.parser.backend.execution:BaseExecutionWorkerCommunication.terminated",
        ("self",),
        _log_ended_executions,
    ),
)
