"""``baseline.json``: what the model answered on its validation split, for drift checks.

``train-local`` writes it beside the model (:func:`baseline_path_for`), ``evaluate --baseline
PATH`` where asked; ``deploy`` stores it beside the model artifact (:func:`baseline_uri_for`);
``monitoring report --baseline`` compares a capture with it. It holds counts, not shares, so that
the comparison knows how many images the baseline rests on. Numpy only: ``evaluate`` must not import torch.

The confidence bins have fixed edges, :data:`CONFIDENCE_EDGES`. With two classes the
confidence (the larger probability) lies in [0.5, 1], and a calibrated model that is right
nine times in ten puts most of it near 1: equal-width bins over [0.5, 1] would leave the low
bins with a record or two in a capture of 40, and PSI's log term turns such near-empty bins
into noise. The edges below give each bin 14-26 % of the shipped model's validation answers,
and one edge is the template's threshold (0.93), so the bins split where the workflow does.
Fixed rather than the baseline's own deciles: two baselines (a retrained model) are then
compared on the same scale, and the page shows bins a person can read.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np

from training_job.local_model import CLASS_NAMES

SCHEMA = "scones-vehicle-classifier/baseline/1"
BASELINE_FILE = "baseline.json"
CONFIDENCE_EDGES = (0.5, 0.8, 0.93, 0.97, 0.99, 1.0)
"""Bin i holds confidences in [edge i, edge i+1); the last bin also holds 1.0."""


class BaselineFormatError(ValueError):
    """A ``baseline.json`` that is not what :func:`Baseline.to_dict` writes."""


@dataclass(frozen=True)
class Baseline:
    threshold: float
    class_names: tuple[str, ...]
    predicted_counts: tuple[int, ...]  # per class, in class_names order
    confidence_edges: tuple[float, ...]
    confidence_counts: tuple[int, ...]  # per bin
    below_threshold: int
    model_file: str | None = None
    model_sha256: str | None = None
    source: dict = field(default_factory=dict)  # where the answers came from: list, images, tool

    @property
    def records(self) -> int:
        return sum(self.predicted_counts)

    @property
    def coverage(self) -> float:
        return 1.0 - self.below_threshold / self.records

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "model": {"file": self.model_file, "sha256": self.model_sha256},
            "source": dict(self.source),
            "records": self.records,
            "threshold": self.threshold,
            "coverage": self.coverage,
            "below_threshold": self.below_threshold,
            "predicted_counts": dict(zip(self.class_names, self.predicted_counts, strict=True)),
            "confidence_bins": {
                "edges": list(self.confidence_edges),
                "counts": list(self.confidence_counts),
            },
        }

    @classmethod
    def from_dict(cls, data: object) -> Baseline:
        """Parse and check what :meth:`to_dict` wrote; raise :class:`BaselineFormatError`."""
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise BaselineFormatError(f'not a baseline: expected "schema": "{SCHEMA}"')
        try:
            predicted = data["predicted_counts"]
            bins = data["confidence_bins"]
            baseline = cls(
                threshold=float(data["threshold"]),
                class_names=tuple(str(name) for name in predicted),
                predicted_counts=tuple(_count(v) for v in predicted.values()),
                confidence_edges=tuple(float(e) for e in bins["edges"]),
                confidence_counts=tuple(_count(c) for c in bins["counts"]),
                below_threshold=_count(data["below_threshold"]),
                model_file=(data.get("model") or {}).get("file"),
                model_sha256=(data.get("model") or {}).get("sha256"),
                source=dict(data.get("source") or {}),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise BaselineFormatError(f"malformed baseline: {type(error).__name__}: {error}") from None
        problem = _inconsistency(baseline)
        if problem:
            raise BaselineFormatError(f"inconsistent baseline: {problem}")
        return baseline


def baseline_path_for(model_path: Path | str) -> Path:
    """Where the baseline of a model file lies: ``baseline.json`` in the model's folder, as
    ``validation.lst`` and ``MODEL_CARD.md`` do."""
    return Path(model_path).with_name(BASELINE_FILE)


def baseline_uri_for(model_data_uri: str) -> str:
    """Where ``deploy`` stores the baseline: beside the model artifact,
    ``s3://b/p/output/model.tar.gz`` -> ``s3://b/p/output/baseline.json``."""
    if not model_data_uri.startswith("s3://") or "/" not in model_data_uri.removeprefix("s3://"):
        raise ValueError(f"not an s3://bucket/key URI of a model artifact: {model_data_uri!r}")
    return model_data_uri.rsplit("/", 1)[0] + "/" + BASELINE_FILE


def confidence_bin(confidence: float, edges: Sequence[float] = CONFIDENCE_EDGES) -> int:
    """The bin of one confidence; values outside [first, last] edge go to the end bins."""
    return min(max(bisect_right(edges, confidence) - 1, 0), len(edges) - 2)


def confidence_bin_counts(
    confidences: Sequence[float], edges: Sequence[float] = CONFIDENCE_EDGES
) -> list[int]:
    counts = [0] * (len(edges) - 1)
    for confidence in confidences:
        counts[confidence_bin(float(confidence), edges)] += 1
    return counts


def build_baseline(
    probabilities: np.ndarray,
    threshold: float,
    *,
    model_path: Path | str | None = None,
    source: dict | None = None,
    edges: Sequence[float] = CONFIDENCE_EDGES,
) -> Baseline:
    """The baseline of ``[n, classes]`` probabilities (the model's answers on held-out images)."""
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != len(CLASS_NAMES) or len(probs) == 0:
        raise ValueError(
            f"expected probabilities of shape [n>0, {len(CLASS_NAMES)}], got {list(probs.shape)}"
        )
    confidences = probs.max(axis=1)
    model = Path(model_path) if model_path is not None else None
    return Baseline(
        threshold=float(threshold),
        class_names=tuple(CLASS_NAMES),
        predicted_counts=tuple(int(c) for c in np.bincount(probs.argmax(axis=1), minlength=len(CLASS_NAMES))),
        confidence_edges=tuple(float(e) for e in edges),
        confidence_counts=tuple(confidence_bin_counts(confidences.tolist(), edges)),
        below_threshold=int((confidences < threshold).sum()),
        model_file=model.name if model else None,
        model_sha256=file_sha256(model) if model and model.is_file() else None,
        source=dict(source or {}),
    )


def write_baseline(baseline: Baseline, path: Path | str) -> Path:
    path = Path(path)
    path.write_text(json.dumps(baseline.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path


def read_baseline(path: Path | str) -> Baseline:
    """Raises OSError when the file cannot be read, :class:`BaselineFormatError` when it is no baseline."""
    text = Path(path).read_text(encoding="utf-8")
    return parse_baseline(text)


def parse_baseline(text: str) -> Baseline:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise BaselineFormatError(f"not JSON: {error}") from None
    return Baseline.from_dict(data)


def file_sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"not a count: {value!r}")
    return value


def _inconsistency(baseline: Baseline) -> str | None:
    """What makes a parsed baseline unusable, or None."""
    edges = baseline.confidence_edges
    if len(baseline.class_names) < 2:
        return "fewer than two classes"
    if baseline.records == 0:
        return "no records"
    if len(edges) < 3 or any(b <= a for a, b in pairwise(edges)):
        return f"bin edges must rise and make two bins or more, got {list(edges)}"
    if len(baseline.confidence_counts) != len(edges) - 1:
        return f"{len(edges) - 1} bins but {len(baseline.confidence_counts)} counts"
    if sum(baseline.confidence_counts) != baseline.records:
        return f"bin counts add up to {sum(baseline.confidence_counts)}, not {baseline.records} records"
    if baseline.below_threshold > baseline.records:
        return "more records below the threshold than records"
    if not 0.0 < baseline.threshold <= 1.0:
        return f"threshold {baseline.threshold} is not in (0, 1]"
    return None
