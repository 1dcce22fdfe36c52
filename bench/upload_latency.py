"""How soon an upload starts its execution on `up`: a burst of uploads under `incoming/`, and
for each one the time from the PutObject's answer (the client's clock) to its execution's
``startDate`` (DescribeExecution, Step Functions' clock: the same machine). A benchmark, not a
test: its figures depend on the machine and its load.

    python bench/upload_latency.py                     # 100 uploads, 16 at a time
    python bench/upload_latency.py --uploads 200 --concurrency 4

It prints the median, 90th percentile and maximum of those delays, and the burst's own wall time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from local_stack.processes.stack_process import StackProcess, start_stack_process
from local_stack.settings import SAMPLES_DIR

PHOTO = SAMPLES_DIR / "bicycle_s_000035.png"
STARTED_WITHIN_SECONDS = 600  # far above any delay measured (4 s at worst): only a hang reaches it


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16, help="uploads in flight at once")
    parser.add_argument("--execution-environments", type=int, default=2)
    args = parser.parse_args(argv)
    options = ["--bucket", "scones-upload-latency"]
    options += ["--execution-environments", str(args.execution_environments)]
    with start_stack_process(options) as stack:
        delays, burst = measure(stack, args.uploads, args.concurrency)
    print(report(delays, burst, args.concurrency))
    return 0


def measure(stack: StackProcess, uploads: int, concurrency: int) -> tuple[list[float], float]:
    """Each upload's delay (seconds from its answer to its execution's start), and the burst's
    wall time."""
    s3 = stack.client("s3")
    body = PHOTO.read_bytes()
    run = uuid.uuid4().hex[:8]
    keys = [f"incoming/latency-{run}-{number:04d}.png" for number in range(uploads)]

    def upload(key: str) -> tuple[str, float]:
        s3.put_object(Bucket=stack.bucket, Key=key, Body=body)
        return key, time.time()

    began = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        answered = dict(pool.map(upload, keys))
    burst = time.monotonic() - began
    started = started_dates(stack, set(keys))
    return [started[key] - answered[key] for key in keys], burst


def started_dates(stack: StackProcess, keys: set[str]) -> dict[str, float]:
    """The ``startDate`` (epoch seconds) of the execution of each key, once all have started."""
    sfn = stack.client("stepfunctions")
    seen: dict[str, str] = {}  # execution ARN -> its key
    deadline = time.monotonic() + STARTED_WITHIN_SECONDS
    while True:
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.state_machine_arn)
        for page in pages:
            for execution in page["executions"]:
                arn = execution["executionArn"]
                if arn not in seen:
                    seen[arn] = json.loads(sfn.describe_execution(executionArn=arn)["input"])["s3_key"]
        if keys <= set(seen.values()):
            break
        if time.monotonic() > deadline:
            missing = sorted(keys - set(seen.values()))
            raise SystemExit(f"{len(missing)} uploads started no execution, e.g. {missing[:3]}")
        time.sleep(0.2)
    return {
        key: sfn.describe_execution(executionArn=arn)["startDate"].timestamp()
        for arn, key in seen.items()
        if key in keys
    }


def report(delays: list[float], burst: float, concurrency: int) -> str:
    ordered = sorted(delays)
    p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
    return (
        f"{len(delays)} uploads ({concurrency} at a time, {burst:.1f} s in all): from each answer to "
        f"its execution's start: median {statistics.median(delays):.2f} s, "
        f"p90 {p90:.2f} s, max {max(delays):.2f} s, min {min(delays):.2f} s"
    )


if __name__ == "__main__":
    sys.exit(main())
