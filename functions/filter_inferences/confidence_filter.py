"""The one rule of FilterInferences, as a pure function."""

from __future__ import annotations

from event import Classification
from exceptions import InvalidConfiguration, ThresholdConfidenceNotMet


def parse_threshold(raw: str | None) -> float:
    try:
        threshold = float(raw) if raw is not None else float("nan")
    except ValueError:
        threshold = float("nan")
    if not 0.0 <= threshold <= 1.0:
        raise InvalidConfiguration(f"CONFIDENCE_THRESHOLD must be a number in 0..1, got {raw!r}")
    return threshold


def filter_inference(classification: Classification, threshold: float) -> dict:
    """Pass the event on when the model is at least ``threshold`` sure; refuse otherwise."""
    if classification.confidence < threshold:
        raise ThresholdConfidenceNotMet(
            f"confidence {classification.confidence:.4f} is below the threshold {threshold:.4f} "
            f"(inferences {list(classification.inferences)})"
        )
    return classification.event
