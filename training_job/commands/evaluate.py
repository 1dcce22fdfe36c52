"""``evaluate``: score an ONNX model on a labelled image list (onnxruntime, never torch), and,
where asked, write its baseline for ``monitoring report --baseline``.

A baseline is written only to the path ``--baseline`` names, and never over the committed one of
the shipped model (``training_job/local_model/baseline.json``) unless
``--replace-committed-baseline`` says so. It records where its answers came from as paths
relative to the repository, or as the data set's folder and name when they lie outside it:
never where they lie on this machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from training_job.commands.argument_types import probability
from training_job.local_model import MODEL_PATH
from training_job.local_model.metrics import DEFAULT_THRESHOLD

NAME = "evaluate"
HELP = "score an ONNX model on a labelled image list (onnxruntime, no torch)"
DESCRIPTION = (
    "Run the ONNX model over the images of a .lst file and print one JSON object as the last "
    "line on stdout (n, accuracy, coverage, selective_accuracy, per-class precision/recall/F1, "
    "confusion matrix, threshold sweep); a readable table goes to stderr. With --baseline PATH, "
    "also writes the model's baseline for `monitoring report --baseline` there (class mix, "
    "confidence bins, share below the threshold on these images): run it on the model's "
    "validation split."
)

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The shipped model's baseline, in git: rewritten only with --replace-committed-baseline.
COMMITTED_BASELINE = MODEL_PATH.with_name("baseline.json")

EXIT_FAILURE = 1
EXIT_USAGE = 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, type=Path, help="ONNX model file")
    p.add_argument("--images", required=True, type=Path, help="folder the .lst paths are relative to")
    p.add_argument("--lst", required=True, type=Path, help="index<TAB>label<TAB>path list")
    p.add_argument(
        "--threshold",
        type=probability,
        default=DEFAULT_THRESHOLD,
        help="confidence needed to count as covered; default: %(default)s",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--baseline",
        type=Path,
        metavar="PATH",
        help="write the model's baseline here (e.g. baseline.json beside --model, where "
        "train-local puts it); default: none is written",
    )
    where.add_argument(
        "--no-baseline",
        action="store_true",
        help="write no baseline (the default; kept for scripts that say so)",
    )
    p.add_argument(
        "--replace-committed-baseline",
        action="store_true",
        help=f"with --baseline {portable_path(COMMITTED_BASELINE)}: rewrite the shipped model's committed "
        "baseline (run on the shipped model and its validation.lst only)",
    )


def run(args: argparse.Namespace) -> int:
    from training_job.local_model.evaluate import (
        EvaluationError,
        evaluation_report,
        format_report,
        predict_lst,
    )

    problem = baseline_target_problem(args.baseline, args.replace_committed_baseline)
    if problem:  # before the model runs: the command line alone is wrong
        print(f"evaluate: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        predictions = predict_lst(args.model, args.images, args.lst)
    except EvaluationError as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return EXIT_FAILURE
    report = evaluation_report(predictions, args.threshold)
    skipped = report["skipped"]
    for kind in ("missing", "undecodable"):
        if skipped[kind]:
            names = ", ".join(skipped[kind + "_files"][:5]) + (" ..." if skipped[kind] > 5 else "")
            print(f"evaluate: skipped {skipped[kind]} {kind} image(s): {names}", file=sys.stderr)
    print(format_report(report), file=sys.stderr)
    if args.baseline is not None:
        try:
            path = _write_baseline(args, predictions.probabilities)
        except OSError as error:
            print(f"evaluate: cannot write the baseline: {error}", file=sys.stderr)
            return EXIT_FAILURE
        report["baseline"] = str(path)
        print(f"evaluate: wrote the baseline {path}", file=sys.stderr)
    print(json.dumps(report))
    return 0


def baseline_target_problem(target: Path | None, replace_committed: bool) -> str | None:
    """Why the baseline may not go to ``target``, or None: the committed baseline is rewritten
    only when ``--replace-committed-baseline`` says so, and that flag goes with no other path."""
    committed = target is not None and _same_file(target, COMMITTED_BASELINE)
    if committed and not replace_committed:
        return (
            f"--baseline {target} is the shipped model's committed baseline; give another path, or "
            "add --replace-committed-baseline to rewrite it (on the shipped model and its "
            "validation.lst only)"
        )
    if replace_committed and not committed:
        return f"--replace-committed-baseline goes with --baseline {portable_path(COMMITTED_BASELINE)}"
    return None


def portable_path(path: Path | str) -> str:
    """A path as a baseline records it: relative to the repository when it lies inside, else
    its folder's name and its own (the data set's name, not where it lies on this machine)."""
    resolved = Path(path).expanduser().resolve()
    if resolved.is_relative_to(REPO_ROOT):
        return resolved.relative_to(REPO_ROOT).as_posix()
    return "/".join(resolved.parts[-2:]) if len(resolved.parts) > 2 else resolved.name


def _write_baseline(args: argparse.Namespace, probabilities) -> Path:
    from training_job.local_model.baseline import build_baseline, write_baseline

    source = {"tool": "evaluate", "lst": portable_path(args.lst), "images": portable_path(args.images)}
    baseline = build_baseline(probabilities, args.threshold, model_path=args.model, source=source)
    return write_baseline(baseline, args.baseline)


def _same_file(a: Path, b: Path) -> bool:
    return a.expanduser().resolve() == b.resolve()
