"""Drift through the local stack's endpoint: the committed samples, as they are and darkened,
sent with boto3 to the local SageMaker endpoint serving the shipped model, captured by it into
S3 (a moto server), and judged by ``monitoring report`` against the baseline stored beside the
model artifact, where ``deploy`` stores it."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image, ImageEnhance

from local_stack.aws.data_capture import DataCaptureWriter
from local_stack.aws.sagemaker_endpoint import LocalEndpoint
from monitoring.cli import main as monitoring_main
from scones_core.wsgi_server import serve
from training_job.local_model import MODEL_PATH
from training_job.local_model.baseline import baseline_path_for, baseline_uri_for

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_IMAGES = sorted((REPO_ROOT / "samples" / "images").glob("*.png"))
ENDPOINT = "vehicle-classifier-drift"
BUCKET = "models"
MODEL_DATA = f"s3://{BUCKET}/vehicle-classifier/output/vehicle-ic-1/output/model.tar.gz"


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
    # what deploy does with the model's baseline: it goes beside the model artifact
    bucket, key = baseline_uri_for(MODEL_DATA).removeprefix("s3://").split("/", 1)
    client.put_object(Bucket=bucket, Key=key, Body=baseline_path_for(MODEL_PATH).read_bytes())
    return client


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def serve_and_capture(s3, prefix: str, change: Callable[[Image.Image], Image.Image]) -> None:
    """Every sample, changed, through the local endpoint; its capture lands under ``prefix``."""
    capture = DataCaptureWriter(s3, bucket=BUCKET, prefix=prefix, endpoint_name=ENDPOINT)
    with serve(LocalEndpoint(ENDPOINT, MODEL_PATH, capture=capture)) as handle:  # closing flushes
        runtime = boto3.client("sagemaker-runtime", endpoint_url=handle.url, region_name="us-east-1")
        for path in SAMPLE_IMAGES:
            with Image.open(path) as image:
                body = png(change(image.convert("RGB")))
            runtime.invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png", Body=body)
    assert capture.records_written == len(SAMPLE_IMAGES)


@pytest.mark.parametrize(
    ("name", "change", "verdict"),
    [
        ("as-they-are", lambda image: image, "ok"),
        ("darkened", lambda image: ImageEnhance.Brightness(image).enhance(0.3), "drift"),
    ],
)
def test_the_report_judges_the_endpoints_capture_against_the_stored_baseline(
    s3, s3_url, tmp_path, monkeypatch, name, change, verdict
):
    serve_and_capture(s3, f"{name}/data-capture", change)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_url)  # the report reads S3 as it would in AWS

    code = monitoring_main(
        [
            "report",
            "--capture",
            f"s3://{BUCKET}/{name}/data-capture/{ENDPOINT}",
            "--baseline",
            baseline_uri_for(MODEL_DATA),
            "--out",
            str(tmp_path),
            "--no-progress",
        ]
    )

    assert code == 0
    drift = json.loads((tmp_path / "summary.json").read_text())["drift"]
    assert drift["records"] == len(SAMPLE_IMAGES)
    assert drift["baseline"]["location"] == baseline_uri_for(MODEL_DATA)
    assert drift["verdict"] == verdict
    if verdict == "ok":
        assert {check["verdict"] for check in drift["checks"].values()} == {"ok"}
