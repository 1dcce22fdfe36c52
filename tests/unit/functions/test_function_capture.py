"""CaptureMode Function: ClassifyImage writes SageMaker's data capture itself. The record is the
one the local endpoint's writer (local_stack/aws/data_capture.py) writes for the same inference,
the key follows the same hourly layout, the sampling is the same rule, and the file is in S3
before the handler returns. S3 is moto in-process; the endpoint is botocore's Stubber."""

from __future__ import annotations

import base64
import io
import json
import random
import re
from datetime import UTC, datetime

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws

from local_stack.aws import lambda_runtime
from local_stack.aws.data_capture import DataCaptureWriter
from local_stack.aws.data_capture import capture_record as endpoints_capture_record
from local_stack.aws.template import make_resolver
from monitoring.capture_records import parse_record
from tests.conftest import TEST_ENDPOINT_NAME, load_event

BUCKET = "scones-capture-test"
PNG = base64.b64decode(load_event("classify_image.json")["image_data"])
WHEN = datetime(2026, 11, 25, 12, 34, 56, 789_000, tzinfo=UTC)
# the local endpoint's key: <prefix>/<endpoint>/<variant>/YYYY/MM/DD/HH/<mm>-<ss>-<mmm>-<uuid>.jsonl
KEY = re.compile(
    r"(?P<folder>.+/\d{4}/\d{2}/\d{2}/\d{2})/(?P<stem>\d{2}-\d{2}-\d{3})-"
    r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.jsonl"
)


def load_classify(template, **parameters: str):
    """ClassifyImage imported with the environment template.yaml gives it under ``parameters``,
    the stack's image bucket being BUCKET."""
    resolve = make_resolver(
        {**template.parameter_defaults(), "EndpointName": TEST_ENDPOINT_NAME, **parameters},
        {"ImageBucket": BUCKET, "ImageBucket.Arn": f"arn:aws:s3:::{BUCKET}"},
        {},
    )
    environment = template.function_environment("ClassifyImageFunction", resolve)
    return lambda_runtime.load_function(template.function_code_dir("ClassifyImageFunction"), environment)


@pytest.fixture(scope="module")
def classify(template):
    return load_classify(template, CaptureMode="Function")


@pytest.fixture
def s3(classify):
    with mock_aws():
        classify.capture.s3_client.cache_clear()  # a client of this mock
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
    classify.capture.s3_client.cache_clear()


def answer(probabilities, variant: str = "AllTraffic") -> dict:
    raw = json.dumps(probabilities).encode()
    return {
        "Body": StreamingBody(io.BytesIO(raw), len(raw)),
        "ContentType": "application/json",
        "InvokedProductionVariant": variant,
    }


@pytest.fixture
def endpoint(classify):
    with Stubber(classify.endpoint.sagemaker_runtime_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def captured(s3) -> dict[str, bytes]:
    listing = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read() for item in listing}


# -- the record: the local endpoint's, field by field -------------------------------------------


@pytest.mark.parametrize(
    ("input_body", "input_type", "output_body", "output_type"),
    [
        (PNG, "image/png", b"[0.9712, 0.0288]", "application/json"),
        (b"\xff\xd8\xff\xe0 a jpeg", "image/jpeg", b"[0.2, 0.8]", "application/json"),
        (PNG, "image/png", b"[0.5, 0.5]", "application/json; charset=utf-8"),
        (PNG, "image/png", b"0.4,0.6", "text/csv"),
        (PNG, "image/png", b"\xff not utf-8", "application/json"),  # kept as base64, as SageMaker would
        (b'{"a": 1}', "application/json", b"[1.0, 0.0]", "application/x-other"),
    ],
    ids=["png", "jpeg", "json-charset", "csv", "json-not-utf8", "json-input"],
)
def test_the_record_is_the_local_endpoints_for_the_same_inference(
    classify, input_body, input_type, output_body, output_type
):
    same = {
        "input_body": input_body,
        "input_content_type": input_type,
        "output_body": output_body,
        "output_content_type": output_type,
        "inference_time": WHEN,
        "event_id": "6f1f7a4e-0000-4000-8000-000000000001",
    }

    assert classify.capture.capture_record(**same) == endpoints_capture_record(**same)


def test_the_written_line_is_the_local_writers_line_but_its_ids_and_times(classify, s3):
    """The two writers end to end: the same inference, one through DataCaptureWriter (as the
    local endpoint captures it), one through the function's capture, compared field by field."""
    with DataCaptureWriter(s3, bucket=BUCKET, prefix="endpoint", endpoint_name=TEST_ENDPOINT_NAME) as writer:
        writer.capture(
            input_body=PNG,
            input_content_type="image/png",
            output_body=b"[0.9712, 0.0288]",
            output_content_type="application/json",
        )
    inference = classify.capture.CapturedInference(
        TEST_ENDPOINT_NAME, "AllTraffic", PNG, "image/png", b"[0.9712, 0.0288]", "application/json", WHEN
    )
    settings = classify.capture.CaptureSettings(BUCKET, "function", 100)
    key, body = classify.capture.sampled_capture(inference, settings)
    classify.capture.put_capture(settings, key, body)

    files = captured(s3)
    (endpoint_key,) = [k for k in files if k.startswith("endpoint/")]
    (endpoint_line,) = files[endpoint_key].decode().splitlines()
    assert files[key].decode().count("\n") == 1 and files[key].endswith(b"\n")
    endpoint_record, function_record = json.loads(endpoint_line), json.loads(files[key])
    for record in (endpoint_record, function_record):
        metadata = record["eventMetadata"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", metadata.pop("inferenceTime"))
        assert re.fullmatch(r"[0-9a-f-]{36}", metadata.pop("eventId"))
    assert function_record == endpoint_record
    # the same key layout under each prefix: <prefix>/<endpoint>/<variant>/YYYY/MM/DD/HH/<stem>-<uuid>.jsonl
    assert KEY.fullmatch(endpoint_key)["folder"].startswith(f"endpoint/{TEST_ENDPOINT_NAME}/AllTraffic/")
    assert KEY.fullmatch(key)["folder"] == f"function/{TEST_ENDPOINT_NAME}/AllTraffic/2026/11/25/12"
    assert KEY.fullmatch(key)["stem"] == "34-56-789"


def test_the_key_is_the_hourly_layout_and_names_the_event(classify):
    assert (
        classify.capture.capture_key("data-capture", "ep", "Canary", WHEN, "e-1")
        == "data-capture/ep/Canary/2026/11/25/12/34-56-789-e-1.jsonl"
    )
    # a destination without a prefix: the endpoint's folder at the bucket's root
    assert classify.capture.capture_key("", "ep", "AllTraffic", WHEN, "e-1").startswith("ep/AllTraffic/2026/")


# -- the handler ---------------------------------------------------------------------------------


def test_each_answer_is_in_s3_before_the_handler_returns_and_monitoring_reads_it(
    classify, s3, endpoint, lambda_context
):
    endpoint.add_response("invoke_endpoint", answer([0.9712, 0.0288], variant="Canary"))

    result = classify.app.lambda_handler(load_event("classify_image.json"), lambda_context)

    files = captured(s3)  # nothing is flushed later: the handler has returned, the file is there
    (key,) = files
    assert re.fullmatch(
        rf"data-capture/{TEST_ENDPOINT_NAME}/Canary/\d{{4}}/\d{{2}}/\d{{2}}/\d{{2}}/.+\.jsonl", key
    )
    record = parse_record(files[key])
    assert record.probabilities == tuple(result["inferences"]) == (0.9712, 0.0288)
    assert base64.b64decode(record.endpoint_input.data) == PNG
    assert key.endswith(f"-{record.event_id}.jsonl")
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["ContentType"] == "application/jsonl"


def test_an_endpoint_error_writes_no_capture(classify, s3, endpoint, lambda_context):
    endpoint.add_client_error("invoke_endpoint", service_error_code="ModelError", http_status_code=424)

    with pytest.raises(classify.exceptions.EndpointError):
        classify.app.lambda_handler(load_event("classify_image.json"), lambda_context)

    assert captured(s3) == {}


def test_a_write_s3_refuses_loses_neither_the_answer_nor_the_record(
    classify, s3, endpoint, lambda_context, caplog, capsys
):
    s3.delete_bucket(Bucket=BUCKET)  # NoSuchBucket, after the SDK's retries
    endpoint.add_response("invoke_endpoint", answer([0.2, 0.8]))

    result = classify.app.lambda_handler(load_event("classify_image.json"), lambda_context)

    assert result["label"] == "motorcycle"
    (logged,) = [r for r in caplog.records if r.getMessage() == "capture not written"]
    assert logged.levelname == "ERROR" and "NoSuchBucket" in logged.error
    assert parse_record(logged.capture_record).probabilities == (0.2, 0.8)
    assert logged.key.startswith(f"data-capture/{TEST_ENDPOINT_NAME}/AllTraffic/")
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [doc["CaptureWriteErrors"] for doc in emf if "CaptureWriteErrors" in doc] == [[1.0]]


def test_capture_mode_endpoint_writes_nothing(template, s3, lambda_context):
    classify = load_classify(template)  # the template's default, CaptureMode Endpoint
    assert classify.app.CAPTURE is None
    with Stubber(classify.endpoint.sagemaker_runtime_client()) as endpoint:
        endpoint.add_response("invoke_endpoint", answer([0.9, 0.1]))
        classify.app.lambda_handler(load_event("classify_image.json"), lambda_context)

    assert captured(s3) == {}


# -- sampling and settings -----------------------------------------------------------------------


def test_sampling_is_the_local_endpoints_rule_draw_for_draw(classify, s3):
    """The same seed samples the same requests in the endpoint's writer and in the function."""
    percentage = 30
    writer = DataCaptureWriter(
        s3, bucket=BUCKET, prefix="p", endpoint_name="e", sampling_percentage=percentage, rng=random.Random(7)
    )
    try:
        by_endpoint = [
            writer.capture(
                input_body=b"x",
                input_content_type="image/png",
                output_body=b"[1, 0]",
                output_content_type="application/json",
            )
            for _ in range(200)
        ]
    finally:
        writer.close()
    draws = random.Random(7)
    by_function = [classify.capture.is_sampled(percentage, draws.random()) for _ in range(200)]

    assert by_function == by_endpoint
    assert 40 <= sum(by_function) <= 80
    assert not any(classify.capture.is_sampled(0, draw / 100) for draw in range(100))
    assert all(classify.capture.is_sampled(100, draw / 100) for draw in range(100))


def test_a_kms_key_encrypts_each_file_with_it(classify, s3):
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    settings = classify.capture.CaptureSettings(BUCKET, "data-capture", 100, key_id)
    inference = classify.capture.CapturedInference(
        "e", "AllTraffic", PNG, "image/png", b"[1, 0]", "application/json", WHEN
    )

    key, body = classify.capture.sampled_capture(inference, settings)
    classify.capture.put_capture(settings, key, body)

    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key_id)


def test_the_template_gives_the_function_its_capture_settings(template):
    default = load_classify(template, CaptureMode="Function").app.CAPTURE
    assert (default.bucket, default.prefix, default.sampling_percentage, default.kms_key_id) == (
        BUCKET,
        "data-capture",
        100,
        None,
    )
    chosen = load_classify(
        template,
        CaptureMode="Function",
        CaptureDestination="s3://models/vehicle-classifier/data-capture",
        CaptureSamplingPercentage="25",
        CaptureKmsKeyArn="arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ).app.CAPTURE
    assert (chosen.bucket, chosen.prefix, chosen.sampling_percentage) == (
        "models",
        "vehicle-classifier/data-capture",
        25,
    )
    assert chosen.kms_key_id.endswith(":key/1234abcd-12ab-34cd-56ef-1234567890ab")


@pytest.mark.parametrize(
    ("mode", "destination", "percentage", "message"),
    [
        ("function", "s3://b/p", "100", "CAPTURE_MODE must be one of Endpoint, Function"),
        (None, None, None, "CAPTURE_MODE must be one of Endpoint, Function"),
        ("Function", None, "100", "CAPTURE_DESTINATION must be s3://bucket"),
        ("Function", "s3://b/p/", "100", "CAPTURE_DESTINATION must be s3://bucket"),
        ("Function", "https://b/p", "100", "CAPTURE_DESTINATION must be s3://bucket"),
        ("Function", "s3://bucket//p", "100", "CAPTURE_DESTINATION must be s3://bucket"),
        ("Function", "s3://bucket/p", "101", "CAPTURE_SAMPLING_PERCENTAGE must be a number in 0..100"),
        ("Function", "s3://bucket/p", "nan", "CAPTURE_SAMPLING_PERCENTAGE must be a number in 0..100"),
        ("Function", "s3://bucket/p", None, "CAPTURE_SAMPLING_PERCENTAGE must be a number in 0..100"),
    ],
)
def test_capture_settings_the_template_would_refuse_fail_the_cold_start(
    classify, mode, destination, percentage, message
):
    with pytest.raises(classify.exceptions.InvalidConfiguration, match=re.escape(message)):
        classify.capture.parse_capture_settings(mode, destination, percentage)
