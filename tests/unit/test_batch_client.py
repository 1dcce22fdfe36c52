"""The batch client's plain functions (local_stack.client.batch and batch_results): what it
sends to BatchClassify, how it reads progress and results. The whole path runs in
tests/integration/test_batch.py; these pin each rule on its own."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local_stack.client import batch, batch_results
from local_stack.client.batch_results import PhotoResult
from local_stack.client.images import ImageToRun
from local_stack.errors import (
    BatchFailed,
    BatchResultsUnreadable,
    BatchStackNotFound,
    EndpointNotDescribed,
    UsageError,
)


def _map_run(total: int, **ended: int) -> dict:
    counts = {"succeeded": 0, "failed": 0, "timedOut": 0, "aborted": 0, "running": 0, "total": total}
    return {"executionCounts": counts | ended}


# -- what the client sends ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "listed"),
    [("images/a", "images/a/"), ("images/a/", "images/a/"), ("incoming/x/y", "incoming/x/y/")],
)
def test_a_prefix_is_listed_as_a_folder(prefix, listed):
    assert batch.checked_prefix(prefix) == listed  # images/a alone would also list images/ab/


@pytest.mark.parametrize("prefix", ["batch/manifests/", "other/", "imagesx/", "/images/a"])
def test_a_prefix_the_state_machine_would_refuse_is_refused_first(prefix):
    with pytest.raises(UsageError, match="images/ or incoming/"):
        batch.checked_prefix(prefix)


def test_the_manifest_names_each_labelled_image_by_its_name_under_the_prefix(tmp_path: Path):
    images = [
        ImageToRun(tmp_path / "b.png", "bicycle"),
        ImageToRun(tmp_path / "unknown.png", None),
        ImageToRun(tmp_path / "m.jpg", "motorcycle"),
    ]

    text = batch.manifest_of_images(images)

    assert text == "0\t0\tb.png\n2\t1\tm.jpg\n"
    assert batch.expected_of_lst(text, "x.lst") == {"b.png": "bicycle", "m.jpg": "motorcycle"}


def test_no_manifest_when_no_image_has_a_label(tmp_path: Path):
    assert batch.manifest_of_images([ImageToRun(tmp_path / "a.png", None)]) is None


@pytest.mark.parametrize(
    "line", ["0\t2\ta.png", "0\t0", "0 0 a.png", "0\t0\t ", "0\tbicycle\ta.png", "0\t0\ta.png\textra"]
)
def test_a_bad_lst_line_is_refused_with_its_number(line):
    with pytest.raises(UsageError, match=r"train\.lst:2: expected"):
        batch.expected_of_lst(f"1\t0\tok.png\n{line}\n", "train.lst")


def test_blank_lines_of_an_lst_are_skipped():
    assert batch.expected_of_lst("\n0\t1\ta.png\n\n", "x.lst") == {"a.png": "motorcycle"}


def test_the_batch_starts_unnamed_with_its_manifest_when_there_is_one():
    started = []

    class Sfn:
        def start_execution(self, **kwargs):
            started.append(kwargs)
            return {"executionArn": "arn:x"}

    stack = batch.BatchStack("arn:aws:states:us-east-1:123456789012:stateMachine:b", "bucket", 10)
    assert batch.start_batch(Sfn(), stack, "images/p/", "batch/manifests/m.lst") == "arn:x"
    batch.start_batch(Sfn(), stack, "images/p/", None)

    assert [set(call) for call in started] == [{"stateMachineArn", "input"}] * 2  # no name: a UUID
    assert [json.loads(call["input"]) for call in started] == [
        {"s3_bucket": "bucket", "prefix": "images/p/", "manifest_key": "batch/manifests/m.lst"},
        {"s3_bucket": "bucket", "prefix": "images/p/"},
    ]


# -- the stack, from describe-stacks ---------------------------------------------------------------


def test_the_stack_is_read_from_its_outputs_and_parameters():
    class CloudFormation:
        def describe_stacks(self, StackName):
            return {
                "Stacks": [
                    {
                        "Outputs": [
                            {"OutputKey": "BatchClassifyStateMachineArn", "OutputValue": "arn:b"},
                            {"OutputKey": "ImageBucketName", "OutputValue": "images"},
                        ],
                        "Parameters": [{"ParameterKey": "BatchSize", "ParameterValue": "25"}],
                    }
                ]
            }

    assert batch.batch_stack(CloudFormation(), "s") == batch.BatchStack("arn:b", "images", 25)


def test_a_stack_missing_or_without_the_batch_output_is_named():
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        with pytest.raises(BatchStackNotFound, match="stack nowhere not found"):
            batch.batch_stack(cloudformation, "nowhere")

    class Old:
        def describe_stacks(self, StackName):
            return {"Stacks": [{"Outputs": [{"OutputKey": "ImageBucketName", "OutputValue": "i"}]}]}

    with pytest.raises(BatchStackNotFound, match="no Output BatchClassifyStateMachineArn: deploy it again"):
        batch.batch_stack(Old(), "old")


# -- progress and the end ----------------------------------------------------------------------


def test_progress_counts_children_ended_in_any_way():
    run = _map_run(5, succeeded=2, failed=1, timedOut=1, running=1)

    assert batch.progress_of(run, photos=45, batch_size=10) == batch.BatchProgress(4, 5, 45)


def test_progress_totals_the_children_the_listed_photos_will_need_before_all_have_started():
    # 2 children started of the 11 that 105 photos at 10 a child need
    assert batch.progress_of(_map_run(2, succeeded=1), photos=105, batch_size=10) == batch.BatchProgress(
        1, 11, 105
    )
    assert batch.progress_of(_map_run(0), photos=3, batch_size=0).children_total == 3  # no division by 0


def test_no_progress_while_the_execution_has_no_map_run_or_the_service_does_not_answer():
    from botocore.exceptions import ClientError

    class NoRunYet:
        def list_map_runs(self, executionArn):
            return {"mapRuns": []}

    class Failing:
        def list_map_runs(self, executionArn):
            raise ClientError({"Error": {"Code": "InternalFailure", "Message": "x"}}, "ListMapRuns")

    assert batch.map_run_progress(NoRunYet(), "arn:e", 10, 10) is None
    assert batch.map_run_progress(Failing(), "arn:e", 10, 10) is None


def test_a_succeeded_batch_answers_its_summary_and_any_other_end_is_named():
    assert batch.batch_summary({"status": "SUCCEEDED", "output": '{"photos": 3}'}) == {"photos": 3}
    with pytest.raises(
        BatchFailed, match="the batch ended in InvalidBatchInput: prefix outside images/"
    ) as failed:
        batch.batch_summary(
            {"status": "FAILED", "error": "InvalidBatchInput", "cause": "prefix outside images/"}
        )
    assert failed.value.error == "InvalidBatchInput"
    with pytest.raises(BatchFailed, match="TIMED_OUT: no cause given"):
        batch.batch_summary({"status": "TIMED_OUT"})


# -- each photo's result -------------------------------------------------------------------------


def test_an_answered_photo_has_its_label_and_confidence():
    row = {"item": {"Key": "images/p/a.png"}, "answer": {"label": "bicycle", "confidence": 0.97}}

    assert batch_results.photo_result(row, "images/p/", {"a.png": "motorcycle"}) == PhotoResult(
        "a.png", "images/p/a.png", "motorcycle", "bicycle", 0.97, None, None
    )


def test_a_refused_or_failed_photo_has_its_error_and_cause():
    refused = {
        "item": {"Key": "images/p/b.png"},
        "error": "ThresholdConfidenceNotMet",
        "cause": "0.71 < 0.93",
    }
    child_failed = {"item": {"Key": "images/p/c.png"}, "error": "States.Timeout"}

    assert batch_results.photo_result(refused, "images/p/", {}) == PhotoResult(
        "b.png", "images/p/b.png", None, None, None, "ThresholdConfidenceNotMet", "0.71 < 0.93"
    )
    assert batch_results.photo_result(child_failed, "images/p/", {}).cause is None


def _results_in_s3(s3, *, failed_children: list[dict], succeeded_children: list[dict]) -> dict:
    s3.create_bucket(Bucket="batch-bucket")
    files = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
    for status, children in (("SUCCEEDED", succeeded_children), ("FAILED", failed_children)):
        if children:
            key = f"batch/results/run/{status}_0.json"
            s3.put_object(Bucket="batch-bucket", Key=key, Body=json.dumps(children).encode())
            files[status].append({"Key": key, "Size": 1})
    s3.put_object(
        Bucket="batch-bucket", Key="batch/results/run/manifest.json", Body=json.dumps({"ResultFiles": files})
    )
    return {"results": "s3://batch-bucket/batch/results/run/manifest.json"}


def test_every_photo_is_read_from_the_result_files_a_failed_childs_photos_with_its_error():
    answered = [
        {"item": {"Key": "images/p/b.png"}, "answer": {"label": "motorcycle", "confidence": 0.99}},
        {"item": {"Key": "images/p/a.png"}, "error": "ThresholdConfidenceNotMet", "cause": "low"},
    ]
    failed_child = {
        "Input": json.dumps({"Items": [{"Key": "images/p/c.png"}, {"Key": "images/p/d.png"}]}),
        "Error": "States.Timeout",
        "Cause": "the child ran past 5 minutes",
    }
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        summary = _results_in_s3(
            s3, succeeded_children=[{"Output": json.dumps(answered)}], failed_children=[failed_child]
        )

        photos = batch_results.read_photo_results(s3, summary, "images/p/", {"a.png": "bicycle"})

    assert [(p.image, p.label, p.error, p.expected) for p in photos] == [
        ("a.png", None, "ThresholdConfidenceNotMet", "bicycle"),
        ("b.png", "motorcycle", None, None),
        ("c.png", None, "States.Timeout", None),
        ("d.png", None, "States.Timeout", None),
    ]
    counts = {"photos": 4, "answered": 1, "refused": 1, "errors": {"States.Timeout": 2}}
    assert batch_results.counts_agree(counts, photos)
    assert not batch_results.counts_agree(counts | {"refused": 0}, photos)


def test_missing_or_malformed_result_files_are_named():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="batch-bucket")
        with pytest.raises(BatchResultsUnreadable, match=r"s3://batch-bucket/none/manifest\.json"):
            batch_results.read_photo_results(s3, {"results": "s3://batch-bucket/none/manifest.json"}, "", {})
        s3.put_object(Bucket="batch-bucket", Key="odd/manifest.json", Body=b'{"Files": []}')
        with pytest.raises(BatchResultsUnreadable, match="lists no result files"):
            batch_results.read_photo_results(s3, {"results": "s3://batch-bucket/odd/manifest.json"}, "", {})


def test_the_printed_summary_names_the_first_errors_and_counts_the_rest():
    photos = [PhotoResult(f"{n}.png", f"p/{n}.png", None, None, None, "NotAnImage", "bad") for n in range(12)]
    summary = {
        "photos": 12,
        "answered": 0,
        "refused": 0,
        "labels": {"bicycle": 0, "motorcycle": 0},
        "errors": {"NotAnImage": 12},
        "summary": "s3://batch-bucket/summary.json",
        "expected": {
            "accuracy": None,
            "coverage": 0.0,
            "labelled": 2,
            "not_in_batch": 0,
            "confusion_matrix": {"bicycle": {"bicycle": 0, "motorcycle": 0, "refused": 0, "error": 1}},
        },
    }
    out = io.StringIO()

    batch_results.print_summary(
        summary, photos, {"photos_per_second": 1.0, "wall_seconds": 12, "child_executions": 2}, out
    )

    text = out.getvalue()
    assert "errors: NotAnImage 12" in text
    assert text.count("error: ") == batch_results.ERRORS_SHOWN + 1
    assert "2 more (--json has them all)" in text
    assert "expected \\ answer  bicycle  motorcycle  refused  error" in text


def test_folder_markers_are_listed_apart_from_the_photos():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="batch-bucket")
        for key, body in (("images/p/", b""), ("images/p/sub/", b""), ("images/p/sub/a.png", b"png")):
            s3.put_object(Bucket="batch-bucket", Key=key, Body=body)
        s3.put_object(Bucket="batch-bucket", Key="images/p/empty.png", Body=b"")  # an empty file is no marker

        listed = batch.listing_under(s3, "batch-bucket", "images/p/")

    assert (listed.objects, listed.folder_markers, listed.photos) == (4, 2, 2)


# -- sized to the endpoint (issue 25): DescribeEndpoint -> max_concurrency x batch_size ----------


def test_the_default_instance_gets_the_templates_default_sizing(template):
    # one ml.m5.large: 2 x 1 x 3 = 6 in flight, the template's default
    one = batch.sizing_for(batch.endpoint_in_flight({"ProductionVariants": [{"CurrentInstanceCount": 1}]}))
    parameters = template.body["Parameters"]

    assert (one.max_concurrency, one.batch_size, one.in_flight) == (2, 3, 6)
    assert (parameters["BatchMaxConcurrency"]["Default"], parameters["BatchSize"]["Default"]) == (2, 3)


@pytest.mark.parametrize(
    ("described", "in_flight"),
    [
        ({"ProductionVariants": [{"CurrentInstanceCount": 4}]}, 24),
        ({"ProductionVariants": [{"DesiredInstanceCount": 2}]}, 12),  # while it is still creating
        ({"ProductionVariants": [{"CurrentInstanceCount": 1}, {"CurrentInstanceCount": 1}]}, 12),
        # serverless: its MaxConcurrency, not twice it (SageMaker throttles beyond it, no queue)
        (
            {
                "ProductionVariants": [
                    {"CurrentServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}
                ]
            },
            5,
        ),
        ({"ProductionVariants": [{"CurrentInstanceCount": 0}]}, 1),  # scaled in: one at a time
        ({}, 1),
    ],
)
def test_photos_in_flight_follow_describe_endpoint(described, in_flight):
    assert batch.endpoint_in_flight(described) == in_flight


@pytest.mark.parametrize(
    ("in_flight", "sizing"),
    [(1, (1, 1)), (2, (2, 1)), (5, (2, 2)), (6, (2, 3)), (20, (2, 10)), (24, (2, 10)), (60, (6, 10))],
)
def test_the_sizing_never_puts_more_than_the_endpoint_takes_in_flight(in_flight, sizing):
    sized = batch.sizing_for(in_flight)

    assert (sized.max_concurrency, sized.batch_size) == sizing
    assert sized.in_flight <= in_flight and 1 <= sized.batch_size <= 20


def test_the_sizing_stays_within_the_maps_largest_concurrency():
    assert batch.sizing_for(10**7).max_concurrency == 10_000


def test_an_endpoint_that_cannot_be_described_is_named():
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        with pytest.raises(EndpointNotDescribed, match="DescribeEndpoint nowhere"):
            batch.endpoint_sizing(sagemaker, "nowhere")


def test_the_sizing_goes_in_the_execution_input():
    started = []

    class Sfn:
        def start_execution(self, **kwargs):
            started.append(json.loads(kwargs["input"]))
            return {"executionArn": "arn:x"}

    stack = batch.BatchStack("arn:b", "bucket", 3, "vehicle-classifier")
    batch.start_batch(Sfn(), stack, "images/p/", None, batch.BatchSizing(6, 10))

    assert started == [{"s3_bucket": "bucket", "prefix": "images/p/", "max_concurrency": 6, "batch_size": 10}]
