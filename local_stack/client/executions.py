"""Run one workflow execution per image against a deployed (local or real) stack, and sum up."""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CLASS_NAMES = ("bicycle", "motorcycle")
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


class LocalStackError(Exception):
    """A mistake in what the user asked for; the CLI prints the message, never a traceback."""


@dataclass(frozen=True)
class ImageToRun:
    path: Path
    expected: str | None


@dataclass
class ExecutionResult:
    image: str
    expected: str | None
    status: str
    label: str | None
    confidence: float | None
    error: str | None
    seconds: float


def find_images(
    images_dir: Path, lst: Path | None = None, limit: int | None = None
) -> tuple[list[ImageToRun], list[str]]:
    """The files to run (every regular file but .lst ones: non-images fail by name in the
    workflow) with their expected labels, and warnings about the .lst."""
    if not images_dir.is_dir():
        raise LocalStackError(f"--images {images_dir}: no such folder")
    files = sorted(
        p for p in images_dir.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix != ".lst"
    )
    if not files:
        raise LocalStackError(f"--images {images_dir}: the folder holds no files")
    expected: dict[str, str] = {}
    warnings: list[str] = []
    if lst is not None:
        expected, missing = read_lst(lst, images_dir)
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            warnings.append(
                f"{len(missing)} file(s) named in {lst} are not in {images_dir}, skipped: {shown}"
            )
    images = [ImageToRun(path, expected.get(path.name)) for path in files]
    return (images[:limit] if limit else images), warnings


def read_lst(lst: Path, images_dir: Path) -> tuple[dict[str, str], list[str]]:
    """``index<TAB>label<TAB>path`` lines: expected class by file name, and the missing files."""
    if not lst.is_file():
        raise LocalStackError(f"--lst {lst}: no such file")
    expected, missing = {}, []
    for number, line in enumerate(lst.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[1].strip() not in ("0", "1"):
            raise LocalStackError(f"{lst}:{number}: expected 'index<TAB>label(0|1)<TAB>path', got {line!r}")
        name = Path(parts[2].strip()).name
        if not (images_dir / name).is_file():
            missing.append(name)
        expected[name] = CLASS_NAMES[int(parts[1])]
    return expected, missing


def upload_images(s3: Any, bucket: str, images: list[ImageToRun], prefix: str = "images") -> dict[str, str]:
    keys = {}
    for image in images:
        key = f"{prefix}/{image.path.name}"
        s3.put_object(Bucket=bucket, Key=key, Body=image.path.read_bytes())
        keys[image.path.name] = key
    return keys


def run_executions(
    sfn: Any,
    state_machine_arn: str,
    bucket: str,
    images: list[ImageToRun],
    keys: dict[str, str],
    concurrency: int,
) -> tuple[list[ExecutionResult], float]:
    """At most ``concurrency`` executions in flight; returns the results in image order and the wall time."""
    run_id = uuid.uuid4().hex[:8]
    watcher = ExecutionWatcher(sfn, state_machine_arn)

    def run_one(numbered: tuple[int, ImageToRun]) -> ExecutionResult:
        number, image = numbered
        started = time.perf_counter()
        arn = sfn.start_execution(
            stateMachineArn=state_machine_arn,
            name=f"{run_id}-{number:05d}",  # unique: unnamed executions collide in moto
            input=json.dumps({"s3_bucket": bucket, "s3_key": keys[image.path.name]}),
        )["executionArn"]
        execution = watcher.wait(arn)
        return _result(image, execution, time.perf_counter() - started)

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            results = list(pool.map(run_one, enumerate(images)))
    finally:
        watcher.close()
    return results, time.perf_counter() - started


class ExecutionWatcher:
    """One thread asks which executions are still RUNNING, instead of every worker polling
    DescribeExecution: the load on the server stays flat as concurrency grows (per-worker polling
    was most of the requests the local stack served). A waiter whose execution has left RUNNING
    describes it itself, so the describes of one round run side by side (one after another in
    the watcher, they held each ended execution's waiter for ~150 ms at 80 executions/s)."""

    def __init__(
        self, sfn: Any, state_machine_arn: str, interval: float = 0.05, timeout: float = 300.0
    ) -> None:
        self._sfn, self._arn, self._interval, self._timeout = sfn, state_machine_arn, interval, timeout
        self._waiting: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="execution-watcher", daemon=True)
        self._thread.start()

    def wait(self, execution_arn: str) -> dict:
        """The execution's DescribeExecution once it has ended, or as it stands at the timeout."""
        deadline = time.monotonic() + self._timeout
        backoff = self._interval
        while True:
            left: Future = Future()
            with self._lock:
                if self._stopped.is_set():
                    raise LocalStackError("the execution watcher is closed")
                self._waiting[execution_arn] = left
            if not futures.wait([left], timeout=max(0.0, deadline - time.monotonic())).done:
                # still running: report it as it stands (status RUNNING) rather than end the whole run
                with self._lock:
                    self._waiting.pop(execution_arn, None)
                return self._sfn.describe_execution(executionArn=execution_arn)
            left.result()  # raises the watcher's error, if it had one
            execution = self._sfn.describe_execution(executionArn=execution_arn)
            if execution["status"] in TERMINAL:
                return execution
            # running, but not listed yet (AWS's ListExecutions is eventually consistent): back off,
            # or every round would wake and describe it again
            time.sleep(max(0.0, min(backoff, deadline - time.monotonic())))
            backoff = min(2 * backoff, 5.0)

    def close(self) -> None:
        self._stopped.set()
        self._thread.join()
        with self._lock:
            for left in self._waiting.values():
                left.set_exception(LocalStackError("the execution watcher was closed while waiting"))
            self._waiting.clear()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            with self._lock:
                waiting = list(self._waiting)
            if not waiting:
                continue
            try:
                running = {
                    execution["executionArn"]
                    for page in self._sfn.get_paginator("list_executions").paginate(
                        stateMachineArn=self._arn, statusFilter="RUNNING"
                    )
                    for execution in page["executions"]
                }
            except Exception as error:  # report to the waiters rather than die silently
                with self._lock:
                    for left in self._waiting.values():
                        left.set_exception(error)
                    self._waiting.clear()
                continue
            with self._lock:
                for arn in set(waiting) - running:
                    left = self._waiting.pop(arn, None)  # None: its waiter timed out meanwhile
                    if left is not None:
                        left.set_result(None)


def _result(image: ImageToRun, execution: dict, seconds: float) -> ExecutionResult:
    status = execution["status"]
    label = confidence = error = None
    if status == "SUCCEEDED":
        output = json.loads(execution.get("output") or "{}")
        label, confidence = output.get("label"), output.get("confidence")
    else:
        error = execution.get("error") or status
    return ExecutionResult(
        image.path.name, image.expected, status, label, confidence, error, round(seconds, 4)
    )


def summarize(results: list[ExecutionResult], wall_seconds: float) -> dict:
    succeeded = [r for r in results if r.status == "SUCCEEDED"]
    graded = [r for r in succeeded if r.expected is not None]
    latencies = sorted(r.seconds for r in results)
    return {
        "executions": len(results),
        "succeeded": len(succeeded),
        "failed": dict(Counter(r.error for r in results if r.status != "SUCCEEDED").most_common()),
        "accuracy_of_answered": round(sum(r.label == r.expected for r in graded) / len(graded), 4)
        if graded
        else None,
        "coverage": round(len(succeeded) / len(results), 4) if results else None,
        "executions_per_second": round(len(results) / wall_seconds, 2) if wall_seconds else None,
        "latency_p50_seconds": round(statistics.median(latencies), 4) if latencies else None,
        "latency_p95_seconds": round(latencies[int(0.95 * (len(latencies) - 1))], 4) if latencies else None,
        "wall_seconds": round(wall_seconds, 3),
    }


def write_json(path: Path, summary: dict, results: list[ExecutionResult]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"summary": summary, "executions": [asdict(r) for r in results]}, indent=2) + "\n"
    )


def print_table(results: list[ExecutionResult], summary: dict, out=None) -> None:
    out = out or sys.stdout
    header = ("image", "expected", "status", "label", "confidence", "error", "seconds")
    rows = [
        (
            r.image,
            r.expected or "-",
            r.status,
            r.label or "-",
            f"{r.confidence:.4f}" if r.confidence is not None else "-",
            r.error or "-",
            f"{r.seconds:.3f}",
        )
        for r in results
    ]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)
    print(file=out)
    failed = ", ".join(f"{name} {count}" for name, count in summary["failed"].items()) or "none"
    print(
        f"executions {summary['executions']}  succeeded {summary['succeeded']}  failed: {failed}\n"
        f"accuracy of answered {summary['accuracy_of_answered']}  coverage {summary['coverage']}  "
        f"{summary['executions_per_second']} executions/s  "
        f"p50 {summary['latency_p50_seconds']} s  p95 {summary['latency_p95_seconds']} s",
        file=out,
    )
