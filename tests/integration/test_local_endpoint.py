"""The local SageMaker Runtime endpoint and its data capture, through real boto3 clients over
loopback HTTP: the endpoint served by scones_core.wsgi_server (in this process, and in a process
of its own as the local stack runs it), S3 on a moto server."""

from __future__ import annotations

import base64
import io
import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer
from PIL import Image

from local_stack.aws.data_capture import CaptureUploadError, DataCaptureWriter
from local_stack.aws.sagemaker_endpoint import LocalEndpoint
from local_stack.errors import LocalStackError
from local_stack.processes.endpoint_server import EndpointSettings, start_endpoint_server
from scones_core.wsgi_server import serve
from training_job.local_model.inference import load_session, predict_probabilities
from training_job.local_model.preprocess import decode_image

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_IMAGES = sorted((REPO_ROOT / "samples" / "images").glob("*.png"))
SHARED_IMAGES = sorted(
    (REPO_ROOT.parent / "shared" / "data" / "cifar100-bicycle-motorcycle" / "train").glob("*.png")
)
ENDPOINT = "vehicle-classifier-local"
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
CAPTURE_KEY = re.compile(
    rf"^capture/{ENDPOINT}/AllTraffic/(\d{{4}}/\d{{2}}/\d{{2}}/\d{{2}})/\d{{2}}-\d{{2}}-\d{{3}}-{UUID}\.jsonl$"
)


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    """A tiny stand-in with the shipped model's contract: ``image`` float32 [N,3,32,32] RGB
    0..255 -> ``probabilities`` [N,2] softmax (red-ish images lean bicycle, blue-ish motorcycle)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.array([[0.02, -0.02], [0.0, 0.0], [-0.02, 0.02]], np.float32), "W")
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["image"], ["mean"], axes=[2, 3], keepdims=0),
            helper.make_node("MatMul", ["mean", "W"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ],
        "stand_in_vehicle_classifier",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = tmp_path_factory.mktemp("model") / "vehicle_classifier.onnx"
    onnx.save(model, path)
    return path


@pytest.fixture(scope="module")
def s3_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def s3(s3_url):
    return boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1")


@pytest.fixture
def bucket(s3) -> str:
    name = f"capture-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def endpoint(model_path):
    """A running endpoint without capture; yields the handle (``.url``)."""
    handle = serve(LocalEndpoint(ENDPOINT, model_path))
    yield handle
    handle.close()


@pytest.fixture
def runtime(endpoint):
    return runtime_client(endpoint.url)


def runtime_client(url: str):
    return boto3.client("sagemaker-runtime", endpoint_url=url, region_name="us-east-1", config=NO_RETRIES)


def png_bytes() -> bytes:
    return SAMPLE_IMAGES[0].read_bytes()


def distinct_images(count: int) -> list[bytes]:
    """``count`` different PNGs: the shared training images when present, else variations of
    the committed samples (one pixel changed)."""
    if len(SHARED_IMAGES) >= count:
        return [path.read_bytes() for path in SHARED_IMAGES[:count]]
    images = []
    for index in range(count):
        with Image.open(SAMPLE_IMAGES[index % len(SAMPLE_IMAGES)]) as image:
            rgb = image.convert("RGB")
        rgb.putpixel((0, 0), (index % 256, index // 256, 0))
        buffer = io.BytesIO()
        rgb.save(buffer, format="PNG")
        images.append(buffer.getvalue())
    return images


def invoke(client, body: bytes, content_type: str = "image/png", endpoint_name: str = ENDPOINT) -> dict:
    response = client.invoke_endpoint(EndpointName=endpoint_name, ContentType=content_type, Body=body)
    return {**response, "Body": response["Body"].read()}


def capture_objects(s3, bucket: str) -> dict[str, list[dict]]:
    """Every capture file in the bucket: key -> its records."""
    listing = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    files = {}
    for item in listing:
        text = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
        assert text.endswith("\n")
        files[item["Key"]] = [json.loads(line) for line in text.splitlines()]
    return files


def writer(s3, bucket: str, **options) -> DataCaptureWriter:
    return DataCaptureWriter(s3, bucket=bucket, prefix="capture", endpoint_name=ENDPOINT, **options)


def put(capture: DataCaptureWriter, body: bytes = b"x", inference_time: datetime | None = None) -> bool:
    return capture.capture(
        input_body=body,
        input_content_type="image/png",
        output_body=b"[1.0, 0.0]",
        output_content_type="application/json",
        inference_time=inference_time,
    )


# -- invocations --------------------------------------------------------------------------------


def test_png_answers_two_probabilities_like_the_model(runtime, model_path):
    body = png_bytes()
    response = invoke(runtime, body)

    probabilities = json.loads(response["Body"])
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert len(probabilities) == 2
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)
    expected = predict_probabilities(load_session(model_path), decode_image(body))[0]
    assert probabilities == pytest.approx(expected.tolist(), abs=1e-6)


@pytest.mark.parametrize("content_type", ["image/jpeg", "application/x-image"])
def test_jpeg_and_x_image_are_accepted(runtime, content_type):
    with Image.open(SAMPLE_IMAGES[0]) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=95)

    probabilities = json.loads(invoke(runtime, buffer.getvalue(), content_type)["Body"])

    assert len(probabilities) == 2
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)


def test_an_unchanged_client_finds_it_through_the_endpoint_setting(endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", endpoint.url)
    client = boto3.client("sagemaker-runtime", region_name="us-east-1")

    response = client.invoke_endpoint(
        EndpointName=ENDPOINT, ContentType="image/png", Accept="application/json", Body=png_bytes()
    )

    assert len(json.loads(response["Body"].read())) == 2


def test_unknown_endpoint_is_a_validation_error(runtime):
    with pytest.raises(ClientError) as raised:
        invoke(runtime, png_bytes(), endpoint_name="no-such-endpoint")

    error = raised.value.response
    assert error["Error"]["Code"] == "ValidationError"
    assert error["Error"]["Message"] == "Endpoint no-such-endpoint of account 123456789012 not found."
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    ("body", "content_type", "original_status"),
    [
        (b"these bytes are not an image", "image/png", 400),
        (b"", "image/png", 400),
        (b"plain text", "text/plain", 415),
    ],
    ids=["not-an-image", "empty-body", "unsupported-content-type"],
)
def test_what_the_model_refuses_is_a_model_error(runtime, body, content_type, original_status):
    with pytest.raises(ClientError) as raised:
        invoke(runtime, body, content_type)

    error = raised.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == original_status
    assert error["Error"]["Message"].startswith(f"Received client error ({original_status}) from primary")
    assert error["LogStreamArn"].endswith(f"/aws/sagemaker/Endpoints/{ENDPOINT}")


def test_a_missing_model_is_a_model_error_until_the_model_appears(tmp_path, model_path):
    missing = tmp_path / "vehicle_classifier.onnx"
    with serve(LocalEndpoint(ENDPOINT, missing)) as handle:
        client = runtime_client(handle.url)
        with pytest.raises(ClientError) as raised:
            invoke(client, png_bytes())
        error = raised.value.response
        assert error["Error"]["Code"] == "ModelError"
        assert error["OriginalStatusCode"] == 500
        assert str(missing) in error["OriginalMessage"]

        missing.write_bytes(model_path.read_bytes())
        assert len(json.loads(invoke(client, png_bytes())["Body"])) == 2


# -- faults on purpose --------------------------------------------------------------------------


def test_fail_rate_one_throttles_every_request(model_path):
    with serve(LocalEndpoint(ENDPOINT, model_path, fail_rate=1.0, seed=1)) as handle:
        client = runtime_client(handle.url)
        with pytest.raises(ClientError) as raised:
            invoke(client, png_bytes())

    error = raised.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_fail_rate_is_a_seeded_share_of_requests(model_path):
    def outcomes() -> list[str]:
        with serve(LocalEndpoint(ENDPOINT, model_path, fail_rate=0.3, seed=7)) as handle:
            client = runtime_client(handle.url)
            results = []
            for _ in range(60):
                try:
                    invoke(client, png_bytes())
                    results.append("ok")
                except ClientError as error:
                    results.append(error.response["Error"]["Code"])
            return results

    first = outcomes()
    assert set(first) == {"ok", "ThrottlingException"}
    assert 5 <= first.count("ThrottlingException") <= 35
    assert outcomes() == first  # same seed, same faults


def test_latency_is_added_before_answering(model_path):
    with serve(LocalEndpoint(ENDPOINT, model_path, latency_ms=200)) as handle:
        client = runtime_client(handle.url)
        started = time.perf_counter()
        invoke(client, png_bytes())
        assert time.perf_counter() - started >= 0.2


# -- data capture -------------------------------------------------------------------------------


def test_concurrent_invocations_are_captured_exactly_once(model_path, s3, bucket):
    images = distinct_images(48)
    capture = writer(s3, bucket, max_records_per_file=10, max_seconds=60)
    handle = serve(LocalEndpoint(ENDPOINT, model_path, capture=capture))
    client = runtime_client(handle.url)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda body: invoke(client, body)["Body"].decode(), images))
    handle.close()  # flushes the capture

    files = capture_objects(s3, bucket)
    records = [record for file_records in files.values() for record in file_records]
    assert len(records) == len(images)
    assert all(1 <= len(file_records) <= 10 for file_records in files.values())
    assert max(len(file_records) for file_records in files.values()) > 1
    sent = {base64.b64encode(body).decode(): answer for body, answer in zip(images, answers, strict=True)}
    seen = set()
    for key, file_records in files.items():
        hour = CAPTURE_KEY.match(key)
        assert hour, key
        for record in file_records:
            assert set(record) == {"captureData", "eventMetadata", "eventVersion"}
            assert record["eventVersion"] == "0"
            endpoint_input = record["captureData"]["endpointInput"]
            endpoint_output = record["captureData"]["endpointOutput"]
            assert endpoint_input["observedContentType"] == "image/png"
            assert endpoint_input["mode"] == "INPUT"
            assert endpoint_input["encoding"] == "BASE64"
            assert base64.b64decode(endpoint_input["data"]) in images
            assert endpoint_output == {
                "observedContentType": "application/json",
                "mode": "OUTPUT",
                "data": sent[endpoint_input["data"]],
                "encoding": "JSON",
            }
            metadata = record["eventMetadata"]
            assert re.fullmatch(UUID, metadata["eventId"])
            when = datetime.strptime(metadata["inferenceTime"], "%Y-%m-%dT%H:%M:%SZ")
            assert when.strftime("%Y/%m/%d/%H") == hour.group(1)
            seen.add(endpoint_input["data"])
    assert seen == set(sent)


def test_errors_are_not_captured(model_path, s3, bucket):
    capture = writer(s3, bucket)
    with serve(LocalEndpoint(ENDPOINT, model_path, capture=capture)) as handle:
        client = runtime_client(handle.url)
        invoke(client, png_bytes())
        with pytest.raises(ClientError):
            invoke(client, b"not an image")

    assert len(capture_objects(s3, bucket)) == 1
    assert capture.records_written == 1


def test_sampling_zero_captures_nothing(s3, bucket):
    with writer(s3, bucket, sampling_percentage=0) as capture:
        sampled = [put(capture) for _ in range(20)]

    assert sampled == [False] * 20
    assert capture_objects(s3, bucket) == {}


def test_sampling_percentage_keeps_about_that_share(s3, bucket):
    import random

    with writer(s3, bucket, sampling_percentage=25, rng=random.Random(3)) as capture:
        sampled = sum(put(capture) for _ in range(400))

    assert 60 <= sampled <= 140
    assert sum(len(records) for records in capture_objects(s3, bucket).values()) == sampled


def test_close_flushes_the_remainder_and_max_seconds_flushes_on_time(s3, bucket):
    capture = writer(s3, bucket, max_records_per_file=100, max_seconds=0.3)
    for _ in range(3):
        put(capture, b"a")
    deadline = time.monotonic() + 60  # the 0.3 s timer's write, however slow the machine
    while capture.records_written < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert capture.records_written == 3  # the timer wrote them, nobody called flush

    slow = writer(s3, bucket, max_records_per_file=100, max_seconds=60)
    for _ in range(5):
        put(slow, b"b")
    assert slow.records_written == 0
    slow.close()
    capture.close()

    sizes = sorted(len(records) for records in capture_objects(s3, bucket).values())
    assert sizes == [3, 5]


def test_records_of_one_file_share_their_hour_folder(s3, bucket):
    with writer(s3, bucket) as capture:
        for when in (
            datetime(2026, 3, 1, 10, 59, 59, 900000, UTC),
            datetime(2026, 3, 1, 11, 0, 0, 100000, UTC),
        ):
            put(capture, inference_time=when)

    files = capture_objects(s3, bucket)
    assert sorted(key.rsplit("/", 1)[0].split("/AllTraffic/")[1] for key in files) == [
        "2026/03/01/10",
        "2026/03/01/11",
    ]
    assert sorted(key.rsplit("/", 1)[1][:9] for key in files) == ["00-00-100", "59-59-900"]


def test_a_failed_upload_keeps_the_records_for_the_next_flush(s3):
    bucket = f"capture-{uuid.uuid4().hex[:12]}"  # not created yet: put_object fails
    capture = writer(s3, bucket, max_seconds=60)
    put(capture)

    assert capture.flush() == 0
    s3.create_bucket(Bucket=bucket)
    assert capture.flush() == 1
    capture.close()
    assert sum(len(records) for records in capture_objects(s3, bucket).values()) == 1


def test_close_raises_when_records_cannot_be_written(s3):
    capture = writer(s3, f"capture-{uuid.uuid4().hex[:12]}", max_seconds=60)
    put(capture)

    with pytest.raises(CaptureUploadError, match="1 capture records"):
        capture.close()


# -- the endpoint in a process of its own (as the local stack runs it) ---------------------------


def test_endpoint_server_serves_and_flushes_its_capture_on_close(model_path, s3_url, s3, bucket):
    settings = EndpointSettings(ENDPOINT, model_path, s3_url, bucket, capture_prefix="data-capture")
    endpoint = start_endpoint_server(settings)
    try:
        images = distinct_images(3)
        answers = [json.loads(invoke(runtime_client(endpoint.url), body)["Body"]) for body in images]
    finally:
        endpoint.close()
    assert endpoint.process.returncode == 0
    assert all(len(answer) == 2 and abs(sum(answer) - 1) < 1e-5 for answer in answers)
    records = [record for file_records in capture_objects(s3, bucket).values() for record in file_records]
    sent = sorted(base64.b64encode(body).decode() for body in images)
    assert sorted(record["captureData"]["endpointInput"]["data"] for record in records) == sent


def test_endpoint_server_that_cannot_start_says_why(model_path, s3_url, bucket):
    settings = EndpointSettings(ENDPOINT, model_path, s3_url, bucket, "data-capture", sampling_percentage=101)
    with pytest.raises(LocalStackError, match="did not start: ValueError: sampling_percentage"):
        start_endpoint_server(settings)


def test_endpoint_server_says_when_its_capture_could_not_be_flushed(model_path, tmp_path):
    dead_s3 = "http://127.0.0.1:9"  # the discard port: nothing answers
    endpoint = start_endpoint_server(
        EndpointSettings(ENDPOINT, model_path, dead_s3, "nowhere", "data-capture")
    )
    invoke(runtime_client(endpoint.url), png_bytes())  # one record waits in the writer
    with pytest.raises(LocalStackError, match=r"exited with code 1 while stopping"):
        endpoint.close()
