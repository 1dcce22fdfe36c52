"""Streaming aggregation of answers (capture records, or a batch's photos): memory depends on hours
and bins, never on records.

Kept per record: nothing. Kept overall: running counts and sums, a fixed-size confidence
histogram per class, one small bucket per clock hour, and a fixed-size reservoir sample of
(time, confidence, label) points for the scatter plot.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from monitoring.answers import Answer
from monitoring.capture_records import CLASS_NAMES, MALFORMED_REASONS, SKIP_REASONS

HISTOGRAM_BINS = 200  # over [0, 1]: 0.005 wide
SAMPLE_SIZE = 5_000
MAX_FILE_ERRORS_KEPT = 20


@dataclass(slots=True)
class HourBucket:
    counts: list[int] = field(default_factory=lambda: [0] * len(CLASS_NAMES))
    below: int = 0
    confidence_sum: float = 0.0
    confidence_min: float = 1.0

    @property
    def records(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, slots=True)
class SamplePoint:
    timestamp: float  # POSIX seconds
    confidence: float
    label_index: int


class CaptureSummary:
    def __init__(self, threshold: float, sample_size: int = SAMPLE_SIZE, seed: int = 0) -> None:
        self.threshold = threshold
        self.records = 0
        self.counts = [0] * len(CLASS_NAMES)
        self.confidence_sum = 0.0
        self.confidence_sum_per_class = [0.0] * len(CLASS_NAMES)
        self.confidence_min = float("inf")
        self.confidence_max = float("-inf")
        self.least_confident_event: str | None = None
        self.below = 0
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.histograms = [[0] * HISTOGRAM_BINS for _ in CLASS_NAMES]
        self.hours: dict[datetime, HourBucket] = {}
        self.sample: list[SamplePoint] = []
        self._sample_size = sample_size
        self._random = random.Random(seed)
        self.skipped = dict.fromkeys(SKIP_REASONS, 0)
        self.undecodable_images = 0
        self.files_read = 0
        self.files_unreadable = 0
        self.file_errors: list[str] = []

    def add(self, record: Answer) -> None:
        confidence = record.confidence
        label = record.label_index
        when = record.inference_time
        self.records += 1
        self.counts[label] += 1
        self.confidence_sum += confidence
        self.confidence_sum_per_class[label] += confidence
        if confidence < self.confidence_min:
            self.confidence_min = confidence
            self.least_confident_event = record.event_id
        self.confidence_max = max(self.confidence_max, confidence)
        below = confidence < self.threshold
        self.below += below
        if self.first is None or when < self.first:
            self.first = when
        if self.last is None or when > self.last:
            self.last = when
        self.histograms[label][min(int(confidence * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1

        hour = when.replace(minute=0, second=0, microsecond=0)
        bucket = self.hours.get(hour)
        if bucket is None:
            bucket = self.hours[hour] = HourBucket()
        bucket.counts[label] += 1
        bucket.below += below
        bucket.confidence_sum += confidence
        bucket.confidence_min = min(bucket.confidence_min, confidence)

        self._sample(SamplePoint(when.timestamp(), confidence, label))

    def _sample(self, point: SamplePoint) -> None:
        """Reservoir sampling (Algorithm R): a uniform sample of all records seen so far."""
        if len(self.sample) < self._sample_size:
            self.sample.append(point)
            return
        slot = self._random.randrange(self.records)
        if slot < self._sample_size:
            self.sample[slot] = point

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def file_failed(self, name: str, error: Exception) -> None:
        self.files_unreadable += 1
        if len(self.file_errors) < MAX_FILE_ERRORS_KEPT:
            self.file_errors.append(f"{name}: {type(error).__name__}: {error}")

    @property
    def malformed_lines(self) -> int:
        return sum(n for reason, n in self.skipped.items() if reason in MALFORMED_REASONS)

    def sorted_hours(self) -> list[tuple[datetime, HourBucket]]:
        return sorted(self.hours.items())

    def to_dict(self) -> dict:
        n = self.records
        return {
            "records": n,
            "time_range": {"first": _iso(self.first), "last": _iso(self.last)},
            "counts_per_class": dict(zip(CLASS_NAMES, self.counts, strict=True)),
            "confidence": {
                "mean": self.confidence_sum / n if n else None,
                "min": self.confidence_min if n else None,
                "max": self.confidence_max if n else None,
                "least_confident_event_id": self.least_confident_event,
                "mean_per_class": {
                    name: (total / count if count else None)
                    for name, total, count in zip(
                        CLASS_NAMES, self.confidence_sum_per_class, self.counts, strict=True
                    )
                },
            },
            "threshold": self.threshold,
            "below_threshold": {"count": self.below, "share": self.below / n if n else None},
            "malformed_lines": self.malformed_lines,
            "files_read": self.files_read,
            "files_unreadable": self.files_unreadable,
            "file_errors": list(self.file_errors),
            "skipped": {**self.skipped, "undecodable_image": self.undecodable_images},
            "hours": len(self.hours),
            "per_hour": [
                {
                    "hour": _iso(hour),
                    "records": bucket.records,
                    "counts_per_class": dict(zip(CLASS_NAMES, bucket.counts, strict=True)),
                    "mean_confidence": bucket.confidence_sum / bucket.records,
                    "min_confidence": bucket.confidence_min,
                    "below_threshold_share": bucket.below / bucket.records,
                }
                for hour, bucket in self.sorted_hours()
            ],
        }


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None
