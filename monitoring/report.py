"""Read a capture source once, streaming, and write summary.json, the plots, the gallery and report.html."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from monitoring import DEFAULT_THRESHOLD, drift, html_report, plots, reviews
from monitoring.capture_records import CaptureRecord, parse_record
from monitoring.capture_source import CaptureSource
from monitoring.exceptions import InvalidRecord, NoCaptureRecords
from monitoring.gallery import LeastConfident
from monitoring.summary import CaptureSummary
from training_job.local_model.baseline import Baseline

GALLERY_SIZE = 12
_PROGRESS_EVERY = 2_000  # lines between progress-bar updates


@dataclass(frozen=True)
class ReportFiles:
    summary: Path
    report: Path
    plots: list[Path]
    gallery: Path
    drift: dict | None = None  # summary.json's drift object, when a baseline was given
    reviews: dict | None = None  # summary.json's reviews object, when a reviewed set was given


class RecordObserver(Protocol):
    """Anything else that counts the usable records as they stream by (the drift counts)."""

    def add(self, record: CaptureRecord) -> None: ...


def read_capture(
    source: CaptureSource,
    threshold: float = DEFAULT_THRESHOLD,
    gallery_size: int = GALLERY_SIZE,
    progress: bool = True,
    observers: Sequence[RecordObserver] = (),
) -> tuple[CaptureSummary, LeastConfident]:
    """Every record of every ``*.jsonl`` in the source, folded into running aggregates."""
    files = source.list_files()
    summary = CaptureSummary(threshold)
    gallery = LeastConfident(gallery_size)
    total = sum(f.size for f in files)
    with tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        desc="reading capture",
        file=sys.stderr,
        disable=not progress or not files,
        leave=False,
    ) as bar:
        for capture_file in files:
            done = 0
            pending = 0
            try:
                for index, line in enumerate(source.iter_lines(capture_file), 1):
                    pending += len(line)
                    if line.strip():
                        _fold(line, capture_file.name, summary, gallery, observers)
                    if index % _PROGRESS_EVERY == 0:
                        bar.update(pending)
                        done, pending = done + pending, 0
            except (OSError, BotoCoreError, ClientError) as exc:  # one bad file never loses the others
                summary.file_failed(capture_file.name, exc)
            else:
                summary.files_read += 1
            bar.update(max(0, capture_file.size - done))
    return summary, gallery


def _fold(
    line: bytes,
    file_name: str,
    summary: CaptureSummary,
    gallery: LeastConfident,
    observers: Sequence[RecordObserver] = (),
) -> None:
    try:
        record = parse_record(line)
    except InvalidRecord as exc:
        summary.skip(exc.reason)
        return
    summary.add(record)
    for observer in observers:
        observer.add(record)
    if not gallery.offer(record, file_name):
        summary.undecodable_images += 1


def write_report(
    source: CaptureSource,
    out_dir: Path,
    threshold: float = DEFAULT_THRESHOLD,
    gallery_size: int = GALLERY_SIZE,
    progress: bool = True,
    baseline: Baseline | None = None,
    baseline_location: str = "",
    reviewed: reviews.ReviewedSet | None = None,
) -> ReportFiles:
    counts = drift.CaptureCounts(baseline) if baseline else None
    summary, gallery = read_capture(
        source, threshold, gallery_size, progress, observers=[counts] if counts else ()
    )
    if summary.records == 0:
        raise NoCaptureRecords(_nothing_found(source, summary))

    out_dir.mkdir(parents=True, exist_ok=True)
    items = gallery.items()
    titled_plots = [
        ("Confidence over time", plots.confidence_over_time(summary, out_dir / "confidence_over_time.png")),
        (
            "Confidence per predicted class",
            plots.confidence_histogram(summary, out_dir / "confidence_histogram.png"),
        ),
        ("Predictions per hour", plots.predictions_per_hour(summary, out_dir / "predictions_per_hour.png")),
        (
            "Share below the threshold per hour",
            plots.below_threshold_share(summary, out_dir / "below_threshold_share.png"),
        ),
    ]
    gallery_png = plots.gallery(items, out_dir / "gallery.png")
    drift_result = drift.compare_with_baseline(baseline, counts, baseline_location) if baseline else None
    drift_png = plots.drift_distributions(drift_result, out_dir / "drift.png") if drift_result else None

    data = {"source": source.description, **summary.to_dict()}
    if drift_result:
        data["drift"] = drift_result
    if reviewed is not None:
        data["reviews"] = reviews.reviews_summary(reviewed, summary.below, threshold)
    data["least_confident"] = [
        {
            "event_id": item.event_id,
            "inference_id": item.inference_id,
            "inference_time": item.inference_time.isoformat().replace("+00:00", "Z"),
            "label": item.label,
            "confidence": item.confidence,
            "probabilities": list(item.probabilities),
            "file": item.source_file,
        }
        for item in items
    ]
    data["outputs"] = {
        "plots": [p.name for _, p in titled_plots],
        "gallery": gallery_png.name,
        "report": "report.html",
    }
    if drift_png:
        data["outputs"]["drift_plot"] = drift_png.name
    summary_path = out_dir / "summary.json"
    summary_path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    report_path = html_report.write_report(
        out_dir / "report.html", data, titled_plots, gallery_png, items, drift_png
    )
    return ReportFiles(
        summary_path,
        report_path,
        [p for _, p in titled_plots],
        gallery_png,
        drift_result,
        data.get("reviews"),
    )


def _nothing_found(source: CaptureSource, summary: CaptureSummary) -> str:
    if summary.files_read == 0 and summary.files_unreadable == 0:
        return f"no *.jsonl capture files under {source.description}"
    skipped = ", ".join(f"{k}={v}" for k, v in summary.skipped.items() if v) or "none"
    return (
        f"no usable capture records under {source.description} "
        f"({summary.files_read} files read, {summary.files_unreadable} unreadable, skipped: {skipped})"
    )
