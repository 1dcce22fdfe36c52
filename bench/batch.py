"""`local_stack batch` at scale: the 1,000 shared training photos (and, with --generated N, N
more made by copying them under new names) through BatchClassify's Distributed Map on `up`, as a
user runs it. A benchmark, not a test: its figures depend on the machine and its load.

    python bench/batch.py                          # the 1,000 shared photos, if ../shared has them
    python bench/batch.py --generated 10000        # and 10,000 more
    python bench/batch.py --endpoint-service-ms 150 --batch-max-concurrency 100 --batch-size 10
                                                   # the old 100 x 10 against a slower instance

The batch sizes itself from the endpoint's DescribeEndpoint (`up` registers it with the capacity
it serves: --endpoint-instances, --endpoint-service-ms, ...), unless --batch-max-concurrency and
--batch-size are given, which the batch's input then carries (and `up` takes as the template's).
A batch that fails (TooManyPhotosFailed) is reported with its Map Run's item counts.

For each set it prints photos/s (the batch's own wall time, from StartExecution to its end;
the upload is done before and not counted), CPU ms per photo of each of the stack's processes
and of the `batch` client, that CPU as a multiple of the direct loop's (the three handlers and
the model called in a loop, the figure `python -m local_stack bench` reports), and the peak
resident memory (VmHWM) of every process, which must not grow with the batch beyond its results.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from itertools import cycle, islice
from pathlib import Path

from local_stack.client import images
from local_stack.client.images import ImageToRun
from local_stack.commands.bench import direct_loop
from local_stack.processes.stack_process import StackProcess, start_stack_process
from local_stack.settings import REPO_ROOT, STACK_NAME
from scones_core.stack_outputs import read_stack

SHARED = REPO_ROOT.parent / "shared" / "data" / "cifar100-bicycle-motorcycle"
DIRECT_SAMPLE = 200  # photos the direct loop classifies for its CPU per photo
# up's options the bench passes on: the endpoint's capacity and ClassifyImage's read timeout
STACK_FLAGS = {
    "--endpoint-instances": int,
    "--endpoint-service-ms": float,
    "--endpoint-timeout-seconds": int,
    "--endpoint-max-concurrency": int,
}
_MB = 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=SHARED / "train")
    parser.add_argument("--lst", type=Path, default=SHARED / "train.lst")
    parser.add_argument("--generated", type=int, metavar="N", help="also N photos copied from --images")
    parser.add_argument("--execution-environments", type=int, default=4)
    parser.add_argument(
        "--batch-max-concurrency",
        type=int,
        help="children at once (the input's max_concurrency and the stack's BatchMaxConcurrency; "
        "default: sized to the endpoint)",
    )
    parser.add_argument(
        "--batch-size", type=int, help="photos per child (with --batch-max-concurrency; default: sized)"
    )
    for flag, kind in STACK_FLAGS.items():
        parser.add_argument(flag, type=kind, help=f"`up {flag}` (default: up's)")
    args = parser.parse_args(argv)
    if (args.batch_max_concurrency is None) != (args.batch_size is None):
        parser.error("--batch-max-concurrency and --batch-size go together")
    if not args.images.is_dir():
        print(f"bench/batch: {args.images} is absent: nothing to measure (it needs ../shared)")
        return 0
    found, _ = images.find_images(args.images, args.lst if args.lst.is_file() else None)
    photos = [image for image in found if image.path.suffix in (".png", ".jpg", ".jpeg")]
    direct_cpu_ms = direct_cpu_ms_per_photo(photos[:DIRECT_SAMPLE])
    print(f"direct loop: CPU {direct_cpu_ms:.1f} ms per photo ({min(DIRECT_SAMPLE, len(photos))} photos)")
    options = ["--endpoint-name", "vehicle-classifier-bench", "--bucket", "scones-bench"]
    options += ["--execution-environments", str(args.execution_environments)]
    sizing = []
    if args.batch_max_concurrency is not None:
        sizing = [
            "--batch-max-concurrency",
            str(args.batch_max_concurrency),
            "--batch-size",
            str(args.batch_size),
        ]
    for flag in STACK_FLAGS:
        value = getattr(args, flag.lstrip("-").replace("-", "_"))
        if value is not None:
            options += [flag, str(value)]
    print(f"up {' '.join(options + sizing)}")
    with start_stack_process(options + sizing) as stack:
        print_figures(
            f"{len(photos)} photos of {args.images}", measure(stack, photos, args.lst, sizing), direct_cpu_ms
        )
        if args.generated:
            with tempfile.TemporaryDirectory() as folder:
                generated = generated_photos(photos, args.generated, Path(folder))
                print_figures(
                    f"{args.generated} generated photos",
                    measure(stack, generated, None, sizing),
                    direct_cpu_ms,
                )
    return 0


def direct_cpu_ms_per_photo(photos: list[ImageToRun]) -> float:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        cpu = time.process_time()
        direct_loop(photos)
        return (time.process_time() - cpu) * 1000 / len(photos)


def generated_photos(photos: list[ImageToRun], count: int, folder: Path) -> list[ImageToRun]:
    """``count`` photos copied from ``photos`` under new names (the same answers, new keys)."""
    made = []
    for number, image in enumerate(islice(cycle(photos), count)):
        path = folder / f"g{number:07d}{image.path.suffix}"
        shutil.copyfile(image.path, path)
        made.append(ImageToRun(path, None))
    return made


def measure(stack: StackProcess, photos: list[ImageToRun], lst: Path | None, sizing: list[str]) -> dict:
    """Upload ``photos`` to a prefix of their own, then `local_stack batch --prefix` on it in a
    process of its own (with the ``sizing`` options): the batch's summary and timing (for a batch
    that failed, its error and Map Run's counts), the CPU and peak RSS of every process."""
    prefix = f"images/bench-{uuid.uuid4().hex[:8]}/"
    s3 = stack.client("s3")
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda image: s3.put_object(
                    Bucket=stack.bucket, Key=prefix + image.path.name, Body=image.path.read_bytes()
                ),
                photos,
            )
        )
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "batch.json"
        command = [sys.executable, "-m", "local_stack", "batch", "--prefix", prefix, "--json", str(out)]
        if lst is not None and lst.is_file():
            command += ["--lst", str(lst)]
        command += sizing
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | stack.environment
        cpu_before = stack.cpu_seconds_by_part()
        client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        ran = subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True)
        wall = time.perf_counter() - started
        client = resource.getrusage(resource.RUSAGE_CHILDREN)
        if ran.returncode == 0:
            summary = json.loads(out.read_text())["summary"]
        else:
            summary = failed_batch(stack, ran.stderr, wall, len(photos))
    cpu_ms = {
        part: (seconds - cpu_before.get(part, 0.0)) * 1000 / len(photos)
        for part, seconds in stack.cpu_seconds_by_part().items()
    }
    cpu_ms["batch client"] = (
        (client.ru_utime + client.ru_stime - client_before.ru_utime - client_before.ru_stime)
        * 1000
        / len(photos)
    )
    peak = peak_rss_mb(stack)
    peak["batch client"] = client.ru_maxrss / 1024  # kB on Linux; the largest child waited for so far
    return {"summary": summary, "cpu_ms": cpu_ms, "peak_rss_mb": peak}


def failed_batch(stack: StackProcess, stderr: str, wall: float, photos: int) -> dict:
    """What a batch that ended FAILED did: its error and cause, and its Map Run's item counts
    (a failed child fails all its photos; wall time here includes the client's start)."""
    sfn = stack.client("stepfunctions")
    batch_arn = read_stack(stack.client("cloudformation"), STACK_NAME).batch_classify_state_machine_arn
    (execution,) = sfn.list_executions(stateMachineArn=batch_arn, maxResults=1)["executions"]
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    if described["status"] != "FAILED":
        raise SystemExit(f"bench/batch: `local_stack batch` failed: {stderr}")
    map_runs = sfn.list_map_runs(executionArn=execution["executionArn"])["mapRuns"]
    items = sfn.describe_map_run(mapRunArn=map_runs[0]["mapRunArn"])["itemCounts"] if map_runs else {}
    return {
        "photos": photos,
        "wall_seconds": round(wall, 3),
        "photos_per_second": round(items.get("succeeded", 0) / wall, 2),
        "child_executions": None,
        "answered": f"{items.get('succeeded', 0)} (answered or refused)",
        "refused": "-",
        "errors": {described.get("error", "FAILED"): items.get("failed", 0)},
        "failed": {key: items.get(key, 0) for key in ("failed", "aborted", "timedOut", "pending")},
        "cause": (described.get("cause") or "")[:300],
    }


def peak_rss_mb(stack: StackProcess) -> dict[str, float]:
    """VmHWM (the peak resident memory since start) of `up` and of each of its children."""
    peaks, counts = {}, {}
    for part, pid in stack.processes():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        (line,) = [line for line in status.splitlines() if line.startswith("VmHWM:")]
        if part == "execution environments":
            counts[part] = counts.get(part, 0) + 1
            part = f"execution environment {counts[part]}"
        peaks[part] = int(line.split()[1]) / 1024
    return peaks


def print_figures(what: str, figures: dict, direct_cpu_ms: float) -> None:
    summary, cpu_ms = figures["summary"], figures["cpu_ms"]
    errors = ", ".join(f"{name} {count}" for name, count in summary["errors"].items()) or "none"
    print(
        f"\n{what}: {summary['photos']} photos in {summary['wall_seconds']} s, "
        f"{summary['photos_per_second']} photos/s, {summary['child_executions']} child executions; "
        f"answered {summary['answered']}, refused {summary['refused']}, errors: {errors}"
    )
    if "failed" in summary:
        print(f"BATCH FAILED: Map Run items {summary['failed']}; cause: {summary['cause']}")
    if "expected" in summary:
        expected = summary["expected"]
        print(f"accuracy of answered {expected['accuracy']}, coverage {expected['coverage']}")
    total = sum(cpu_ms.values())
    detail = ", ".join(f"{part} {ms:.1f}" for part, ms in sorted(cpu_ms.items(), key=lambda p: -p[1]))
    print(f"CPU per photo: {total:.1f} ms ({detail}): {total / direct_cpu_ms:.1f}x the direct loop's")
    peaks = ", ".join(f"{part} {mb:.0f}" for part, mb in figures["peak_rss_mb"].items())
    print(f"peak RSS, MB: {peaks}")


if __name__ == "__main__":
    sys.exit(main())
