"""``monitoring report``: SageMaker data capture (``--capture``), or a BatchClassify run's results
(``--batch``, :mod:`monitoring.batch_source`, with a batch section), into summary.json, PNG plots
and report.html (:mod:`monitoring.report`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitoring import DEFAULT_THRESHOLD
from monitoring.report import GALLERY_SIZE
from scones_core.project import DEFAULT_STACK_NAME

HELP = (
    "summarise SageMaker data capture, or a BatchClassify run's results, into summary.json, "
    "PNG plots and report.html"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--capture",
        type=_capture,
        metavar="SRC",
        help="a local folder (read recursively) or s3://bucket/prefix with *.jsonl capture",
    )
    what.add_argument(
        "--batch",
        type=_batch,
        metavar="SRC",
        help="a BatchClassify run's results: s3://IMAGE_BUCKET/batch/results/<map run id>/ (or its "
        "summary.json), or a local copy of that folder; adds the batch section (counts, refusals, "
        "errors, accuracy and the confusion matrix when the batch had expected labels)",
    )
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the report")
    p.add_argument(
        "--threshold",
        type=_threshold,
        default=None,
        metavar="T",
        help=f"confidence the workflow requires (default {DEFAULT_THRESHOLD}, the template's "
        "ConfidenceThreshold; for --batch, the threshold its refusals name, when they name one)",
    )
    p.add_argument(
        "--gallery-size",
        type=_gallery_size,
        default=GALLERY_SIZE,
        metavar="K",
        help=f"least confident inputs to show (default {GALLERY_SIZE})",
    )
    p.add_argument(
        "--baseline",
        metavar="FILE",
        help="the model's baseline.json (a path or s3://bucket/key): adds drift verdicts against it "
        "(training_job/local_model/baseline.json for the local model)",
    )
    reviewed = p.add_mutually_exclusive_group()
    reviewed.add_argument(
        "--reviewed",
        type=_capture,
        metavar="SRC",
        help="the reviewed data set (s3://IMAGE_BUCKET/reviewed/ or a local copy): adds the reviews "
        "section (requested, completed, agreement per class, corrected photos)",
    )
    reviewed.add_argument(
        "--reviewed-from-stack",
        nargs="?",
        const=DEFAULT_STACK_NAME,
        metavar="STACK",
        help=f"the same, found in the stack's ReviewedDataLocation output (default {DEFAULT_STACK_NAME})",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run(args: argparse.Namespace) -> int:
    if args.batch is None:
        return _capture_report(args)
    if args.reviewed or args.reviewed_from_stack:
        args.usage_error("--reviewed and --reviewed-from-stack go with --capture: a batch asks no person")
    if not args.batch.startswith("s3://"):
        from monitoring.batch_source import local_folder

        if local_folder(args.batch).resolve() == args.out.expanduser().resolve():
            args.usage_error(
                "--out is the batch's own folder: the report's summary.json would replace its own"
            )
    return _batch_report(args)


def _threshold(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"the threshold must be in (0, 1], got {text}")
    return value


def _capture(text: str) -> str:
    """An s3:// URI must name a bucket; a local path is only known to be missing when read."""
    if text.startswith("s3://"):
        from monitoring.capture_source import parse_s3_uri
        from monitoring.exceptions import CaptureSourceError

        try:
            parse_s3_uri(text)
        except CaptureSourceError as error:
            raise argparse.ArgumentTypeError(str(error)) from error
    return text


def _batch(text: str) -> str:
    """An s3:// URI must name a bucket; a local path is only known to be missing when read."""
    if text.startswith("s3://"):
        from monitoring.batch_source import parse_batch_uri
        from monitoring.exceptions import BatchResultsNotFound

        try:
            parse_batch_uri(text)
        except BatchResultsNotFound as error:
            raise argparse.ArgumentTypeError(str(error)) from error
    return text


def _gallery_size(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"the gallery size must be 0 or more, got {text}")
    return value


def _capture_report(args: argparse.Namespace) -> int:
    from monitoring.capture_source import open_source
    from monitoring.drift import load_baseline, one_line
    from monitoring.exceptions import MonitoringError
    from monitoring.report import write_report
    from monitoring.reviews import one_line as reviews_line

    try:
        baseline = load_baseline(args.baseline) if args.baseline else None  # before a long read
        reviewed = _reviewed_set(args)
        source = open_source(args.capture)
        files = write_report(
            source,
            args.out,
            DEFAULT_THRESHOLD if args.threshold is None else args.threshold,
            args.gallery_size,
            progress=not args.no_progress,
            baseline=baseline,
            baseline_location=args.baseline or "",
            reviewed=reviewed,
        )
    except MonitoringError as exc:
        print(f"monitoring: {exc}", file=sys.stderr)
        return 1
    print(f"summary: {files.summary}", file=sys.stderr)
    if files.drift:
        print(one_line(files.drift), file=sys.stderr)
    if files.reviews:
        print(reviews_line(files.reviews), file=sys.stderr)
    print(files.report)  # the one line on stdout: the page to open
    return 0


def _batch_report(args: argparse.Namespace) -> int:
    """``report --batch``: everything is read before anything is written."""
    from monitoring.batch_results import one_line as batch_line
    from monitoring.batch_source import open_batch_folder, read_batch
    from monitoring.drift import load_baseline, one_line
    from monitoring.exceptions import MonitoringError
    from monitoring.report import write_batch_report

    try:
        baseline = load_baseline(args.baseline) if args.baseline else None
        folder = open_batch_folder(args.batch)
        batch = read_batch(folder)
        files = write_batch_report(
            batch,
            args.out,
            args.threshold,
            args.gallery_size,
            baseline=baseline,
            baseline_location=args.baseline or "",
            photo=folder.photos,
        )
    except MonitoringError as exc:
        print(f"monitoring: {exc}", file=sys.stderr)
        return 1
    print(f"summary: {files.summary}", file=sys.stderr)
    print(batch_line(files.batch), file=sys.stderr)
    if files.drift:
        print(one_line(files.drift), file=sys.stderr)
    elif baseline:
        print("drift: not checked, the batch has no answers with probabilities", file=sys.stderr)
    print(files.report)  # the one line on stdout: the page to open
    return 0


def _reviewed_set(args: argparse.Namespace):
    """The reviewed data set, read before the capture so that a wrong location fails at once."""
    from monitoring.reviews import read_reviewed_set, reviewed_location

    if args.reviewed_from_stack:
        import boto3

        return read_reviewed_set(reviewed_location(boto3.client("cloudformation"), args.reviewed_from_stack))
    return read_reviewed_set(args.reviewed) if args.reviewed else None
