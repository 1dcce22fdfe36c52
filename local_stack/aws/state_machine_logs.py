"""A state machine's execution history as Step Functions writes it to CloudWatch Logs.

With a ``loggingConfiguration`` that names a log group, Step Functions writes one log event per
history event of the level's types (``ALL``: every type; ``ERROR`` and ``FATAL``: the types in
"Log levels for Step Functions execution events"; ``OFF``: none). Each message is a JSON
object, as AWS writes it (its shape recorded against AWS in localstack's
``tests/aws/services/stepfunctions/v2/logs`` snapshots):

    {"id": "2", "type": "PassStateEntered", "details": {"name": "Done", ...},
     "previous_event_id": "0", "event_timestamp": "1718737447803",
     "execution_arn": "arn:aws:states:...", "redrive_count": "0"}

``details`` is the event's ``*EventDetails`` as GetExecutionHistory returns it (``{}`` when it
has none), less ``input``, ``inputDetails``, ``output`` and ``outputDetails`` unless
``includeExecutionData`` is true; ids and the timestamp (milliseconds since the epoch) are
strings. The log stream is the state machine's for the hour, named as AWS names it:
``states/<state machine name>/<YYYY-MM-DD-HH>/<8 hex digits>``.

Nothing here touches moto: ``aws.moto_patches.logs`` hands these functions an ended execution's
history and puts what they return into moto's CloudWatch Logs.
"""

from __future__ import annotations

import datetime
import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

EXECUTION_DATA_KEYS = frozenset({"input", "inputDetails", "output", "outputDetails"})

# "Log levels for Step Functions execution events": the types each level logs besides ALL
FATAL_EVENT_TYPES = frozenset({"ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut"})
ERROR_EVENT_TYPES = FATAL_EVENT_TYPES | {
    "FailStateEntered",
    "LambdaFunctionFailed",
    "LambdaFunctionScheduleFailed",
    "LambdaFunctionStartFailed",
    "LambdaFunctionTimedOut",
    "MapIterationAborted",
    "MapIterationFailed",
    "MapStateAborted",
    "MapStateFailed",
    "ParallelStateAborted",
    "ParallelStateFailed",
    "TaskFailed",
    "TaskStartFailed",
    "TaskStateAborted",
    "TaskSubmitFailed",
    "TaskTimedOut",
    "WaitStateAborted",
}

# the fields of a history event other than its details
_HISTORY_EVENT_FIELDS = frozenset({"id", "previousEventId", "type", "timestamp"})


@dataclass(frozen=True)
class LogDestination:
    """Where and what a state machine's ``loggingConfiguration`` asks Step Functions to log."""

    account_id: str
    region: str
    log_group_name: str
    level: str
    include_execution_data: bool


def log_destination(logging_configuration: Mapping[str, Any] | None) -> LogDestination | None:
    """The log group that ``logging_configuration`` (as CreateStateMachine takes it) names, or
    None where it logs nothing: level ``OFF`` (the default), or no log group ARN to read."""
    configuration = logging_configuration or {}
    level = configuration.get("level") or "OFF"
    destinations = configuration.get("destinations") or []
    if level == "OFF" or len(destinations) != 1:  # the API takes one destination at most
        return None
    arn = (destinations[0].get("cloudWatchLogsLogGroup") or {}).get("logGroupArn") or ""
    # arn:<partition>:logs:<region>:<account>:log-group:<name>[:*]
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "logs" or not parts[5].startswith("log-group:"):
        return None
    name = parts[5].removeprefix("log-group:").split(":")[0]
    if not (parts[3] and parts[4] and name):
        return None
    return LogDestination(
        account_id=parts[4],
        region=parts[3],
        log_group_name=name,
        level=level,
        include_execution_data=bool(configuration.get("includeExecutionData", False)),
    )


def is_logged_at(level: str, event_type: str) -> bool:
    if level == "ALL":
        return True
    if level == "ERROR":
        return event_type in ERROR_EVENT_TYPES
    if level == "FATAL":
        return event_type in FATAL_EVENT_TYPES
    return False


def epoch_milliseconds(timestamp: str | datetime.datetime) -> int:
    """A history event's timestamp (moto keeps ISO 8601 text, ``...T12:00:00.123Z``) in
    milliseconds since the epoch."""
    moment = datetime.datetime.fromisoformat(timestamp) if isinstance(timestamp, str) else timestamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return round(moment.timestamp() * 1000)


def event_details(event: Mapping[str, Any], include_execution_data: bool) -> dict[str, Any]:
    """The event's ``*EventDetails`` (``{}`` where it has none), without execution data unless
    asked for; the event itself is left as it was."""
    details = next((value for key, value in event.items() if key not in _HISTORY_EVENT_FIELDS), None) or {}
    if include_execution_data:
        return dict(details)
    return {key: value for key, value in details.items() if key not in EXECUTION_DATA_KEYS}


def log_record(event: Mapping[str, Any], execution_arn: str, include_execution_data: bool) -> dict[str, Any]:
    """One history event as Step Functions logs it (the fields in AWS's order)."""
    return {
        "id": str(event["id"]),
        "type": event["type"],
        "details": event_details(event, include_execution_data),
        "previous_event_id": str(event.get("previousEventId", 0)),
        "event_timestamp": str(epoch_milliseconds(event["timestamp"])),
        "execution_arn": execution_arn,
        "redrive_count": "0",  # the local interpreter never redrives an execution
    }


def execution_log_events(
    history: Iterable[Mapping[str, Any]], execution_arn: str, destination: LogDestination
) -> list[dict[str, Any]]:
    """The log events (PutLogEvents' ``{"timestamp", "message"}``) for an execution's history,
    in the history's order. PutLogEvents takes a call's events in time order only, so an event
    stamped before the one ahead of it (a Parallel branch's) goes in at that one's time; its
    message keeps its own."""
    events: list[dict[str, Any]] = []
    latest = 0
    for event in history:
        if not is_logged_at(destination.level, event["type"]):
            continue
        record = log_record(event, execution_arn, destination.include_execution_data)
        latest = max(latest, int(record["event_timestamp"]))
        events.append({"timestamp": latest, "message": json.dumps(record, separators=(",", ":"))})
    return events


def log_stream_name(state_machine_name: str, at: datetime.datetime, stream_id: str) -> str:
    return f"states/{state_machine_name}/{at.astimezone(datetime.UTC):%Y-%m-%d-%H}/{stream_id}"


class LogStreamNames:
    """The stream each state machine writes to in the current hour: a new one, with a new
    random id, each hour (only the current hour's id is kept, so memory stays flat). Not
    thread-safe: the caller takes turns."""

    def __init__(self, draw_id: Callable[[], str] = lambda: secrets.token_hex(4)) -> None:
        self._draw_id = draw_id
        self._current: dict[str, tuple[str, str]] = {}  # state machine -> (hour, stream id)

    def name_for(self, state_machine_name: str, at: datetime.datetime) -> str:
        hour = f"{at.astimezone(datetime.UTC):%Y-%m-%d-%H}"
        kept_hour, stream_id = self._current.get(state_machine_name, ("", ""))
        if kept_hour != hour:
            stream_id = self._draw_id()
            self._current[state_machine_name] = (hour, stream_id)
        return log_stream_name(state_machine_name, at, stream_id)
