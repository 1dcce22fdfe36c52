"""What one photo uses, measured from a stack's CloudWatch Logs (AWS's, or the local stack's
through AWS_ENDPOINT_URL): each function's duration from its ``REPORT`` lines, and the bytes of
log events ingested per photo, function and state machine logs apart.

``python -m training_job cost --measure-from-logs`` prints the JSON that
``training_job/cost_data/measurements.json`` holds; the file says when and by which command.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable

from scones_core.project import DEFAULT_STACK_NAME

#: The workflow's three functions, as template.yaml names them and their log groups.
FUNCTIONS = ("SerializeImageData", "ClassifyImage", "FilterInferences")
_DURATION = re.compile(r"\tDuration: ([0-9.]+) ms")
#: CloudWatch Logs counts each event's UTF-8 bytes plus 26 bytes (PutLogEvents' batch size
#: rule, https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html);
#: ingestion is taken to be billed on the same bytes.
EVENT_OVERHEAD_BYTES = 26


def function_log_group(stack_name: str, function: str) -> str:
    return f"/aws/lambda/{stack_name}/{function}"


def state_machine_log_group(stack_name: str) -> str:
    return f"/aws/vendedlogs/states/{stack_name}-classify-image"


def report_durations_ms(messages: Iterable[str]) -> list[float]:
    """Each REPORT line's Duration (not Billed Duration, not Init Duration)."""
    found = []
    for message in messages:
        if message.startswith("REPORT "):
            match = _DURATION.search(message)
            if match:
                found.append(float(match.group(1)))
    return found


def event_bytes(messages: Iterable[str]) -> int:
    return sum(len(message.encode()) + EVENT_OVERHEAD_BYTES for message in messages)


def summarize_durations(durations: list[float]) -> dict:
    ordered = sorted(durations)
    return {
        "invocations": len(ordered),
        "median_ms": round(statistics.median(ordered), 2),
        "p90_ms": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 2),
    }


def _messages(logs, group: str) -> list[str]:
    paginator = logs.get_paginator("filter_log_events")
    return [event["message"] for page in paginator.paginate(logGroupName=group) for event in page["events"]]


def measure(logs, stack_name: str = DEFAULT_STACK_NAME) -> dict:
    """The measurements the cost model reads, from the stack's log groups as they stand: run the
    photos first (one execution per photo, every function once)."""
    functions, function_bytes, photos = {}, 0, 0
    for function in FUNCTIONS:
        messages = _messages(logs, function_log_group(stack_name, function))
        durations = report_durations_ms(messages)
        if not durations:
            raise ValueError(f"no REPORT lines in {function_log_group(stack_name, function)}")
        functions[function] = summarize_durations(durations)
        function_bytes += event_bytes(messages)
        photos = max(photos, len(durations))
    machine_bytes = event_bytes(_messages(logs, state_machine_log_group(stack_name)))
    return {
        "photos": photos,
        "functions": functions,
        "function_log_bytes_per_photo": round(function_bytes / photos),
        "state_machine_log_bytes_per_photo": round(machine_bytes / photos),
    }
