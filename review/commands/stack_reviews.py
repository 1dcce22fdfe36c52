"""What every review command stands on: the options that name the stack (before the command,
``--stack-name``, ``--region``), and the :class:`review.service.Reviews` of that stack."""

from __future__ import annotations

import argparse
import os

from scones_core.project import DEFAULT_STACK_NAME


def add_stack_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack-name", default=DEFAULT_STACK_NAME, help=f"default {DEFAULT_STACK_NAME}")
    parser.add_argument(
        "--region", default=os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
    )


def open_reviews(args: argparse.Namespace):
    """The stack's review queue and reviewed data set (from its Outputs), with this user's claims."""
    import boto3

    from review.queue import claims_path
    from review.service import Reviews
    from review.stack import review_stack

    session = boto3.Session(region_name=args.region or "us-east-1")
    return Reviews(session, review_stack(session.client("cloudformation"), args.stack_name), claims_path())
