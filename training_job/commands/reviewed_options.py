"""The reviewed data set, as `stage` and `train` take it: its options, where it is, and the
line that says what merging it did."""

from __future__ import annotations

import argparse

from scones_core.project import DEFAULT_STACK_NAME
from training_job.commands.argument_types import s3_uri


def add_reviewed_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "the reviewed data set",
        "Photos the model was unsure of, labelled by a person (python -m review), go into the train "
        "channel only (validation stays the split models are compared on), once each, numbered "
        "after the train .lst's last index.",
    )
    group.add_argument(
        "--include-reviewed",
        action="store_true",
        help="merge the reviewed data set into train; found in the stack's ReviewedDataLocation output",
    )
    group.add_argument(
        "--reviewed",
        type=s3_uri,
        metavar="S3_URI",
        help="the reviewed data set, e.g. s3://IMAGE_BUCKET/reviewed/ (implies --include-reviewed)",
    )
    group.add_argument(
        "--stack-name",
        default=DEFAULT_STACK_NAME,
        help="the SAM stack whose ReviewedDataLocation names the set (default: %(default)s)",
    )


def reviewed_uri(args: argparse.Namespace, session) -> str | None:
    """Where the reviewed data set is, when it is asked for: `--reviewed`, else the stack's
    `ReviewedDataLocation` Output."""
    if args.reviewed:
        return args.reviewed
    if not args.include_reviewed:
        return None
    from training_job import staging

    return staging.reviewed_location(session.client("cloudformation"), args.stack_name)


def reviewed_line(merge, uri: str) -> str:
    """What `--include-reviewed` did, in one line: added per class, and what was left out and why."""
    per_class = ", ".join(f"{name} {count}" for name, count in merge.added_per_class.items())
    left_out = [
        (merge.duplicates, "duplicate photos (the latest verdict kept)"),
        (merge.already_in_train, "already in train"),
        (merge.in_validation, "in validation (kept out of train)"),
    ]
    skipped = "; ".join(f"{count} {why}" for count, why in left_out if count)
    return f"reviewed: {len(merge.added)} photos added to train ({per_class}) from {uri}" + (
        f"; left out: {skipped}" if skipped else ""
    )
