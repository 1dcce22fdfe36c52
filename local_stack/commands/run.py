"""``python -m local_stack run``: one execution per image, against a stack of its own or the
one that ``up`` serves (when its exports are set), then a table and a summary."""

from __future__ import annotations

import argparse
import os
import sys

from local_stack.client import executions, images, results
from local_stack.commands.stack_options import start_stack
from local_stack.errors import LocalStackError, UsageError
from local_stack.settings import DEFAULT_BUCKET, STACK_NAME


def run(args: argparse.Namespace) -> int:
    found, warnings = images.find_images(args.images, args.lst, args.limit)
    for warning in warnings:
        print(f"local_stack: {warning}", file=sys.stderr)
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    attached = _running_stack()
    if attached:
        session, state_machine_arn, stack_bucket = attached
        bucket = _stack_bucket(session, args.bucket, stack_bucket)
        print(
            f"local_stack: using the stack at {os.environ['AWS_ENDPOINT_URL']} (its own settings), "
            f"bucket {bucket}",
            file=sys.stderr,
        )
        stop = None
    else:
        running, deployed = start_stack(args)
        session, state_machine_arn, stop = running.session(), deployed.state_machine_arn, running.close
        bucket = deployed.bucket
    try:
        keys = images.upload_images(session.client("s3"), bucket, found)
        ran, wall = executions.run_executions(
            session.client("stepfunctions"),
            state_machine_arn,
            bucket,
            found,
            keys,
            args.concurrency,
            session.client("logs"),  # an Express workflow's ends are in its log group
        )
    finally:
        if stop:
            stop()
    summary = results.summarize(ran, wall)
    results.print_table(ran, summary)
    if args.json:
        results.write_json(args.json, summary, ran)
        print(f"results: {args.json}")
    return 0


def _running_stack():
    """``(session, state machine ARN, bucket)`` of the stack that ``up`` serves, when its exports
    are set, read from its Outputs as a client of AWS reads them (describe-stacks)."""
    import boto3

    from scones_core.stack_outputs import StackLookupError, StackNotFound, read_stack

    url = os.environ.get("AWS_ENDPOINT_URL", "")
    if not url.startswith("http://127.0.0.1:"):
        return None
    session = boto3.Session(region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    try:
        stack = read_stack(session.client("cloudformation"), STACK_NAME)
    except StackNotFound:
        return None
    except StackLookupError as error:
        raise LocalStackError(
            f"AWS_ENDPOINT_URL={url} is set but does not answer ({error}); unset it"
        ) from error
    return session, stack.classify_image_state_machine_arn, stack.image_bucket


def _stack_bucket(session, requested: str, stack_bucket: str) -> str:
    """The bucket to upload to: the stack's own (``up --bucket`` may have named another than
    ``run``'s default), or another one it serves that ``--bucket`` names."""
    if requested in (DEFAULT_BUCKET, stack_bucket):
        return stack_bucket
    buckets = [bucket["Name"] for bucket in session.client("s3").list_buckets()["Buckets"]]
    if requested in buckets:
        return requested
    raise UsageError(
        f"--bucket {requested}: the stack at {os.environ['AWS_ENDPOINT_URL']} serves "
        f"{', '.join(buckets) or 'no bucket'}; name one of them"
    )
