"""CaptureMode Function end to end: the same photos once through the local endpoint capturing
(CaptureMode Endpoint) and once through ClassifyImage writing the capture itself, to an endpoint
that captures nothing; `monitoring report` (no flag of its own) on each gives the same report and
the same drift verdict. Then the workflow deployed with CaptureMode=Function."""

from __future__ import annotations

import base64
import io
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image, ImageEnhance

from local_stack.aws import lambda_runtime
from local_stack.aws.data_capture import DataCaptureWriter
from local_stack.aws.sagemaker_endpoint import LocalEndpoint
from local_stack.aws.template import Template, make_resolver
from local_stack.client import executions, images
from local_stack.commands.cli import main as local_stack_main
from local_stack.settings import SAMPLES_DIR, SAMPLES_LST
from monitoring.cli import main as monitoring_main
from scones_core.wsgi_server import serve
from training_job.local_model import MODEL_PATH
from training_job.local_model.baseline import baseline_path_for, baseline_uri_for

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_IMAGES = sorted((REPO_ROOT / "samples" / "images").glob("*.png"))
ENDPOINT = "vehicle-classifier-capture"
BUCKET = "capture-modes"
MODEL_DATA = f"s3://{BUCKET}/vehicle-classifier/output/vehicle-ic-1/output/model.tar.gz"
# what differs between two captures of the same photos: when, and in how many files
_NOT_COMPARED = ("time_range", "files_read", "per_hour", "source")
_IDS_AND_TIMES = (
    "least_confident_event_id",
    "event_id",
    "inference_id",
    "inference_time",
    "source_file",
    "file",
)


@pytest.fixture(scope="module")
def s3_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def s3(s3_url):
    client = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    bucket, key = baseline_uri_for(MODEL_DATA).removeprefix("s3://").split("/", 1)
    client.put_object(Bucket=bucket, Key=key, Body=baseline_path_for(MODEL_PATH).read_bytes())
    return client


def photos(change: Callable[[Image.Image], Image.Image]) -> list[bytes]:
    out = []
    for path in SAMPLE_IMAGES:
        with Image.open(path) as image:
            buffer = io.BytesIO()
            change(image.convert("RGB")).save(buffer, format="PNG")
            out.append(buffer.getvalue())
    return out


def endpoint_capture(s3, prefix: str, bodies: list[bytes]) -> None:
    """CaptureMode Endpoint: the endpoint's DataCaptureConfig writes the capture."""
    capture = DataCaptureWriter(s3, bucket=BUCKET, prefix=prefix, endpoint_name=ENDPOINT)
    with serve(LocalEndpoint(ENDPOINT, MODEL_PATH, capture=capture)) as handle:  # closing flushes
        runtime = boto3.client("sagemaker-runtime", endpoint_url=handle.url, region_name="us-east-1")
        for body in bodies:
            runtime.invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png", Body=body)


def function_capture(s3_url, monkeypatch, prefix: str, bodies: list[bytes]) -> None:
    """CaptureMode Function: an endpoint without capture, ClassifyImage's handler writing it, with
    the environment template.yaml gives it for CaptureDestination s3://BUCKET/<prefix>."""
    template = Template.load()
    resolve = make_resolver(
        {
            **template.parameter_defaults(),
            "EndpointName": ENDPOINT,
            "CaptureMode": "Function",
            "CaptureDestination": f"s3://{BUCKET}/{prefix}",
        },
        {},
        {},
    )
    environment = template.function_environment("ClassifyImageFunction", resolve)
    with serve(LocalEndpoint(ENDPOINT, MODEL_PATH)) as handle:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", handle.url)
        classify = lambda_runtime.load_function(
            template.function_code_dir("ClassifyImageFunction"), environment
        )
        context = lambda_runtime.FakeLambdaContext(function_name="ClassifyImage")
        for body in bodies:
            event = {"image_data": base64.b64encode(body).decode(), "content_type": "image/png"}
            classify.app.lambda_handler(event, context)


def report(s3_url, monkeypatch, tmp_path: Path, prefix: str) -> dict:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_url)
    out = tmp_path / prefix.replace("/", "-")
    code = monitoring_main(
        [
            "report",
            "--capture",
            f"s3://{BUCKET}/{prefix}/{ENDPOINT}",
            "--baseline",
            baseline_uri_for(MODEL_DATA),
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    return summary


def comparable(summary: dict) -> dict:
    """The summary without what two captures of the same photos may differ in (the times, the
    number of files, the event ids), its sums rounded past float addition order."""

    def without_ids_and_times(value):
        if isinstance(value, dict):
            return {k: without_ids_and_times(v) for k, v in value.items() if k not in _IDS_AND_TIMES}
        if isinstance(value, list):
            return [without_ids_and_times(v) for v in value]
        return value

    kept = without_ids_and_times({k: v for k, v in summary.items() if k not in _NOT_COMPARED})
    return json.loads(json.dumps(kept), parse_float=lambda text: round(float(text), 9))


@pytest.mark.parametrize(
    ("name", "change", "verdict"),
    [
        ("as-they-are", lambda image: image, "ok"),
        ("darkened", lambda image: ImageEnhance.Brightness(image).enhance(0.3), "drift"),
    ],
)
def test_the_report_from_function_capture_equals_the_one_from_endpoint_capture(
    s3, s3_url, tmp_path, monkeypatch, name, change, verdict
):
    bodies = photos(change)
    endpoint_capture(s3, f"{name}/endpoint", bodies)
    function_capture(s3_url, monkeypatch, f"{name}/function", bodies)

    by_endpoint = report(s3_url, monkeypatch, tmp_path, f"{name}/endpoint")
    by_function = report(s3_url, monkeypatch, tmp_path, f"{name}/function")

    assert by_function["records"] == by_endpoint["records"] == len(SAMPLE_IMAGES)
    assert by_function["files_read"] == len(SAMPLE_IMAGES)  # one object per inference
    assert comparable(by_function) == comparable(by_endpoint)
    assert by_function["drift"]["verdict"] == by_endpoint["drift"]["verdict"] == verdict


@pytest.mark.slow  # a stack of its own: CaptureMode=Function
def test_the_workflow_under_capture_mode_function_captures_every_answer_itself(tmp_path):
    """The stack deployed with CaptureMode=Function: the workflow's outcomes are those of the
    default stack, the endpoint writes no capture, and ClassifyImage's capture holds one record
    per answered photo, which the report reads from where the endpoint's would be."""
    from local_stack.aws import deploy
    from local_stack.processes import services

    found, _ = images.find_images(SAMPLES_DIR, SAMPLES_LST, limit=20)
    bucket = "function-capture-test"
    # the endpoint's own capture off (0 %), as `--capture-mode Function` starts it
    running = services.start(
        model_path=MODEL_PATH, bucket=bucket, endpoint_name=bucket, sampling_percentage=0
    )
    try:
        session = running.session()
        deployed = deploy.deploy(
            session,
            endpoint_name=bucket,
            bucket=bucket,
            stack_name="function-capture",
            parameters={"CaptureMode": "Function"},
        )
        s3 = session.client("s3")
        keys = images.upload_images(s3, deployed.bucket, found)
        results, _ = executions.run_executions(
            session.client("stepfunctions"), deployed.state_machine_arn, deployed.bucket, found, keys, 8
        )
        running.endpoint.close()  # the endpoint's writer would flush here: it has nothing
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"data-capture/{bucket}/AllTraffic/")
        keys_written = [item["Key"] for item in listing.get("Contents", [])]
        records = [json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) for key in keys_written]
        report_dir = tmp_path / "report"
        report_code = monitoring_main(
            ["report", "--capture", f"s3://{bucket}/data-capture/", "--out", str(report_dir), "--no-progress"]
        )
    finally:
        running.close()

    answered = [r for r in results if r.status == "SUCCEEDED" or r.error == "ThresholdConfidenceNotMet"]
    assert len(records) == len(keys_written) == len(answered) > 0  # one object per answer
    assert Counter(r.status for r in results)["SUCCEEDED"] > 0
    assert report_code == 0
    summary = json.loads((report_dir / "summary.json").read_text())
    assert summary["records"] == len(answered)
    assert summary["below_threshold"]["count"] == sum(r.error == "ThresholdConfidenceNotMet" for r in results)


def test_up_refuses_a_capture_mode_the_template_does_not_allow(capsys):
    code = local_stack_main(["run", "--images", str(SAMPLES_DIR), "--limit", "1", "--capture-mode", "Lambda"])
    assert code != 0
    assert "--capture-mode Lambda" in capsys.readouterr().err
