"""The ``train-local`` and ``evaluate`` subcommands of ``python -m training_job``.

``register(subparsers)`` adds them to the parent CLI. Nothing here imports PyTorch at import
time: ``train-local`` imports it when it runs, ``evaluate`` never does. Exit codes as the parent
CLI's: 1 when something fails while running (a missing file, PyTorch absent, a malformed .lst),
2 for a usage error (an option's value out of range).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from training_job.local_model.metrics import DEFAULT_THRESHOLD

DEFAULT_EPOCHS = 120
DEFAULT_SEED = 0
DEFAULT_VAL_FRACTION = 0.2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train-local`` and ``evaluate`` to the parent parser's subcommands."""
    train = subparsers.add_parser(
        "train-local",
        help="train the small local CNN (PyTorch, CPU) and export it to ONNX",
        description=(
            "Train the small CNN the local stack serves: carve a stratified validation split out "
            "of the images, train with augmentation, calibrate with temperature scaling on the "
            "split, export to ONNX (input 'image' [batch,3,32,32] RGB 0..255, output "
            "'probabilities' [batch,2]), and write validation.lst and a model card beside it. "
            "Needs the 'train' extra (torch)."
        ),
    )
    train.add_argument("--images", required=True, type=Path, help="folder the .lst paths are relative to")
    train.add_argument(
        "--lst", required=True, type=Path, help="index<TAB>label<TAB>path list (0 bicycle, 1 motorcycle)"
    )
    train.add_argument("--out", required=True, type=Path, help="ONNX file to write, e.g. model.onnx")
    train.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help="default: %(default)s")
    train.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="seeds the split and training; default: %(default)s"
    )
    train.add_argument(
        "--val-fraction",
        type=float,
        default=DEFAULT_VAL_FRACTION,
        help="share of each class held out for validation and calibration; default: %(default)s",
    )
    train.add_argument(
        "--calib-fraction",
        type=float,
        default=None,
        help="share of each class of the training side held out to fit the temperature; "
        f"default: {_default('calib_fraction')}",
    )
    train.add_argument(
        "--width", type=int, default=None, help=f"channels of the first layer; default: {_default('width')}"
    )
    train.add_argument(
        "--tta-shift",
        type=int,
        default=None,
        help="pixels the test-time views are shifted by (0: image and mirror only); "
        f"default: {_default('tta_shift')}",
    )
    train.add_argument(
        "--threads", type=int, default=None, help=f"torch CPU threads; default: {_default('threads')}"
    )
    train.add_argument("--card", type=Path, help="model card to write; default: MODEL_CARD.md beside --out")
    train.set_defaults(func=run_train_local)

    evaluate = subparsers.add_parser(
        "evaluate",
        help="score an ONNX model on a labelled image list (onnxruntime, no torch)",
        description=(
            "Run the ONNX model over the images of a .lst file and print one JSON object as the last "
            "line on stdout (n, accuracy, coverage, selective_accuracy, per-class precision/recall/F1, "
            "confusion matrix, threshold sweep); a readable table goes to stderr. Also writes the "
            "model's baseline for `monitoring report --baseline` (class mix, confidence bins, share "
            "below the threshold on these images): run it on the model's validation split."
        ),
    )
    evaluate.add_argument("--model", required=True, type=Path, help="ONNX model file")
    evaluate.add_argument("--images", required=True, type=Path, help="folder the .lst paths are relative to")
    evaluate.add_argument("--lst", required=True, type=Path, help="index<TAB>label<TAB>path list")
    evaluate.add_argument(
        "--threshold",
        type=_probability,
        default=DEFAULT_THRESHOLD,
        help="confidence needed to count as covered; default: %(default)s",
    )
    where = evaluate.add_mutually_exclusive_group()
    where.add_argument(
        "--baseline",
        type=Path,
        metavar="PATH",
        help="where to write the baseline; default: baseline.json beside --model",
    )
    where.add_argument(
        "--no-baseline",
        action="store_true",
        help="write no baseline (the list is not the model's validation split)",
    )
    evaluate.set_defaults(func=run_evaluate)


# train.TrainConfig's defaults, repeated here so that --help does not import torch
# (tests/unit/local_model/test_train_local.py checks that they agree)
TRAIN_DEFAULTS = {"calib_fraction": 0.1, "width": 16, "tta_shift": 2, "threads": 1}


def _default(name: str):
    return TRAIN_DEFAULTS[name]


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from error
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _option_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the values of train-local's options, without looking at any file."""
    if not 0.0 <= args.val_fraction < 1.0:
        return f"--val-fraction must be in [0, 1), got {args.val_fraction}"
    if args.epochs < 1:
        return f"--epochs must be at least 1, got {args.epochs}"
    if args.calib_fraction is not None and not 0.0 <= args.calib_fraction < 1.0:
        return f"--calib-fraction must be in [0, 1), got {args.calib_fraction}"
    for name in ("width", "threads"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            return f"--{name} must be at least 1, got {getattr(args, name)}"
    if args.tta_shift is not None and not 0 <= args.tta_shift <= 4:
        return f"--tta-shift must be in 0..4, got {args.tta_shift}"
    return None


def run_evaluate(args: argparse.Namespace) -> int:
    from training_job.local_model.evaluate import (
        EvaluationError,
        evaluation_report,
        format_report,
        predict_lst,
    )

    try:
        predictions = predict_lst(args.model, args.images, args.lst)
    except EvaluationError as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return 1
    report = evaluation_report(predictions, args.threshold)
    skipped = report["skipped"]
    for kind in ("missing", "undecodable"):
        if skipped[kind]:
            names = ", ".join(skipped[kind + "_files"][:5]) + (" ..." if skipped[kind] > 5 else "")
            print(f"evaluate: skipped {skipped[kind]} {kind} image(s): {names}", file=sys.stderr)
    print(format_report(report), file=sys.stderr)
    if not args.no_baseline:
        try:
            path = _write_evaluate_baseline(args, predictions.probabilities)
        except OSError as error:
            print(f"evaluate: cannot write the baseline: {error}", file=sys.stderr)
            return 1
        report["baseline"] = str(path)
        print(f"evaluate: wrote the baseline {path}", file=sys.stderr)
    print(json.dumps(report))
    return 0


def _write_evaluate_baseline(args: argparse.Namespace, probabilities) -> Path:
    from training_job.local_model.baseline import baseline_path_for, build_baseline, write_baseline

    source = {"tool": "evaluate", "lst": str(args.lst), "images": str(args.images)}
    baseline = build_baseline(probabilities, args.threshold, model_path=args.model, source=source)
    return write_baseline(baseline, args.baseline or baseline_path_for(args.model))


def run_train_local(args: argparse.Namespace) -> int:
    # Usage errors first, and with argparse's exit code 2: the command line alone is wrong.
    problem = _option_problem(args)
    if problem:
        print(f"train-local: {problem}", file=sys.stderr)
        return 2
    for name, path, check in (("--images", args.images, Path.is_dir), ("--lst", args.lst, Path.is_file)):
        if not check(path):
            print(f"train-local: {name} {path} not found", file=sys.stderr)
            return 1
    try:
        from training_job.local_model import train
    except ImportError as error:
        print(f"train-local needs PyTorch and onnx (pip install '.[train]'): {error}", file=sys.stderr)
        return 1

    command = shlex.join(
        [
            "python",
            "-m",
            "training_job",
            "train-local",
            "--images",
            str(args.images),
            "--lst",
            str(args.lst),
            "--out",
            str(args.out),
            "--epochs",
            str(args.epochs),
            "--seed",
            str(args.seed),
            "--val-fraction",
            str(args.val_fraction),
        ]
        + [
            f"--{name.replace('_', '-')}={getattr(args, name)}"
            for name in TRAIN_DEFAULTS
            if getattr(args, name) is not None
        ]
        + (["--card", str(args.card)] if args.card else [])
    )
    overrides = {name: getattr(args, name) for name in TRAIN_DEFAULTS if getattr(args, name) is not None}
    config = train.TrainConfig(epochs=args.epochs, seed=args.seed, **overrides)
    card = args.card or args.out.with_name("MODEL_CARD.md")
    try:
        info = train.train_local(
            args.images,
            args.lst,
            args.out,
            config,
            args.val_fraction,
            card,
            command,
            log=lambda line: print(line, file=sys.stderr),
        )
    except ValueError as error:  # a malformed .lst, too few images
        print(f"train-local: {error}", file=sys.stderr)
        return 1
    summary = {
        key: info[key] for key in ("parameters", "train_seconds", "onnx_bytes", "n_train", "n_calib", "n_val")
    }
    summary["out"] = str(args.out)
    summary["baseline"] = info["baseline"]
    summary["temperature"] = info["calibration"]["temperature"]
    if info["report"]:
        summary.update({key: info["report"][key] for key in ("accuracy", "coverage", "selective_accuracy")})
    print(json.dumps(summary))
    return 0
