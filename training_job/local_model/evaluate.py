"""``evaluate``: the ONNX model over an ``.lst`` of images, with onnxruntime only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scones_core.lst import read_lst
from training_job.local_model import CLASS_NAMES
from training_job.local_model.data import LoadedImages, load_images
from training_job.local_model.inference import load_session, predict_probabilities
from training_job.local_model.metrics import DEFAULT_THRESHOLD, SWEEP_THRESHOLDS, summarise


class EvaluationError(Exception):
    """Nothing could be evaluated: a missing model, folder or list, or no image that decodes."""


@dataclass(frozen=True)
class Predictions:
    """The model's probabilities ``[n, 2]`` for the images of a list that decoded."""

    probabilities: np.ndarray
    loaded: LoadedImages


def evaluate_images(
    model_path: Path | str,
    images_dir: Path | str,
    lst_path: Path | str,
    threshold: float = DEFAULT_THRESHOLD,
    thresholds: Sequence[float] = SWEEP_THRESHOLDS,
) -> dict:
    """The report of :func:`metrics.summarise`, plus what was skipped and why."""
    return evaluation_report(predict_lst(model_path, images_dir, lst_path), threshold, thresholds)


def predict_lst(model_path: Path | str, images_dir: Path | str, lst_path: Path | str) -> Predictions:
    """Run the model over the images of an ``.lst``; :class:`EvaluationError` when nothing can be."""
    model_path, images_dir, lst_path = Path(model_path), Path(images_dir), Path(lst_path)
    if not model_path.is_file():
        raise EvaluationError(f"model not found: {model_path}")
    if not images_dir.is_dir():
        raise EvaluationError(f"images folder not found: {images_dir}")
    if not lst_path.is_file():
        raise EvaluationError(f"list file not found: {lst_path}")
    try:
        entries = read_lst(lst_path)
    except (ValueError, UnicodeDecodeError) as error:
        raise EvaluationError(f"{lst_path}: {error}") from error
    if not entries:
        raise EvaluationError(f"{lst_path} lists no images")
    loaded = load_images(images_dir, entries)
    if not loaded.entries:
        raise EvaluationError(
            f"none of the {len(entries)} images in {lst_path} could be read from {images_dir}: "
            f"{len(loaded.missing)} missing, {len(loaded.undecodable)} undecodable" + _examples(loaded)
        )
    try:
        session = load_session(model_path)
    except Exception as error:  # onnxruntime raises its own exception types for a bad file
        raise EvaluationError(f"cannot load the model {model_path}: {error}") from error
    return Predictions(predict_probabilities(session, loaded.images), loaded)


def evaluation_report(
    predictions: Predictions,
    threshold: float = DEFAULT_THRESHOLD,
    thresholds: Sequence[float] = SWEEP_THRESHOLDS,
) -> dict:
    loaded = predictions.loaded
    report = summarise(predictions.probabilities, loaded.labels, threshold, CLASS_NAMES, thresholds)
    report["skipped"] = {
        "missing": len(loaded.missing),
        "undecodable": len(loaded.undecodable),
        "missing_files": loaded.missing[:20],
        "undecodable_files": loaded.undecodable[:20],
    }
    return report


def _examples(loaded: LoadedImages) -> str:
    names = (loaded.missing + loaded.undecodable)[:3]
    return f" (e.g. {', '.join(names)})" if names else ""


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def format_report(report: dict) -> str:
    """A human-readable table of the report, for stderr."""
    lines = [
        f"images evaluated: {report['n']}"
        + (
            f"  (skipped: {report['skipped']['missing']} missing, "
            f"{report['skipped']['undecodable']} undecodable)"
            if "skipped" in report
            else ""
        ),
        f"accuracy: {_pct(report['accuracy'])}   ECE: {report['ece']:.3f}",
        f"at threshold {report['threshold']:.2f}: coverage {_pct(report['coverage'])}, "
        f"selective accuracy {_pct(report['selective_accuracy'])}",
        "",
        f"{'class':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}",
    ]
    for name, scores in report["per_class"].items():
        lines.append(
            f"{name:<12}{scores['precision']:>10.3f}{scores['recall']:>10.3f}{scores['f1']:>10.3f}"
            f"{scores['support']:>9}"
        )
    labels = report["confusion_matrix"]["labels"]
    lines += ["", "confusion (rows true, columns predicted)", " " * 12 + "".join(f"{n:>12}" for n in labels)]
    for name, row in zip(labels, report["confusion_matrix"]["rows_true_cols_predicted"], strict=True):
        lines.append(f"{name:<12}" + "".join(f"{v:>12}" for v in row))
    lines += ["", f"{'threshold':>10}{'coverage':>10}{'sel. acc':>10}"]
    for row in report["threshold_sweep"]:
        lines.append(
            f"{row['threshold']:>10.2f}{_pct(row['coverage']):>10}{_pct(row['selective_accuracy']):>10}"
        )
    return "\n".join(lines)
