"""Classification, selective-prediction and calibration metrics. Numpy only."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scones_core.project import CLASS_NAMES, DEFAULT_CONFIDENCE_THRESHOLD

DEFAULT_THRESHOLD = DEFAULT_CONFIDENCE_THRESHOLD
SWEEP_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix


def per_class_scores(matrix: np.ndarray, class_names: Sequence[str]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per class; 0.0 where a denominator is zero."""
    scores = {}
    for k, name in enumerate(class_names):
        tp = float(matrix[k, k])
        predicted = float(matrix[:, k].sum())
        actual = float(matrix[k, :].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[name] = {"precision": precision, "recall": recall, "f1": f1, "support": int(actual)}
    return scores


def selective_scores(probs: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[float, float | None]:
    """(coverage, selective accuracy): the share with max prob >= threshold, and accuracy on them.

    Selective accuracy is ``None`` when nothing is covered.
    """
    if len(labels) == 0:
        return 0.0, None
    covered = probs.max(axis=1) >= threshold
    correct = probs.argmax(axis=1) == labels
    n_covered = int(covered.sum())
    coverage = n_covered / len(labels)
    return coverage, (float(correct[covered].mean()) if n_covered else None)


def threshold_sweep(
    probs: np.ndarray, labels: np.ndarray, thresholds: Sequence[float] = SWEEP_THRESHOLDS
) -> list[dict[str, float | None]]:
    rows = []
    for threshold in thresholds:
        coverage, selective_accuracy = selective_scores(probs, labels, threshold)
        rows.append(
            {"threshold": float(threshold), "coverage": coverage, "selective_accuracy": selective_accuracy}
        )
    return rows


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> float:
    """Top-label ECE with equal-width confidence bins: sum over bins of share * |accuracy - confidence|."""
    if len(labels) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    # bin k holds confidences in (k/n, (k+1)/n]; a confidence of exactly 0 goes to bin 0
    bins = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    ece = 0.0
    for k in range(n_bins):
        in_bin = bins == k
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def negative_log_likelihood(probs: np.ndarray, labels: np.ndarray) -> float:
    picked = probs[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(picked, 1e-12, 1.0)).mean())


def summarise(
    probs: np.ndarray,
    labels: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    class_names: Sequence[str] = CLASS_NAMES,
    thresholds: Sequence[float] = SWEEP_THRESHOLDS,
) -> dict:
    """The evaluation report as a JSON-ready dict."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    predicted = probs.argmax(axis=1) if len(labels) else np.zeros(0, dtype=np.int64)
    matrix = confusion_matrix(labels, predicted, len(class_names))
    coverage, selective_accuracy = selective_scores(probs, labels, threshold)
    return {
        "n": len(labels),
        "threshold": float(threshold),
        "accuracy": float((predicted == labels).mean()) if len(labels) else None,
        "coverage": coverage,
        "selective_accuracy": selective_accuracy,
        "per_class": per_class_scores(matrix, class_names),
        "confusion_matrix": {"labels": list(class_names), "rows_true_cols_predicted": matrix.tolist()},
        "ece": expected_calibration_error(probs, labels),
        "nll": negative_log_likelihood(probs, labels) if len(labels) else None,
        "threshold_sweep": threshold_sweep(probs, labels, thresholds),
    }
