"""Benchmark: generate N capture records (many per file, across hours) and time the report on them.

``python -m monitoring bench --records 100000`` prints the wall time and peak RSS of a separate
``python -m monitoring report`` process (``getrusage(RUSAGE_CHILDREN).ru_maxrss``).
"""

from __future__ import annotations

import base64
import io
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

ENDPOINT = "bench-endpoint"
VARIANT = "AllTraffic"
SPAN = timedelta(hours=48)
START = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
SAMPLE_IMAGES = Path(__file__).resolve().parents[2] / "shared/data/cifar100-bicycle-motorcycle/train"


def sample_pngs(count: int = 40, seed: int = 0) -> list[bytes]:
    """Real CIFAR-100 images when the shared data is there, otherwise generated 32x32 PNGs."""
    real = sorted(SAMPLE_IMAGES.glob("*.png"))[:count] if SAMPLE_IMAGES.is_dir() else []
    if real:
        return [p.read_bytes() for p in real]
    rng = random.Random(seed)
    pngs = []
    for _ in range(count):
        image = Image.new("RGB", (32, 32), tuple(rng.randrange(256) for _ in range(3)))
        image.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(32 * 32)])
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        pngs.append(buffer.getvalue())
    return pngs


def capture_line(png_b64: str, probabilities: list[float], when: datetime, encoding: str) -> str:
    text = json.dumps(probabilities)
    data = {
        "BASE64": base64.b64encode(text.encode()).decode(),
        "JSON": text,
        "CSV": ",".join(repr(p) for p in probabilities),
    }[encoding]
    record = {
        "captureData": {
            "endpointInput": {
                "observedContentType": "image/png",
                "mode": "INPUT",
                "data": png_b64,
                "encoding": "BASE64",
            },
            "endpointOutput": {
                "observedContentType": "text/csv" if encoding == "CSV" else "application/json",
                "mode": "OUTPUT",
                "data": data,
                "encoding": encoding,
            },
        },
        "eventMetadata": {"eventId": str(uuid.uuid4()), "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "eventVersion": "0",
    }
    return json.dumps(record, separators=(",", ":"))


def generate_capture(root: Path, records: int, per_file: int, seed: int = 0) -> int:
    """SageMaker's layout: <root>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm-ss-mmm>-<uuid>.jsonl."""
    rng = random.Random(seed)
    images = [base64.b64encode(png).decode() for png in sample_pngs()]
    step = SPAN / max(records, 1)
    files = 0
    for first in range(0, records, per_file):
        when = START + step * first
        folder = root / ENDPOINT / VARIANT / when.strftime("%Y/%m/%d/%H")
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{when:%M-%S}-{when.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
        with open(folder / name, "w", encoding="utf-8") as handle:
            for line in _lines(rng, images, first, min(per_file, records - first), step):
                handle.write(line + "\n")
        files += 1
    return files


def _lines(rng: random.Random, images: list[str], first: int, count: int, step: timedelta) -> Iterator[str]:
    for index in range(first, first + count):
        when = START + step * index
        drift = 0.04 * (when - START) / SPAN  # the model grows less sure over the two days
        confidence = min(1.0, max(0.5, 1.0 - abs(rng.gauss(0.0, 0.05 + drift))))
        probabilities = [confidence, 1.0 - confidence]
        if rng.random() < 0.5:
            probabilities.reverse()
        if rng.random() < 0.001:
            yield '{"captureData": {"endpointInput": '  # a truncated line
            continue
        encoding = rng.choices(("BASE64", "JSON", "CSV"), weights=(7, 2, 1))[0]
        yield capture_line(images[index % len(images)], probabilities, when, encoding)


def run_bench(records: int, per_file: int, workdir: Path | None) -> int:
    root = workdir or Path(tempfile.mkdtemp(prefix="monitoring-bench-"))
    capture, out = root / "capture", root / "report"
    try:
        started = time.perf_counter()
        files = generate_capture(capture, records, per_file)
        generated = time.perf_counter() - started
        size = sum(p.stat().st_size for p in capture.rglob("*.jsonl"))
        print(
            f"generated {records:,} records in {files} files ({size / 1e6:.0f} MB) in {generated:.1f} s",
            file=sys.stderr,
        )

        command = [
            sys.executable,
            "-m",
            "monitoring",
            "report",
            "--capture",
            str(capture),
            "--out",
            str(out),
            "--no-progress",
        ]
        started = time.perf_counter()
        completed = subprocess.run(command, cwd=Path(__file__).resolve().parents[1], check=False)
        wall = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
        summary = json.loads((out / "summary.json").read_text()) if completed.returncode == 0 else {}
        print(
            json.dumps(
                {
                    "records_generated": records,
                    "records_reported": summary.get("records"),
                    "malformed_lines": summary.get("malformed_lines"),
                    "files": files,
                    "report_wall_s": round(wall, 2),
                    "report_peak_rss_mb": round(peak_mb, 1),
                    "exit_code": completed.returncode,
                },
                indent=2,
            )
        )
        return completed.returncode
    finally:
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)
