"""SerializeImageData on the events/ files and on every bad input, with S3 in moto."""

import base64

import boto3
import pytest
from moto import mock_aws

from tests.conftest import SAMPLES_DIR, load_event

BUCKET = load_event("serialize_image_data.json")["s3_bucket"]


@pytest.fixture
def s3_with_samples():
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        for path in (SAMPLES_DIR / "images").iterdir():  # the sample photos and not_an_image.txt
            s3.put_object(Bucket=BUCKET, Key=f"images/{path.name}", Body=path.read_bytes())
        yield s3


@pytest.fixture
def serialize(functions):
    return functions["SerializeImageData"]


def test_sample_event_returns_the_image_base64_with_its_content_type(
    serialize, s3_with_samples, lambda_context
):
    event = load_event("serialize_image_data.json")

    result = serialize.app.lambda_handler(event, lambda_context)

    original = (SAMPLES_DIR / "images" / event["s3_key"].removeprefix("images/")).read_bytes()
    assert base64.b64decode(result["image_data"]) == original
    assert result == {
        "s3_bucket": BUCKET,
        "s3_key": event["s3_key"],
        "image_data": result["image_data"],
        "content_type": "image/png",
    }


def test_output_is_the_classify_image_sample_event(serialize, s3_with_samples, lambda_context):
    # events/classify_image.json is exactly what this step produces for events/serialize_image_data.json
    assert serialize.app.lambda_handler(
        load_event("serialize_image_data.json"), lambda_context
    ) == load_event("classify_image.json")


def test_jpeg_is_recognised_by_its_magic_bytes_whatever_the_key_says(
    serialize, s3_with_samples, lambda_context
):
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
    s3_with_samples.put_object(Bucket=BUCKET, Key="images/photo.png", Body=jpeg)

    result = serialize.app.lambda_handler({"s3_bucket": BUCKET, "s3_key": "images/photo.png"}, lambda_context)

    assert result["content_type"] == "image/jpeg"


def test_execution_id_rides_along_as_the_correlation_id(serialize, s3_with_samples, lambda_context):
    event = {
        **load_event("workflow_input.json"),
        "execution": {"id": "arn:aws:states:us-east-1:1:execution:sm:r"},
    }

    result = serialize.app.lambda_handler(event, lambda_context)

    assert result["execution"] == event["execution"]


def test_missing_key_event_names_the_key(serialize, s3_with_samples, lambda_context):
    with pytest.raises(serialize.exceptions.InvalidEvent, match="missing required key 's3_key'"):
        serialize.app.lambda_handler(load_event("serialize_image_data_missing_key.json"), lambda_context)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "event must be a JSON object, got list"),
        ({"s3_key": "a.png"}, "missing required key 's3_bucket'"),
        ({"s3_bucket": BUCKET, "s3_key": 7}, "'s3_key' must be a non-empty string, got 7"),
        ({"s3_bucket": "", "s3_key": "a.png"}, "'s3_bucket' must be a non-empty string, got ''"),
        (
            {"s3_bucket": BUCKET, "s3_key": "a.png", "execution": "x"},
            "'execution' must be an object, got str",
        ),
    ],
)
def test_mistyped_events_name_the_key(serialize, lambda_context, event, message):
    with pytest.raises(serialize.exceptions.InvalidEvent, match=message):
        serialize.app.lambda_handler(event, lambda_context)


def test_not_an_image_event_raises_not_an_image(serialize, s3_with_samples, lambda_context):
    with pytest.raises(
        serialize.exceptions.NotAnImage, match=r"images/not_an_image\.txt is not a PNG or JPEG"
    ):
        serialize.app.lambda_handler(load_event("serialize_image_data_not_an_image.json"), lambda_context)


def test_missing_object_raises_image_not_found(serialize, s3_with_samples, lambda_context):
    event = {"s3_bucket": BUCKET, "s3_key": "images/gone.png"}
    with pytest.raises(
        serialize.exceptions.ImageNotFound, match=f"s3://{BUCKET}/images/gone.png does not exist"
    ):
        serialize.app.lambda_handler(event, lambda_context)


def test_missing_bucket_raises_image_not_found(serialize, s3_with_samples, lambda_context):
    event = {"s3_bucket": "no-such-bucket", "s3_key": "a.png"}
    with pytest.raises(serialize.exceptions.ImageNotFound, match="NoSuchBucket"):
        serialize.app.lambda_handler(event, lambda_context)


def test_image_whose_base64_would_not_fit_a_state_raises_image_too_large(
    serialize, s3_with_samples, lambda_context
):
    limit = serialize.image_data.MAX_IMAGE_BYTES
    s3_with_samples.put_object(
        Bucket=BUCKET, Key="images/huge.png", Body=b"\x89PNG\r\n\x1a\n" + b"\0" * limit
    )

    with pytest.raises(serialize.exceptions.ImageTooLarge, match=f"at most {limit} bytes"):
        serialize.app.lambda_handler({"s3_bucket": BUCKET, "s3_key": "images/huge.png"}, lambda_context)


def test_largest_allowed_image_still_fits_a_state_payload(serialize):
    image_data = serialize.image_data
    encoded = image_data.encode_image(b"\0" * image_data.MAX_IMAGE_BYTES)
    assert len(encoded) <= image_data.MAX_BASE64_CHARS
    assert image_data.MAX_BASE64_CHARS + image_data.RESERVED_PAYLOAD_BYTES == 256 * 1024
    with pytest.raises(serialize.exceptions.ImageTooLarge):
        image_data.check_size(image_data.MAX_IMAGE_BYTES + 1, name="x")


def test_access_denied_raises_image_access_denied(serialize, lambda_context):
    from botocore.stub import Stubber

    client = serialize.image_store.s3_client()
    with Stubber(client) as stubber:
        stubber.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
        with pytest.raises(
            serialize.exceptions.ImageAccessDenied, match=r"not allowed to read s3://other/a\.png"
        ):
            serialize.app.lambda_handler({"s3_bucket": "other", "s3_key": "a.png"}, lambda_context)


@pytest.mark.parametrize(
    ("code", "status", "error", "says"),
    [
        ("NoSuchKey", 404, "ImageNotFound", "does not exist (NoSuchKey)"),
        ("InvalidObjectState", 403, "ImageAccessDenied", "InvalidObjectState"),
        ("InvalidBucketName", 400, "InvalidEvent", "is not an S3 location S3 accepts"),
        ("SlowDown", 503, "ImageStoreUnavailable", "retry later (SlowDown"),
        ("InternalError", 500, "ImageStoreUnavailable", "retry later (InternalError"),
        ("RequestTimeout", 400, "ImageStoreUnavailable", "retry later (RequestTimeout"),
        ("SomethingNew", 502, "ImageStoreUnavailable", "retry later (SomethingNew"),  # any 5xx
        ("PermanentRedirect", 301, "ImageStoreError", "S3 refused reading s3://b/a.png (PermanentRedirect"),
    ],
)
def test_every_s3_answer_maps_to_a_named_error(serialize, code, status, error, says):
    from botocore.exceptions import ClientError

    answer = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    mapped = serialize.image_store.s3_error(ClientError(answer, "GetObject"), "s3://b/a.png")

    assert type(mapped).__name__ == error and says in str(mapped)


@pytest.mark.parametrize(
    "transport_error",
    ["EndpointConnectionError", "ReadTimeoutError", "ConnectTimeoutError", "IncompleteReadError"],
)
def test_an_unreachable_s3_is_image_store_unavailable(
    serialize, lambda_context, monkeypatch, transport_error
):
    from botocore import exceptions

    def fail(**_):
        raise getattr(exceptions, transport_error)(endpoint_url="http://s3", actual_bytes=1, expected_bytes=2)

    monkeypatch.setattr(serialize.image_store.s3_client(), "get_object", fail)
    with pytest.raises(serialize.exceptions.ImageStoreUnavailable, match="S3 unreachable reading s3://"):
        serialize.app.lambda_handler(load_event("serialize_image_data.json"), lambda_context)


@pytest.mark.parametrize(
    "bucket", ["bad bucket/name", "arn:aws:s3:::scones", "UPPER", "a..b", "ab", "x" * 64, "-start"]
)
def test_a_bucket_that_is_no_bucket_name_is_invalid_event_before_any_call(serialize, lambda_context, bucket):
    with pytest.raises(serialize.exceptions.InvalidEvent, match="'s3_bucket' must be an S3 bucket name"):
        serialize.app.lambda_handler({"s3_bucket": bucket, "s3_key": "a.png"}, lambda_context)


def test_the_sdk_does_not_retry_so_the_state_machine_owns_retries(serialize):
    config = serialize.image_store.s3_client().meta.config
    assert config.retries["total_max_attempts"] == 1 and config.read_timeout == 10
