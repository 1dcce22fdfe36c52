"""``train-local``: train the small CNN the local stack serves (PyTorch, CPU), export it to ONNX,
and write its validation split, model card and baseline beside it. PyTorch is imported only
when it runs."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

NAME = "train-local"
HELP = "train the small local CNN (PyTorch, CPU) and export it to ONNX"
DESCRIPTION = (
    "Train the small CNN the local stack serves: carve a stratified validation split out "
    "of the images, train with augmentation, calibrate with temperature scaling on the "
    "split, export to ONNX (input 'image' [batch,3,32,32] RGB 0..255, output "
    "'probabilities' [batch,2]), and write validation.lst and a model card beside it. "
    "Needs the 'train' extra (torch)."
)

DEFAULT_EPOCHS = 120
DEFAULT_SEED = 0
DEFAULT_VAL_FRACTION = 0.2

# train.TrainConfig's defaults, repeated here so that --help does not import torch
# (tests/unit/local_model/test_train_local.py checks that they agree)
TRAIN_DEFAULTS = {"calib_fraction": 0.1, "width": 16, "tta_shift": 2, "threads": 1}

EXIT_FAILURE = 1
EXIT_USAGE = 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--images", required=True, type=Path, help="folder the .lst paths are relative to")
    p.add_argument(
        "--lst", required=True, type=Path, help="index<TAB>label<TAB>path list (0 bicycle, 1 motorcycle)"
    )
    p.add_argument("--out", required=True, type=Path, help="ONNX file to write, e.g. model.onnx")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help="default: %(default)s")
    p.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="seeds the split and training; default: %(default)s"
    )
    p.add_argument(
        "--val-fraction",
        type=float,
        default=DEFAULT_VAL_FRACTION,
        help="share of each class held out for validation and calibration; default: %(default)s",
    )
    p.add_argument(
        "--calib-fraction",
        type=float,
        default=None,
        help="share of each class of the training side held out to fit the temperature; "
        f"default: {TRAIN_DEFAULTS['calib_fraction']}",
    )
    p.add_argument(
        "--width",
        type=int,
        default=None,
        help=f"channels of the first layer; default: {TRAIN_DEFAULTS['width']}",
    )
    p.add_argument(
        "--tta-shift",
        type=int,
        default=None,
        help="pixels the test-time views are shifted by (0: image and mirror only); "
        f"default: {TRAIN_DEFAULTS['tta_shift']}",
    )
    p.add_argument(
        "--threads", type=int, default=None, help=f"torch CPU threads; default: {TRAIN_DEFAULTS['threads']}"
    )
    p.add_argument("--card", type=Path, help="model card to write; default: MODEL_CARD.md beside --out")


def run(args: argparse.Namespace) -> int:
    # Usage errors first, and with argparse's exit code 2: the command line alone is wrong.
    problem = _option_problem(args)
    if problem:
        print(f"train-local: {problem}", file=sys.stderr)
        return EXIT_USAGE
    for name, path, check in (("--images", args.images, Path.is_dir), ("--lst", args.lst, Path.is_file)):
        if not check(path):
            print(f"train-local: {name} {path} not found", file=sys.stderr)
            return EXIT_FAILURE
    try:
        from training_job.local_model import train
    except ImportError as error:
        print(f"train-local needs PyTorch and onnx (pip install '.[train]'): {error}", file=sys.stderr)
        return EXIT_FAILURE

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
            _command_line(args),
            log=lambda line: print(line, file=sys.stderr),
        )
    except ValueError as error:  # a malformed .lst, too few images
        print(f"train-local: {error}", file=sys.stderr)
        return EXIT_FAILURE
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


def _command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run, for the model card."""
    return shlex.join(
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
