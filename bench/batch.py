"""`local_stack batch` at scale: the 1,000 shared training photos (and, with --generated N, N
more made by copying them under new names) through BatchClassify's Distributed Map on `up`, as a
user runs it. A benchmark, not a test: its figures depend on the machine and its load.

    python bench/batch.py                          # the 1,000 shared photos, if ../shared has them
    python bench/batch.py --generated 10000        # and 10,000 more

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
from local_stack.settings import REPO_ROOT

SHARED = REPO_ROOT.parent / "shared" / "data" / "cifar100-bicycle-motorcycle"
DIRECT_SAMPLE = 200  # photos the direct loop classifies for its CPU per photo
_MB = 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=SHARED / "train")
    parser.add_argument("--lst", type=Path, default=SHARED / "train.lst")
    parser.add_argument("--generated", type=int, metavar="N", help="also N photos copied from --images")
    parser.add_argument("--execution-environments", type=int, default=4)
    parser.add_argument(
        "--batch-max-concurrency", type=int, help="the stack's BatchMaxConcurrency (default: the template's)"
    )
    args = parser.parse_args(argv)
    if not args.images.is_dir():
        print(f"bench/batch: {args.images} is absent: nothing to measure (it needs ../shared)")
        return 0
    found, _ = images.find_images(args.images, args.lst if args.lst.is_file() else None)
    photos = [image for image in found if image.path.suffix in (".png", ".jpg", ".jpeg")]
    direct_cpu_ms = direct_cpu_ms_per_photo(photos[:DIRECT_SAMPLE])
    print(f"direct loop: CPU {direct_cpu_ms:.1f} ms per photo ({min(DIRECT_SAMPLE, len(photos))} photos)")
    options = ["--endpoint-name", "vehicle-classifier-bench", "--bucket", "scones-bench"]
    options += ["--execution-environments", str(args.execution_environments)]
    if args.batch_max_concurrency is not None:
        options += ["--batch-max-concurrency", str(args.batch_max_concurrency)]
    with start_stack_process(options) as stack:
        print_figures(
            f"{len(photos)} photos of {args.images}", measure(stack, photos, args.lst), direct_cpu_ms
        )
        if args.generated:
            with tempfile.TemporaryDirectory() as folder:
                generated = generated_photos(photos, args.generated, Path(folder))
                print_figures(
                    f"{args.generated} generated photos", measure(stack, generated, None), direct_cpu_ms
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


def measure(stack: StackProcess, photos: list[ImageToRun], lst: Path | None) -> dict:
    """Upload ``photos`` to a prefix of their own, then `local_stack batch --prefix` on it in a
    process of its own: the batch's summary and timing, the CPU and peak RSS of every process."""
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
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | stack.environment
        cpu_before = stack.cpu_seconds_by_part()
        client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        ran = subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True)
        client = resource.getrusage(resource.RUSAGE_CHILDREN)
        if ran.returncode != 0:
            raise SystemExit(f"bench/batch: `local_stack batch` exited {ran.returncode}: {ran.stderr}")
        result = json.loads(out.read_text())
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
    return {"summary": result["summary"], "cpu_ms": cpu_ms, "peak_rss_mb": peak}


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
