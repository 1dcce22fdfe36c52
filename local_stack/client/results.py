"""What a run found: one result per execution, a summary, the table and the JSON file."""

from __future__ import annotations

import json
import math
import statistics
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from local_stack.client.images import ImageToRun


@dataclass
class ExecutionResult:
    image: str
    expected: str | None
    status: str
    label: str | None
    confidence: float | None
    error: str | None
    seconds: float
    cause: str | None = None  # the failure's one-line cause (what, which object, the limits)


# the table shows a cause's start; --json keeps it whole
CAUSE_SHOWN = 80


# an execution that waits for a person's verdict (LowConfidenceAction Review): not a failure, and
# not one to wait for (it may wait a day)
WAITING_FOR_REVIEW = "WaitingForReview"


# an Express execution's end, as Step Functions logs it (its only record: DescribeExecution does
# not answer for Express, https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html)
ENDED_BY_LOG_EVENT = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


def execution_from_log_message(message: str) -> dict | None:
    """An execution's outcome in DescribeExecution's shape (``executionArn``, ``status``,
    ``output``, ``error``, ``cause``) from one log event of its state machine's log group, or
    None where the event is not its end. ``output`` is there only under IncludeExecutionData."""
    try:
        record = json.loads(message)
    except ValueError:
        return None
    status = ENDED_BY_LOG_EVENT.get(record.get("type")) if isinstance(record, dict) else None
    if status is None:
        return None
    details = record.get("details") or {}
    execution = {"executionArn": record.get("execution_arn"), "status": status}
    execution |= {key: details[key] for key in ("output", "error", "cause") if key in details}
    return execution


def result_of(image: ImageToRun, execution: dict, seconds: float) -> ExecutionResult:
    status = execution["status"]
    label = confidence = error = cause = None
    if execution.get("waiting_for_review"):
        error, cause = WAITING_FOR_REVIEW, "a person decides it: python -m review pending / serve"
    elif status == "SUCCEEDED":
        output = json.loads(execution.get("output") or "{}")
        label, confidence = output.get("label"), output.get("confidence")
    else:
        error, cause = execution.get("error") or status, execution.get("cause")
    return ExecutionResult(
        image.path.name, image.expected, status, label, confidence, error, round(seconds, 4), cause
    )


def summarize(results: list[ExecutionResult], wall_seconds: float) -> dict:
    succeeded = [r for r in results if r.status == "SUCCEEDED"]
    graded = [r for r in succeeded if r.expected is not None]
    latencies = sorted(r.seconds for r in results)
    return {
        "executions": len(results),
        "succeeded": len(succeeded),
        "failed": dict(
            Counter(
                r.error for r in results if r.status != "SUCCEEDED" and r.error != WAITING_FOR_REVIEW
            ).most_common()
        ),
        "waiting_for_review": sum(r.error == WAITING_FOR_REVIEW for r in results),
        "accuracy_of_answered": round(sum(r.label == r.expected for r in graded) / len(graded), 4)
        if graded
        else None,
        "coverage": round(len(succeeded) / len(results), 4) if results else None,
        "executions_per_second": round(len(results) / wall_seconds, 2) if wall_seconds else None,
        "latency_p50_seconds": round(statistics.median(latencies), 4) if latencies else None,
        "latency_p95_seconds": round(nearest_rank(latencies, 0.95), 4) if latencies else None,
        "wall_seconds": round(wall_seconds, 3),
    }


def write_json(path: Path, summary: dict, results: list[ExecutionResult]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"summary": summary, "executions": [asdict(r) for r in results]}, indent=2) + "\n"
    )


def print_table(results: list[ExecutionResult], summary: dict, out=None) -> None:
    out = out or sys.stdout
    header = ("image", "expected", "status", "label", "confidence", "error", "seconds", "cause")
    rows = [
        (
            r.image,
            r.expected or "-",
            r.status,
            r.label or "-",
            f"{r.confidence:.4f}" if r.confidence is not None else "-",
            r.error or "-",
            f"{r.seconds:.3f}",
            _shortened(r.cause, r.image) if r.cause else "-",
        )
        for r in results
    ]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)
    print(file=out)
    failed = ", ".join(f"{name} {count}" for name, count in summary["failed"].items()) or "none"
    waiting = (
        f"  waiting for review {summary['waiting_for_review']}" if summary.get("waiting_for_review") else ""
    )
    print(
        f"executions {summary['executions']}  succeeded {summary['succeeded']}  failed: {failed}{waiting}\n"
        f"accuracy of answered {_accuracy(summary)}  coverage {summary['coverage']}  "
        f"{summary['executions_per_second']} executions/s  "
        f"p50 {summary['latency_p50_seconds']} s  p95 {summary['latency_p95_seconds']} s",
        file=out,
    )


def _shortened(text: str, image: str = "") -> str:
    line = " ".join(text.split())
    # the row names the photo: a cause that starts with its S3 URI shows what is wrong instead
    first, _, rest = line.partition(" ")
    if image and rest and first.startswith("s3://") and first.endswith("/" + image):
        line = rest
    return line if len(line) <= CAUSE_SHOWN else line[: CAUSE_SHOWN - 3] + "..."


def nearest_rank(ordered: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted values: the smallest value with at least ``share``
    of the values at or below it (so p95 is never below the median, however few the values)."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _accuracy(summary: dict) -> str:
    if summary["accuracy_of_answered"] is None:
        return "- (no expected labels: pass --lst)"
    return str(summary["accuracy_of_answered"])
