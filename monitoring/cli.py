"""``monitoring report`` (and ``monitoring bench``): a thin CLI over :mod:`monitoring.report`.

Exit codes: 0 done, 1 failed while running (no capture, nothing usable in it, no access), 2 a
usage error (argparse's code; an option's value is wrong on its own).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitoring import DEFAULT_THRESHOLD
from monitoring.report import GALLERY_SIZE
from training_job.project import DEFAULT_STACK_NAME


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


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value


def _gallery_size(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"the gallery size must be 0 or more, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="monitoring", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    report = commands.add_parser(
        "report",
        help="summarise SageMaker data capture into summary.json, PNG plots and report.html",
    )
    report.add_argument(
        "--capture",
        required=True,
        type=_capture,
        metavar="SRC",
        help="a local folder (read recursively) or s3://bucket/prefix with *.jsonl capture",
    )
    report.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the report")
    report.add_argument(
        "--threshold",
        type=_threshold,
        default=DEFAULT_THRESHOLD,
        metavar="T",
        help=f"confidence the workflow requires (default {DEFAULT_THRESHOLD}, "
        "the template's ConfidenceThreshold)",
    )
    report.add_argument(
        "--gallery-size",
        type=_gallery_size,
        default=GALLERY_SIZE,
        metavar="K",
        help=f"least confident inputs to show (default {GALLERY_SIZE})",
    )
    report.add_argument(
        "--baseline",
        metavar="FILE",
        help="the model's baseline.json (a path or s3://bucket/key): adds drift verdicts against it "
        "(training_job/local_model/baseline.json for the local model)",
    )
    reviewed = report.add_mutually_exclusive_group()
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
    report.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    bench = commands.add_parser("bench", help="generate N capture records and time the report on them")
    bench.add_argument("--records", type=_positive, default=100_000)
    bench.add_argument("--per-file", type=_positive, default=1_000, help="records per .jsonl file")
    bench.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where to generate capture and report (default: a temporary folder, removed)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "bench":
        from monitoring.bench import run_bench

        return run_bench(args.records, args.per_file, args.workdir)
    return _report(args)


def _report(args: argparse.Namespace) -> int:
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
            args.threshold,
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


def _reviewed_set(args: argparse.Namespace):
    """The reviewed data set, read before the capture so that a wrong location fails at once."""
    from monitoring.reviews import read_reviewed_set, reviewed_location

    if args.reviewed_from_stack:
        import boto3

        return read_reviewed_set(reviewed_location(boto3.client("cloudformation"), args.reviewed_from_stack))
    return read_reviewed_set(args.reviewed) if args.reviewed else None
