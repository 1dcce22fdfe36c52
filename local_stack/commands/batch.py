"""``python -m local_stack batch``: one BatchClassify execution (the Distributed Map) over a
folder it uploads, or over a prefix already in the bucket, against a stack of its own or the one
that ``up`` serves (when its exports are set); progress on stderr, then the batch's summary."""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable
from typing import TextIO

from local_stack.client import batch_results, images
from local_stack.client.batch import (
    PER_INSTANCE_CONCURRENCY,
    BatchProgress,
    BatchSizing,
    BatchStack,
    batch_stack,
    batch_summary,
    checked_prefix,
    endpoint_sizing,
    expected_of_lst,
    fresh_prefix,
    listing_under,
    manifest_of_images,
    sizing_for,
    start_batch,
    upload_manifest,
    wait_for_batch,
)
from local_stack.commands.stack_options import start_stack
from local_stack.errors import EndpointNotDescribed, LocalStackError, UsageError
from local_stack.settings import DEFAULT_BUCKET, REGION, STACK_NAME

# without a terminal, a progress line at most this often (and the last one)
PROGRESS_LINE_SECONDS = 5.0


def batch(args: argparse.Namespace) -> int:
    found, expected, manifest = _photos_and_manifest(args)
    attached = _attached_session()
    if attached is not None:
        session, stop = attached, None
        print(f"local_stack: using the stack at {os.environ['AWS_ENDPOINT_URL']}", file=sys.stderr)
    else:
        running, _ = start_stack(args)
        session, stop = running.session(), running.close
    try:
        stack = batch_stack(session.client("cloudformation"), STACK_NAME)
        if attached is not None and args.bucket not in (DEFAULT_BUCKET, stack.bucket):
            raise UsageError(
                f"--bucket {args.bucket}: the batch reads its stack's own bucket, {stack.bucket}"
            )
        s3, sfn = session.client("s3"), session.client("stepfunctions")
        prefix = checked_prefix(args.prefix) if args.prefix else fresh_prefix()
        if found is not None:
            images.upload_images(s3, stack.bucket, found, prefix.rstrip("/"))
        listed = listing_under(s3, stack.bucket, prefix)
        if listed.objects == 0:
            raise UsageError(f"--prefix {args.prefix}: no object under s3://{stack.bucket}/{prefix}")
        if listed.photos == 0:
            raise UsageError(
                f"--prefix {args.prefix}: no photo under s3://{stack.bucket}/{prefix}, "
                f"only {listed.folder_markers} folder marker(s)"
            )
        manifest_key = (
            upload_manifest(
                s3, stack.bucket, f"{prefix.strip('/').replace('/', '-')}-{uuid.uuid4().hex[:8]}", manifest
            )
            if manifest
            else None
        )
        sizing = batch_sizing(args, session, stack)
        batch_size = sizing.batch_size if sizing else stack.batch_size
        started = time.perf_counter()
        execution_arn = start_batch(sfn, stack, prefix, manifest_key, sizing)
        print(
            f"local_stack: batch {execution_arn.rsplit(':', 1)[-1]} over s3://{stack.bucket}/{prefix}: "
            f"{listed.photos} photos{_and_markers(listed.folder_markers)}, {batch_size} per child "
            f"execution, {_at_once(sizing)}",
            file=sys.stderr,
        )
        execution = wait_for_batch(
            sfn,
            execution_arn,
            photos=listed.objects,
            batch_size=batch_size,
            report=progress_printer(sys.stderr),
        )
        wall = time.perf_counter() - started
        summary = batch_summary(execution)
        # a folder marker's result says it was skipped: summary.json counts it apart, not as a photo
        results = batch_results.read_photo_results(s3, summary, prefix, expected)
    finally:
        if stop:
            stop()
    timing = {
        "execution_arn": execution_arn,
        "prefix": f"s3://{stack.bucket}/{prefix}",
        "wall_seconds": round(wall, 3),
        "photos_per_second": round(summary["photos"] / wall, 2) if wall else None,
        "child_executions": -(-listed.objects // batch_size),
        "max_concurrency": sizing.max_concurrency if sizing else None,
    }
    batch_results.print_summary(summary, results, timing)
    if summary.get("folder_markers"):
        print(f"folder markers skipped (keys ending in /, 0 bytes): {summary['folder_markers']}")
    if not batch_results.counts_agree(summary, results):
        raise LocalStackError("the result files and summary.json disagree: see --json")
    if args.json:
        batch_results.write_json(args.json, summary, timing, results)
        print(f"results: {args.json}")
    return 0


def batch_sizing(args: argparse.Namespace, session, stack: BatchStack) -> BatchSizing | None:
    """The input's max_concurrency and batch_size: --batch-max-concurrency and --batch-size as
    given, else from --endpoint-instances, else from DescribeEndpoint; None (the template's) when
    the endpoint cannot be described."""
    given = (args.batch_max_concurrency, args.batch_size)
    if given != (None, None):
        if None in given:
            raise UsageError(
                "--batch-max-concurrency and --batch-size size the batch together: give both "
                "(or neither, to size it to the endpoint)"
            )
        return BatchSizing(*given)
    concurrency = (
        PER_INSTANCE_CONCURRENCY if args.per_instance_concurrency is None else args.per_instance_concurrency
    )
    instances = args.endpoint_instances
    if concurrency < 1 or (instances is not None and instances < 1):
        raise UsageError("--endpoint-instances and --per-instance-concurrency must be at least 1")
    if instances is not None:
        return sizing_for(2 * instances * concurrency)
    if not stack.endpoint_name:
        return None
    try:
        return endpoint_sizing(session.client("sagemaker"), stack.endpoint_name, concurrency)
    except EndpointNotDescribed as error:
        print(f"local_stack: {error}; the template's BatchMaxConcurrency x BatchSize", file=sys.stderr)
        return None


def _at_once(sizing: BatchSizing | None) -> str:
    if sizing is None:
        return "children at once as the template's BatchMaxConcurrency says"
    return f"{sizing.max_concurrency} at once ({sizing.in_flight} photos in flight)"


def _and_markers(folder_markers: int) -> str:
    return f" (and {folder_markers} folder markers, skipped)" if folder_markers else ""


def _photos_and_manifest(
    args: argparse.Namespace,
) -> tuple[list[images.ImageToRun] | None, dict[str, str], str | None]:
    """The images to upload (None with --prefix), the expected label of each path under the
    prefix, and the manifest to upload (None without --lst). Checked before anything starts."""
    if args.images is not None:
        found, warnings = images.find_images(args.images, args.lst)
        for warning in warnings:
            print(f"local_stack: {warning}", file=sys.stderr)
        expected = {image.path.name: image.expected for image in found if image.expected is not None}
        return found, expected, manifest_of_images(found)
    checked_prefix(args.prefix)
    if args.lst is None:
        return None, {}, None
    if not args.lst.is_file():
        raise UsageError(f"--lst {args.lst}: no such file")
    text = args.lst.read_text()
    return None, expected_of_lst(text, str(args.lst)), text


def _attached_session():
    """A boto3 session on the stack that ``up`` serves, when its exports are set (as ``run``)."""
    url = os.environ.get("AWS_ENDPOINT_URL", "")
    if not url.startswith("http://127.0.0.1:"):
        return None
    import boto3

    return boto3.Session(region_name=os.environ.get("AWS_DEFAULT_REGION", REGION))


def progress_printer(out: TextIO) -> Callable[[BatchProgress], None]:
    """Rewrites one line on a terminal; elsewhere (a log, a pipe) a line every few seconds and
    the last one."""
    terminal = out.isatty()
    last = [0.0]

    def report(progress: BatchProgress) -> None:
        line = progress_line(progress)
        done = progress.children_done >= progress.children_total
        if terminal:
            print(f"\r{line}", end="\n" if done else "", file=out, flush=True)
        elif done or time.monotonic() - last[0] >= PROGRESS_LINE_SECONDS:
            last[0] = time.monotonic()
            print(line, file=out, flush=True)

    return report


def progress_line(progress: BatchProgress) -> str:
    return (
        f"child executions {progress.children_done}/{progress.children_total} done "
        f"({progress.photos_total} photos)"
    )
