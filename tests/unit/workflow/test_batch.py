"""BatchClassify executed for real: moto's interpreter runs statemachine/batch_classify.asl.json
(the Distributed Map, with what local_stack.aws.moto_patches provides of it), the four handlers
in-process, S3 in moto. The endpoint is a fake that answers by the photo's bytes, so that the
answers do not depend on the order in which concurrent children call it; the same fake serves
the single-photo workflow, and each photo's answer must agree between the two."""

from __future__ import annotations

import itertools
import json

import boto3
import pytest
from moto import mock_aws

from local_stack.aws import deploy, lambda_runtime
from tests.conftest import SAMPLES_DIR, TEST_ENDPOINT_NAME
from tests.unit.workflow.conftest import BUCKET, wait_until_ended

PREFIX = "images/batch/"
SURE_BICYCLE, SURE_MOTORCYCLE, UNSURE = [0.97, 0.03], [0.02, 0.98], [0.6, 0.4]


def sample(name: str) -> bytes:
    return (SAMPLES_DIR / "images" / name).read_bytes()


# the photos of the batch and what the fake endpoint answers for each
PHOTOS = {
    "bicycle_s_000035.png": SURE_BICYCLE,
    "bicycle_s_000043.png": UNSURE,
    "bicycle_s_000159.png": SURE_MOTORCYCLE,  # a wrong answer, for the confusion matrix
    "bicycle_s_000235.png": SURE_BICYCLE,
}
LST = "".join(f"{n}\t0\t{name}\n" for n, name in enumerate(PHOTOS)) + f"9\t1\t{'not_an_image.txt'}\n"


@pytest.fixture(scope="module")
def batch():
    """BatchClassify deployed once for the module: each test's executions are named afresh, and
    what it writes lies under its execution's own results folder."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        session = boto3.Session(region_name="us-east-1")
        deployed = deploy.deploy(
            session,
            endpoint_name=TEST_ENDPOINT_NAME,
            bucket=BUCKET,
            stack_name="unit",
            parameters={"BatchSize": "2", "BatchMaxConcurrency": "2"},
        )
        s3 = session.client("s3")
        for name in PHOTOS:
            s3.put_object(Bucket=BUCKET, Key=PREFIX + name, Body=sample(name))
        s3.put_object(Bucket=BUCKET, Key=PREFIX + "not_an_image.txt", Body=sample("not_an_image.txt"))
        s3.put_object(Bucket=BUCKET, Key="batch/manifests/photos.lst", Body=LST.encode())
        try:
            yield Batch(session, deployed)
        finally:
            lambda_runtime.unregister_all()


class Batch:
    def __init__(self, session, deployed):
        self.session, self.deployed = session, deployed
        self.sfn, self.s3 = session.client("stepfunctions"), session.client("s3")
        self.classify = deployed.functions["ClassifyImageFunction"]
        self.numbers = itertools.count(1)  # the module's: execution names stay unique in its moto

    def endpoint_answers(self, monkeypatch, answers: dict[bytes, list[float]]) -> None:
        def invoke_endpoint(endpoint_name, image, content_type):
            return self.classify.endpoint.EndpointAnswer(json.dumps(answers[image]).encode())

        monkeypatch.setattr(self.classify.app, "invoke_endpoint", invoke_endpoint)

    def endpoint_throttles(self, monkeypatch) -> None:
        def invoke_endpoint(endpoint_name, image, content_type):
            raise self.classify.exceptions.EndpointThrottled("throttled, as a test wants")

        monkeypatch.setattr(self.classify.app, "invoke_endpoint", invoke_endpoint)

    def run(self, arn: str, execution_input: dict, name: str) -> dict:
        execution = self.sfn.start_execution(
            stateMachineArn=arn, name=f"{name}-{next(self.numbers)}", input=json.dumps(execution_input)
        )
        return wait_until_ended(self.sfn, execution["executionArn"])

    def run_batch(self, **execution_input) -> dict:
        return self.run(
            self.deployed.batch_state_machine_arn, {"s3_bucket": BUCKET, **execution_input}, "batch"
        )

    def json_object(self, key: str):
        return json.loads(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_every_photo_under_the_prefix_gets_a_result_and_the_summary_counts_them(batch, monkeypatch):
    batch.endpoint_answers(monkeypatch, {sample(name): answer for name, answer in PHOTOS.items()})

    execution = batch.run_batch(prefix=PREFIX, manifest_key="batch/manifests/photos.lst")

    assert execution["status"] == "SUCCEEDED", execution
    summary = json.loads(execution["output"])
    assert {k: summary[k] for k in ("photos", "answered", "labels", "refused", "errors")} == {
        "photos": 5,
        "answered": 3,
        "labels": {"bicycle": 2, "motorcycle": 1},
        "refused": 1,
        "errors": {"NotAnImage": 1},
    }
    expected = summary["expected"]
    assert (expected["labelled"], expected["accuracy"], expected["coverage"]) == (5, 0.6667, 0.6)
    assert expected["confusion_matrix"] == {
        "bicycle": {"bicycle": 2, "motorcycle": 1, "refused": 1, "error": 0},
        "motorcycle": {"bicycle": 0, "motorcycle": 0, "refused": 0, "error": 1},
    }
    # summary.json beside the results AWS's ResultWriter writes
    results_folder = summary["results"].removeprefix(f"s3://{BUCKET}/").rpartition("/")[0]
    assert results_folder.startswith("batch/results/")
    assert batch.json_object(f"{results_folder}/summary.json") == summary
    manifest = batch.json_object(f"{results_folder}/manifest.json")
    assert [f["Key"].rpartition("/")[2] for f in manifest["ResultFiles"]["SUCCEEDED"]] == ["SUCCEEDED_0.json"]
    assert manifest["ResultFiles"]["FAILED"] == []
    children = batch.json_object(manifest["ResultFiles"]["SUCCEEDED"][0]["Key"])
    assert len(children) == 3  # 5 photos, BatchSize 2
    photos = [p for child in children for p in json.loads(child["Output"])]
    assert all("image_data" not in json.dumps(p) for p in photos)  # answers, not images


def test_each_photo_ends_as_it_does_in_the_single_photo_workflow(batch, monkeypatch):
    batch.endpoint_answers(monkeypatch, {sample(name): answer for name, answer in PHOTOS.items()})
    single = {}
    for number, name in enumerate([*PHOTOS, "not_an_image.txt"]):
        ended = batch.run(
            batch.deployed.state_machine_arn, {"s3_bucket": BUCKET, "s3_key": PREFIX + name}, f"one-{number}"
        )
        single[PREFIX + name] = (
            json.loads(ended["output"])["label"] if ended["status"] == "SUCCEEDED" else ended["error"]
        )

    summary = json.loads(batch.run_batch(prefix=PREFIX)["output"])

    manifest = batch.json_object(summary["results"].removeprefix(f"s3://{BUCKET}/"))
    in_batch = {}
    for child in batch.json_object(manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]):
        for photo in json.loads(child["Output"]):
            in_batch[photo["item"]["Key"]] = photo["answer"]["label"] if "answer" in photo else photo["error"]
    assert in_batch == single
    assert "expected" not in summary  # no manifest, no accuracy


def test_an_endpoint_down_through_every_retry_fails_the_batch_beyond_its_tolerance(
    batch, monkeypatch, retry_sleeps
):
    batch.endpoint_throttles(monkeypatch)

    execution = batch.run_batch(prefix=PREFIX)

    assert (execution["status"], execution["error"]) == ("FAILED", "TooManyPhotosFailed"), execution["cause"]
    assert "4 of 5 items failed" in execution["cause"]  # the text file fails before the endpoint


def test_a_prefix_outside_what_the_functions_may_read_is_refused(batch):
    execution = batch.run_batch(prefix="batch/")

    assert (execution["status"], execution["error"]) == ("FAILED", "InvalidBatchInput")


def test_a_manifest_outside_batch_manifests_is_refused(batch):
    execution = batch.run_batch(prefix=PREFIX, manifest_key="images/photos.lst")

    assert (execution["status"], execution["error"]) == ("FAILED", "InvalidBatchInput")


# -- a bad batch fails at once and by name (issue 23, item 7) ----------------------------------


def one_line(cause: str) -> bool:
    """A cause people read: the error's message, no stack trace, no JSON of the runtime's error."""
    return "\n" not in cause and "stackTrace" not in cause and "errorMessage" not in cause


def map_runs_of(batch: Batch, execution: dict) -> list:
    return batch.sfn.list_map_runs(executionArn=execution["executionArn"])["mapRuns"]


def test_a_failed_summary_ends_with_its_one_line_message_not_the_functions_error_json(batch, monkeypatch):
    batch.endpoint_answers(monkeypatch, {sample(name): answer for name, answer in PHOTOS.items()})
    summarize = batch.deployed.functions["SummarizeBatchFunction"]

    def write_json(bucket, key, value):
        raise summarize.exceptions.ResultsStoreError(f"s3://{bucket}/{key}: S3 refused with AccessDenied")

    monkeypatch.setattr(summarize.app, "write_json", write_json)

    execution = batch.run_batch(prefix=PREFIX)

    assert (execution["status"], execution["error"]) == ("FAILED", "ResultsStoreError")
    assert execution["cause"].startswith(f"s3://{BUCKET}/batch/results/"), execution["cause"]
    assert execution["cause"].endswith("/summary.json: S3 refused with AccessDenied")
    assert one_line(execution["cause"]), execution["cause"]


def test_a_bucket_that_does_not_exist_is_named_before_any_photo_is_listed(batch):
    execution = batch.run_batch(s3_bucket="no-such-bucket-for-this-batch", prefix=PREFIX)

    assert (execution["status"], execution["error"]) == ("FAILED", "BucketNotFound"), execution
    assert execution["cause"] == "bucket no-such-bucket-for-this-batch does not exist (S3: NoSuchBucket)"
    assert map_runs_of(batch, execution) == []


def test_a_bucket_the_batch_may_not_list_ends_photos_not_listed(batch):
    # it exists (CheckBatch passes), but the role lists only the stack's bucket: the ItemReader's
    # ListObjectsV2 is refused, States.ItemReaderFailed, caught by name
    batch.s3.create_bucket(Bucket="another-teams-bucket")
    execution = batch.run_batch(s3_bucket="another-teams-bucket", prefix=PREFIX)

    assert (execution["status"], execution["error"]) == ("FAILED", "PhotosNotListed"), execution
    assert "s3:ListBucket" in execution["cause"] and "AccessDenied" in execution["cause"], execution


def test_a_bucket_with_a_manifest_that_does_not_exist_is_named_too(batch):
    execution = batch.run_batch(
        s3_bucket="no-such-bucket-for-this-batch", prefix=PREFIX, manifest_key="batch/manifests/photos.lst"
    )

    assert (execution["status"], execution["error"]) == ("FAILED", "BucketNotFound"), execution
    assert one_line(execution["cause"])


@pytest.mark.parametrize(
    ("manifest", "error", "says"),
    [
        (None, "ManifestNotFound", "batch/manifests/{name} does not exist"),
        ("1\tcar\tbicycle_s_000035.png\n", "InvalidManifest", "'car' is no label"),
        ("1\t0\n", "InvalidManifest", "each line must be index<TAB>class<TAB>path"),
        ("key,class\nimages/batch/a.png,0\n", "InvalidManifest", "header must name Key and label"),
        ("Key,label\nimages/x/a.png,0\n", "InvalidManifest", "none of its 1 keys lies under images/batch/"),
        ("\n", "InvalidManifest", "names no photo with a label"),
    ],
)
def test_a_bad_manifest_is_refused_before_any_photo_is_classified(batch, monkeypatch, manifest, error, says):
    classified = []
    monkeypatch.setattr(
        batch.classify.app, "invoke_endpoint", lambda *args: classified.append(args) or b"[0.9, 0.1]"
    )
    name = f"bad-{error}-{len(says)}.{'csv' if manifest and ',' in manifest else 'lst'}"
    if manifest is not None:
        batch.s3.put_object(Bucket=BUCKET, Key=f"batch/manifests/{name}", Body=manifest.encode())

    execution = batch.run_batch(prefix=PREFIX, manifest_key=f"batch/manifests/{name}")

    assert (execution["status"], execution["error"]) == ("FAILED", error), execution
    assert says.format(name=name) in execution["cause"] and one_line(execution["cause"]), execution["cause"]
    assert map_runs_of(batch, execution) == [] and classified == []


MARKED = "images/marked/"


def test_folder_markers_are_skipped_and_counted_apart_not_as_photos(batch, monkeypatch):
    photo = "bicycle_s_000035.png"
    batch.endpoint_answers(monkeypatch, {sample(photo): SURE_BICYCLE})
    for key in (MARKED, f"{MARKED}sub/"):  # what the S3 console's "Create folder" writes
        batch.s3.put_object(Bucket=BUCKET, Key=key, Body=b"")
    batch.s3.put_object(Bucket=BUCKET, Key=f"{MARKED}sub/{photo}", Body=sample(photo))

    execution = batch.run_batch(prefix=MARKED)

    assert execution["status"] == "SUCCEEDED", execution
    summary = json.loads(execution["output"])
    assert {k: summary[k] for k in ("photos", "answered", "refused", "errors", "folder_markers")} == {
        "photos": 1,
        "answered": 1,
        "refused": 0,
        "errors": {},
        "folder_markers": 2,
    }


# -- sized by its starter (issue 25): the Map's numbers come from the input, else the template's --


def _children_and_map_run(batch, execution: dict) -> tuple[int, dict]:
    summary = json.loads(execution["output"])
    results_folder = summary["results"].removeprefix(f"s3://{BUCKET}/").rpartition("/")[0]
    manifest = batch.json_object(f"{results_folder}/manifest.json")
    children = batch.json_object(manifest["ResultFiles"]["SUCCEEDED"][0]["Key"])
    (run,) = batch.sfn.list_map_runs(executionArn=execution["executionArn"])["mapRuns"]
    return len(children), batch.sfn.describe_map_run(mapRunArn=run["mapRunArn"])


def test_the_inputs_sizing_sets_the_maps_batch_size_and_concurrency(batch, monkeypatch):
    batch.endpoint_answers(monkeypatch, {sample(name): answer for name, answer in PHOTOS.items()})

    execution = batch.run_batch(prefix=PREFIX, batch_size=4, max_concurrency=1)

    assert execution["status"] == "SUCCEEDED", execution
    children, map_run = _children_and_map_run(batch, execution)
    assert (children, map_run["maxConcurrency"]) == (2, 1)  # 5 photos, 4 a child, one at a time


def test_a_sizing_field_left_out_is_the_templates(batch, monkeypatch):
    batch.endpoint_answers(monkeypatch, {sample(name): answer for name, answer in PHOTOS.items()})

    execution = batch.run_batch(prefix=PREFIX, max_concurrency=3)

    assert execution["status"] == "SUCCEEDED", execution
    children, map_run = _children_and_map_run(batch, execution)
    assert (children, map_run["maxConcurrency"]) == (3, 3)  # BatchSize 2, the module's template


@pytest.mark.parametrize(
    "sizing",
    [
        {"batch_size": 0},
        {"batch_size": 21},  # an Express child's 5 minutes
        {"batch_size": "4"},
        {"max_concurrency": 0},  # 0 is "no limit" to a Map: never from a starter
        {"max_concurrency": 10001},  # Distributed Map's most
        {"max_concurrency": None},
    ],
)
def test_a_sizing_out_of_range_is_refused_before_anything_runs(batch, sizing):
    execution = batch.run_batch(prefix=PREFIX, **sizing)

    assert (execution["status"], execution["error"]) == ("FAILED", "InvalidBatchInput")
    assert "max_concurrency" in execution["cause"] and "batch_size" in execution["cause"]
