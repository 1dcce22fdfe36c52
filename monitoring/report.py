"""Read a capture source once, streaming, or a batch's results, and write summary.json, the plots,
the gallery and report.html: the same plots from either (each a stream of :class:`Answer`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from monitoring import DEFAULT_THRESHOLD, batch_results, drift, html_report, plots, reviews
from monitoring.answers import Answer
from monitoring.batch_source import BatchResults, PhotoReader
from monitoring.capture_records import parse_record
from monitoring.capture_source import CaptureSource
from monitoring.exceptions import InvalidRecord, NoCaptureRecords
from monitoring.gallery import GalleryItem, LeastConfident, is_image
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
    batch: dict | None = None  # summary.json's batch object, for a batch's report


class RecordObserver(Protocol):
    """Anything else that counts the usable records as they stream by (the drift counts)."""

    def add(self, record: Answer) -> None: ...


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

    data = {"source": source.description, **summary.to_dict()}
    if baseline:
        data["drift"] = drift.compare_with_baseline(baseline, counts, baseline_location)
    if reviewed is not None:
        data["reviews"] = reviews.reviews_summary(reviewed, summary.below, threshold)
    items = gallery.items()
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
    return _write(out_dir, summary, items, data)


def write_batch_report(
    batch: BatchResults,
    out_dir: Path,
    threshold: float | None = None,
    gallery_size: int = GALLERY_SIZE,
    baseline: Baseline | None = None,
    baseline_location: str = "",
    photo: PhotoReader | None = None,
) -> ReportFiles:
    """The same plots from a BatchClassify run's answers (refusals included, from their causes),
    and a batch section: its counts, accuracy and confusion matrix, its errors. ``photo`` fetches a
    photo for the gallery (an S3 source's; a local copy of the results holds none)."""
    used = threshold_used(threshold, batch_results.batch_threshold(batch.photos))
    summary = CaptureSummary(used["value"])
    counts = drift.CaptureCounts(baseline) if baseline else None
    for result in batch.photos:
        if result.answer is not None:
            summary.add(result.answer)
            if counts:
                counts.add(result.answer)
    summary.files_read = batch.files_read
    least = batch_results.least_confident(batch.photos, gallery_size)
    items = _batch_gallery(least, photo) if photo else []

    data = {"source": batch.location, "kind": "batch", **summary.to_dict()}
    data["batch"] = batch_results.batch_section(batch.summary, batch.photos, batch.location, used)
    data["batch"]["gallery"] = {"least_confident": len(least), "shown": len(items)}
    if counts and counts.records:
        data["drift"] = drift.compare_with_baseline(baseline, counts, baseline_location)
    data["least_confident"] = [batch_results.photo_row(p) for p in least]
    extra = [("Outcomes", lambda path: plots.batch_outcomes(data["batch"], path), "batch_outcomes.png")]
    return _write(out_dir, summary, items, data, extra)


def threshold_used(given: float | None, named: float | None) -> dict:
    """The threshold a batch's report draws, and where it comes from: ``--threshold``, else the
    one its refusals name (the stack's), else the template's default."""
    if given is not None:
        return {"value": given, "source": "--threshold"}
    if named is not None:
        return {"value": named, "source": "the refusals' causes (the stack's ConfidenceThreshold)"}
    return {"value": DEFAULT_THRESHOLD, "source": "the template's default ConfidenceThreshold"}


def _batch_gallery(least: list[batch_results.PhotoResult], photo: PhotoReader) -> list[GalleryItem]:
    """The least confident photos that can be fetched and opened, as gallery items."""
    items = []
    for result in least:
        raw = photo(result.bucket, result.key)
        if raw is None or not is_image(raw):
            continue
        answer = result.answer
        items.append(
            GalleryItem(
                confidence=answer.confidence,
                label=result.label or f"{answer.label} (refused)",
                probabilities=answer.probabilities,
                event_id=result.key,
                inference_id=None,
                inference_time=answer.inference_time,
                source_file=f"s3://{result.bucket}/{result.key}" if result.bucket else result.key,
                image_bytes=raw,
            )
        )
    return items


def _write(
    out_dir: Path,
    summary: CaptureSummary,
    items: list[GalleryItem],
    data: dict,
    extra_plots: Sequence[tuple[str, Callable[[Path], Path], str]] = (),
) -> ReportFiles:
    """The plots, the gallery, summary.json and report.html, from the aggregates and ``data``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    titled_plots = [
        *((title, draw(out_dir / name)) for title, draw, name in extra_plots),
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
    drift_result = data.get("drift")
    drift_png = plots.drift_distributions(drift_result, out_dir / "drift.png") if drift_result else None
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
        data.get("batch"),
    )


def _nothing_found(source: CaptureSource, summary: CaptureSummary) -> str:
    if summary.files_read == 0 and summary.files_unreadable == 0:
        return f"no *.jsonl capture files under {source.description}"
    skipped = ", ".join(f"{k}={v}" for k, v in summary.skipped.items() if v) or "none"
    return (
        f"no usable capture records under {source.description} "
        f"({summary.files_read} files read, {summary.files_unreadable} unreadable, skipped: {skipped})"
    )
