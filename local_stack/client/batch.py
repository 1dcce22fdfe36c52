"""Run one BatchClassify execution over an S3 prefix as a client of AWS would: find the state
machine in the stack's Outputs, put the photos and a manifest of expected labels where the batch
reads them, start it (unnamed, as ``aws stepfunctions start-execution``), follow its Map Run
(DescribeMapRun's counts) and read what it wrote. Nothing here knows the stack is local."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local_stack.client.images import ImageToRun
from local_stack.errors import BatchFailed, BatchStackNotFound, EndpointNotDescribed, UsageError
from scones_core.project import CLASS_NAMES, is_folder_marker
from scones_core.stack_outputs import (
    BATCH_CLASSIFY_STATE_MACHINE_ARN,
    ENDPOINT_NAME,
    IMAGE_BUCKET_NAME,
    MissingStackOutput,
    StackLookupError,
    read_stack,
)

# where the state machine accepts photos (CheckBatchInput) and reads a manifest (SummarizeBatch's role)
PHOTO_PREFIXES = ("images/", "incoming/")
MANIFEST_PREFIX = "batch/manifests/"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


@dataclass(frozen=True)
class BatchStack:
    """What a client needs of a deployed stack to run a batch (its describe-stacks)."""

    state_machine_arn: str
    bucket: str
    batch_size: int  # photos per child execution (the BatchSize parameter)
    endpoint_name: str | None = None  # the EndpointName output: the endpoint a batch is sized to


# The README's sizing rule (docs/batch.md, "Sizing a batch to its endpoint"): keep about twice
# what the endpoint serves at once in flight (one call waiting behind each one served), or a
# serverless endpoint's MaxConcurrency (beyond it SageMaker throttles instead of queueing).
# ml.m5.large, the default instance: ~30 photos/s x ~0.1 s a call = ~3 calls at once (docs/costs.md;
# not measured on AWS: --per-instance-concurrency sets it).
PER_INSTANCE_CONCURRENCY = 3
LARGEST_BATCH = 10  # photos a child: beyond, one slow photo holds more photos' results back
# Distributed Map's MaxConcurrency at most
# (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html)
MOST_CHILDREN_AT_ONCE = 10_000


@dataclass(frozen=True)
class BatchSizing:
    """The execution input's ``max_concurrency`` and ``batch_size`` (SizeTheBatch reads them)."""

    max_concurrency: int
    batch_size: int

    @property
    def in_flight(self) -> int:
        return self.max_concurrency * self.batch_size


def endpoint_in_flight(described: dict, per_instance_concurrency: int = PER_INSTANCE_CONCURRENCY) -> int:
    """Photos to keep in flight against an endpoint, from DescribeEndpoint's ProductionVariants
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html): per
    variant 2 x CurrentInstanceCount x ``per_instance_concurrency``, or a serverless variant's
    CurrentServerlessConfig MaxConcurrency; at least 1."""
    total = 0
    for variant in described.get("ProductionVariants") or []:
        serverless = variant.get("CurrentServerlessConfig") or variant.get("DesiredServerlessConfig")
        if serverless:
            total += int(serverless.get("MaxConcurrency", 1))
        else:
            instances = variant.get("CurrentInstanceCount", variant.get("DesiredInstanceCount", 0))
            total += 2 * int(instances or 0) * per_instance_concurrency
    return max(1, total)


def sizing_for(in_flight: int) -> BatchSizing:
    """``batch_size = min(10, max(1, in_flight // 2))``, ``max_concurrency = max(1, in_flight //
    batch_size)`` (at most 10,000): at least two children, so that one child's slowest photo
    never idles the endpoint, and never more photos in flight than ``in_flight``."""
    batch_size = min(LARGEST_BATCH, max(1, in_flight // 2))
    return BatchSizing(min(MOST_CHILDREN_AT_ONCE, max(1, in_flight // batch_size)), batch_size)


def endpoint_sizing(
    sagemaker: Any, endpoint_name: str, per_instance_concurrency: int = PER_INSTANCE_CONCURRENCY
) -> BatchSizing:
    """The batch's sizing for ``endpoint_name``, as DescribeEndpoint describes it now;
    EndpointNotDescribed when it cannot be described."""
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except (ClientError, BotoCoreError) as error:
        raise EndpointNotDescribed(f"DescribeEndpoint {endpoint_name}: {error}") from error
    return sizing_for(endpoint_in_flight(described, per_instance_concurrency))


@dataclass(frozen=True)
class BatchProgress:
    children_done: int
    children_total: int
    photos_total: int


def batch_stack(cloudformation: Any, stack_name: str) -> BatchStack:
    """The stack's BatchClassify state machine, bucket and BatchSize, from describe-stacks."""
    try:
        stack = read_stack(cloudformation, stack_name)
    except StackLookupError as error:
        raise BatchStackNotFound(f"stack {stack_name} not found ({error})") from error
    try:
        stack.require(BATCH_CLASSIFY_STATE_MACHINE_ARN, IMAGE_BUCKET_NAME)
    except MissingStackOutput as error:
        raise BatchStackNotFound(f"{error}: deploy it again") from error
    return BatchStack(
        stack.batch_classify_state_machine_arn,
        stack.image_bucket,
        int(stack.parameters.get("BatchSize", "10")),
        stack.outputs.get(ENDPOINT_NAME) or stack.parameters.get("EndpointName"),
    )


def fresh_prefix() -> str:
    """A prefix of its own for each uploaded batch, under images/ where the batch may read."""
    return f"images/batch-{uuid.uuid4().hex[:8]}/"


def checked_prefix(prefix: str) -> str:
    """``prefix`` as the batch lists it (a folder: ending in ``/``, or ``images/a`` would also
    take ``images/ab/``), refused by name where the state machine would end in InvalidBatchInput."""
    folder = prefix if prefix.endswith("/") else prefix + "/"
    if not folder.startswith(PHOTO_PREFIXES):
        raise UsageError(f"--prefix {prefix}: must lie under {' or '.join(PHOTO_PREFIXES)}")
    return folder


def manifest_of_images(images: list[ImageToRun]) -> str | None:
    """The ``.lst`` the batch reads (``index<TAB>class<TAB>path``, the path under the prefix)
    for the images that have an expected label; None when none has."""
    lines = [
        f"{number}\t{CLASS_NAMES.index(image.expected)}\t{image.path.name}\n"
        for number, image in enumerate(images)
        if image.expected is not None
    ]
    return "".join(lines) or None


def expected_of_lst(text: str, source: str) -> dict[str, str]:
    """``{path under the prefix: label}`` of a ``.lst``, refused by line as the batch would."""
    expected = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[1].strip() not in ("0", "1") or not parts[2].strip():
            raise UsageError(f"{source}:{number}: expected 'index<TAB>label(0|1)<TAB>path', got {line!r}")
        expected[parts[2].strip()] = CLASS_NAMES[int(parts[1])]
    return expected


def upload_manifest(s3: Any, bucket: str, name: str, text: str) -> str:
    key = f"{MANIFEST_PREFIX}{name}.lst"
    s3.put_object(Bucket=bucket, Key=key, Body=text.encode())
    return key


@dataclass(frozen=True)
class Listing:
    """What the batch's ItemReader will list under a prefix."""

    objects: int  # every object: the Map's items, BatchSize to a child execution
    folder_markers: int  # of which folder markers, which the batch skips and counts apart

    @property
    def photos(self) -> int:
        return self.objects - self.folder_markers


def listing_under(s3: Any, bucket: str, prefix: str) -> Listing:
    """How many objects the batch's ItemReader will list, and how many of them are folder markers."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    listed = [item for page in pages for item in page.get("Contents", [])]
    return Listing(len(listed), sum(is_folder_marker(item) for item in listed))


def start_batch(
    sfn: Any, stack: BatchStack, prefix: str, manifest_key: str | None, sizing: BatchSizing | None = None
) -> str:
    """Start BatchClassify without a name (Step Functions gives it a UUID); its execution ARN.
    Without ``sizing`` the batch runs at the template's BatchMaxConcurrency x BatchSize."""
    execution_input: dict[str, Any] = {"s3_bucket": stack.bucket, "prefix": prefix}
    if manifest_key is not None:
        execution_input["manifest_key"] = manifest_key
    if sizing is not None:
        execution_input["max_concurrency"] = sizing.max_concurrency
        execution_input["batch_size"] = sizing.batch_size
    return sfn.start_execution(stateMachineArn=stack.state_machine_arn, input=json.dumps(execution_input))[
        "executionArn"
    ]


def progress_of(map_run: dict, photos: int, batch_size: int) -> BatchProgress:
    """Child executions done / total from DescribeMapRun: a child is done once it succeeded,
    failed, timed out or was aborted; the total from the photos listed, as the Map counts only
    the children it has started."""
    ended = ("succeeded", "failed", "timedOut", "aborted")
    children = map_run["executionCounts"]
    return BatchProgress(
        sum(children[state] for state in ended),
        max(children["total"], math.ceil(photos / max(1, batch_size))),
        photos,
    )


def wait_for_batch(
    sfn: Any,
    execution_arn: str,
    *,
    photos: int,
    batch_size: int,
    report: Callable[[BatchProgress], None],
    interval: float = 0.5,
) -> dict:
    """The batch's DescribeExecution once it has ended; ``report`` hears each new progress.
    The execution's own TimeoutSeconds (a day, written in the definition) bounds the wait."""
    shown = None
    while True:
        # the first poll waits: a Map Run is listed only once the execution has begun to run
        time.sleep(interval)
        execution = sfn.describe_execution(executionArn=execution_arn)
        progress = map_run_progress(sfn, execution_arn, photos, batch_size)
        if progress is not None and progress != shown:
            report(progress)
            shown = progress
        if execution["status"] in TERMINAL:
            return execution


def map_run_progress(sfn: Any, execution_arn: str, photos: int, batch_size: int) -> BatchProgress | None:
    """The execution's Map Run progress, or None while it has none (not started yet, or the
    service did not answer: progress is only shown, the wait goes on)."""
    try:
        runs = sfn.list_map_runs(executionArn=execution_arn)["mapRuns"]
        if not runs:
            return None
        return progress_of(sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"]), photos, batch_size)
    except (ClientError, BotoCoreError):
        return None


def batch_summary(execution: dict) -> dict:
    """The summary a SUCCEEDED batch answers with (the same as its summary.json)."""
    if execution["status"] != "SUCCEEDED":
        raise BatchFailed(
            execution.get("error") or execution["status"], execution.get("cause") or "no cause given"
        )
    return json.loads(execution["output"])
