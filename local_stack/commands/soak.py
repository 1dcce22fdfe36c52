"""``python -m local_stack bench --soak N``: does the stack's memory stay bounded? N executions
of one ~180 KB photo (a committed sample, upscaled at run time: nothing large is committed)
through ``up`` in a child process, and the resident memory (RSS) of each of its processes after
the warm-up, half-way and at the end.

The warm-up runs as many executions as ``up`` retains (``--retain-executions``, default 1,000):
``up`` grows while it fills what it keeps (each ended execution its input, output and history;
each log group its newest events) and then stays flat, so the samples after the warm-up show
what grows without bound. The execution environments and the endpoint stay flat; S3 grows with
what it stores (the endpoint's data capture holds every photo once more, base64), which the
table prints beside it.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from local_stack.client import images, results
from local_stack.client.executions import run_executions
from local_stack.client.images import ImageToRun
from local_stack.processes.stack_process import StackProcess, resident_bytes, start_stack_process
from local_stack.settings import DEFAULT_RETAIN_EXECUTIONS, SAMPLES_DIR

TARGET_BYTES = 180_000  # a phone photo after light compression; its base64 fits a 256 KB payload
_MB = 1024 * 1024


def large_photo(folder: Path, target_bytes: int = TARGET_BYTES) -> ImageToRun:
    """The first committed sample upscaled (bicubic) until its PNG is at least ``target_bytes``:
    a real photo's content, at the size of one, the same every run."""
    source = sorted(SAMPLES_DIR.glob("*.png"))[0]
    with Image.open(source) as image:
        rgb = image.convert("RGB")
    side, data = 256, b""
    while len(data) < target_bytes:
        side += 32
        buffer = io.BytesIO()
        rgb.resize((side, side), Image.Resampling.BICUBIC).save(buffer, format="PNG")
        data = buffer.getvalue()
    path = folder / f"{source.stem}-{side}px.png"
    path.write_bytes(data)
    return ImageToRun(path, expected=None)


def run_soak(
    executions: int, concurrency: int, execution_environments: int, retain_executions: int | None = None
) -> int:
    with tempfile.TemporaryDirectory(prefix="local_stack-soak-") as folder:
        photo = large_photo(Path(folder))
        print(
            f"soak: {executions} executions of {photo.path.name} ({photo.path.stat().st_size // 1000} KB) "
            f"at concurrency {concurrency}"
            + (f", --retain-executions {retain_executions}" if retain_executions else "")
        )
        options = ["--bucket", "scones-soak", "--execution-environments", str(execution_environments)]
        if retain_executions:
            options += ["--retain-executions", str(retain_executions)]
        warm_up = max(concurrency, retain_executions or DEFAULT_RETAIN_EXECUTIONS)
        with start_stack_process(options) as stack:
            samples, ran, wall = _soak(stack, photo, executions, concurrency, warm_up)
    _print_memory(samples)
    summary = results.summarize(ran, wall)
    print(
        f"executions: {summary['executions']}, succeeded {summary['succeeded']}, failed {summary['failed']}, "
        f"{summary['executions_per_second']} executions/s"
    )
    return 0


def _soak(
    stack: StackProcess, photo: ImageToRun, executions: int, concurrency: int, warm_up: int
) -> tuple[list[tuple[str, dict]], list, float]:
    """Warm up (``warm_up`` executions: every environment has imported its functions, every pool
    is full, ``up`` holds all it retains), then run the executions in two halves; a memory
    sample after each step."""
    s3, sfn = stack.client("s3"), stack.client("stepfunctions")
    keys = images.upload_images(s3, stack.bucket, [photo])

    def run(count: int) -> tuple[list, float]:
        return run_executions(sfn, stack.state_machine_arn, stack.bucket, [photo] * count, keys, concurrency)

    def sample(when: str) -> tuple[str, dict]:
        return when, {**_resident_megabytes(stack), **_stored_in_s3(s3, stack.bucket)}

    print(f"warm-up: {warm_up} executions")
    run(warm_up)
    samples = [sample("start")]
    first, first_wall = run(executions // 2)
    samples.append(sample("middle"))
    second, second_wall = run(executions - executions // 2)
    samples.append(sample("end"))
    return samples, first + second, first_wall + second_wall


def _resident_megabytes(stack: StackProcess) -> dict[str, float]:
    """RSS in MB of each of the stack's processes, by part (execution environments numbered)."""
    memory: dict[str, float] = {}
    counts: dict[str, int] = {}
    for part, pid in stack.processes():
        rss = resident_bytes(pid)
        if rss is None:
            continue
        if part == "execution environments":
            counts[part] = counts.get(part, 0) + 1
            part = f"execution environment {counts[part]}"
        elif part == "moto + interpreter":
            part = "up (moto + interpreter)"
        memory[part] = rss / _MB
    return memory


def _stored_in_s3(s3, bucket: str) -> dict[str, float]:
    """What the local S3 holds, in MB: the photo and the data capture."""
    stored = sum(
        item["Size"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    )
    return {"S3 objects (stored, not RSS)": stored / _MB}


def _print_memory(samples: list[tuple[str, dict]], out: Callable[[str], None] = print) -> None:
    parts = list(dict.fromkeys(part for _, memory in samples for part in memory))
    width = max(len(part) for part in parts)
    out(f"{'RSS, MB':<{width}}  " + "  ".join(f"{when:>8}" for when, _ in samples))
    for part in parts:
        cells = [memory.get(part) for _, memory in samples]
        out(f"{part:<{width}}  " + "  ".join(f"{c:8.1f}" if c is not None else f"{'-':>8}" for c in cells))
