"""SerializeImageData on the events/ files, on every bad input and on the photos phones take,
with S3 in moto. The photos are made here with Pillow: none is committed."""

import base64
import io
import os
import struct
import zlib

import boto3
import numpy as np
import pytest
from moto import mock_aws
from PIL import ExifTags, Image, ImageFile

from tests.conftest import SAMPLES_DIR, load_event
from training_job.local_model.preprocess import decode_image

BUCKET = load_event("serialize_image_data.json")["s3_bucket"]
MAX_SIDE = 256  # template.yaml's MaxImageSide default, which the functions fixture loads with
RED, WHITE = (255, 0, 0), (255, 255, 255)


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


@pytest.fixture
def s3_calls(serialize):
    """The S3 operations the function calls, in order."""
    calls = []
    events = serialize.image_store.s3_client().meta.events
    events.register("before-call.s3", lambda model, **_: calls.append(model.name), unique_id="test-calls")
    yield calls
    events.unregister("before-call.s3", unique_id="test-calls")


def encoded(image: Image.Image, image_format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


def handle(serialize, s3, context, body: bytes, key: str = "images/upload") -> dict:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return serialize.app.lambda_handler({"s3_bucket": BUCKET, "s3_key": key}, context)


def sent_image(result: dict) -> Image.Image:
    """What the endpoint receives, decoded; checked against the content type it is sent with."""
    image = Image.open(io.BytesIO(base64.b64decode(result["image_data"])))
    assert result["content_type"] == {"PNG": "image/png", "JPEG": "image/jpeg"}[image.format]
    return image


def near(pixel, colour, tolerance=12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def png(header: bytes, data: bytes) -> bytes:
    """A PNG of the IHDR ``header`` and the deflated rows ``data``, as no encoder would write it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def one_bit_png(width: int, height: int) -> bytes:
    """A valid, black 1-bit PNG of any size, deflated row by row: Pillow would need the whole
    image in memory (a byte a pixel) to write it."""
    row = bytes(1 + (width + 7) // 8)  # filter type 0, then the row's bits
    deflate = zlib.compressobj(9)
    data = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    return png(struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0), data)


# ---------------------------------------------------------------- the event contract


def test_sample_event_returns_the_image_base64_with_its_content_type(
    serialize, s3_with_samples, lambda_context, s3_calls
):
    event = load_event("serialize_image_data.json")

    result = serialize.app.lambda_handler(event, lambda_context)

    assert s3_calls == ["HeadObject", "GetObject"]  # the size first, then the bytes

    # a 32x32 CIFAR PNG is already what the model reads (opaque RGBA): it goes on byte for byte
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


def test_every_sample_photo_goes_on_unchanged(serialize, s3_with_samples, lambda_context):
    for path in sorted((SAMPLES_DIR / "images").glob("*.png")):
        event = {"s3_bucket": BUCKET, "s3_key": f"images/{path.name}"}
        result = serialize.app.lambda_handler(event, lambda_context)
        assert base64.b64decode(result["image_data"]) == path.read_bytes(), path.name


def test_jpeg_is_recognised_by_its_magic_bytes_whatever_the_key_says(
    serialize, s3_with_samples, lambda_context
):
    jpeg = encoded(Image.new("RGB", (32, 32), RED), "JPEG")

    result = handle(serialize, s3_with_samples, lambda_context, jpeg, key="images/photo.png")

    assert result["content_type"] == "image/jpeg"
    assert base64.b64decode(result["image_data"]) == jpeg  # small, upright RGB: unchanged


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


# ---------------------------------------------------------------- phone photos, normalised


@pytest.mark.parametrize(
    ("orientation", "size", "dark_half"),
    [
        (1, (MAX_SIDE, 192), "left"),  # stored upright
        (6, (192, MAX_SIDE), "top"),  # stored turned left: turned 90 degrees clockwise to view
        (8, (192, MAX_SIDE), "bottom"),  # stored turned right: 90 degrees counter-clockwise
    ],
)
def test_a_12_mp_phone_photo_reaches_the_model_upright_and_small(
    serialize, s3_with_samples, lambda_context, orientation, size, dark_half
):
    # as a phone stores it: 4000x3000 as the sensor saw it (left half dark), the way to hold it in EXIF
    photo = Image.new("RGB", (4000, 3000), (240, 240, 240))
    photo.paste((20, 20, 20), (0, 0, 2000, 3000))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation

    result = handle(serialize, s3_with_samples, lambda_context, encoded(photo, "JPEG", exif=exif))

    assert sent_image(result).size == size and result["content_type"] == "image/jpeg"
    assert len(result["image_data"]) < 16 * 1024
    # what the model receives (the local endpoint's own decoding): dark where a person sees dark
    seen = decode_image(base64.b64decode(result["image_data"])).mean(axis=0)  # [32, 32] brightness
    halves = {
        "left": seen[:, :14].mean(),
        "right": seen[:, 18:].mean(),
        "top": seen[:14].mean(),
        "bottom": seen[18:].mean(),
    }
    opposite = {"left": "right", "top": "bottom", "bottom": "top"}[dark_half]
    assert halves[dark_half] < 40 and halves[opposite] > 220, halves


def test_a_16_bit_png_keeps_its_tones(serialize, s3_with_samples, lambda_context):
    # Pillow's own 16-bit to 8-bit conversion clips: every value above 255 would turn white
    scan = Image.new("I;16", (600, 400), 32768)
    scan.paste(Image.new("I;16", (300, 400), 8192))  # (a colour pasted on I;16 lands as 0)

    result = handle(serialize, s3_with_samples, lambda_context, encoded(scan, "PNG"))

    image = sent_image(result)
    assert image.mode == "RGB" and image.size == (MAX_SIDE, 171)
    assert near(image.getpixel((20, 85)), (32, 32, 32), 3) and near(image.getpixel((230, 85)), (128,) * 3, 3)


def test_a_cmyk_jpeg_is_sent_as_rgb(serialize, s3_with_samples, lambda_context):
    print_ready = Image.new("CMYK", (1200, 800), (0, 255, 255, 0))  # no cyan, full magenta and yellow

    result = handle(serialize, s3_with_samples, lambda_context, encoded(print_ready, "JPEG"))

    image = sent_image(result)
    assert image.mode == "RGB" and near(image.getpixel((128, 85)), RED)


def test_a_webp_with_transparency_is_flattened_onto_white(serialize, s3_with_samples, lambda_context):
    cut_out = Image.new("RGBA", (1200, 800), (0, 0, 0, 0))  # transparent black, as editors store it
    cut_out.paste((*RED, 255), (600, 0, 1200, 800))

    result = handle(serialize, s3_with_samples, lambda_context, encoded(cut_out, "WEBP", lossless=True))

    image = sent_image(result)
    assert near(image.getpixel((20, 85)), WHITE) and near(image.getpixel((230, 85)), RED)


def test_an_animated_gif_is_read_by_its_first_frame(serialize, s3_with_samples, lambda_context):
    frames = [Image.new("RGB", (400, 300), colour) for colour in (RED, (0, 0, 255), (0, 255, 0))]
    gif = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)

    result = handle(serialize, s3_with_samples, lambda_context, gif)

    assert near(sent_image(result).getpixel((100, 100)), RED)


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("HEIC", lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)),
        ("HEIF", lambda: b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic" + bytes(64)),
        ("AVIF", lambda: b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(64)),
        ("TIFF", lambda: encoded(Image.new("RGB", (40, 30)), "TIFF")),
        ("BMP", lambda: encoded(Image.new("RGB", (40, 30)), "BMP")),
    ],
)
def test_an_image_format_we_do_not_decode_is_refused_by_name(
    serialize, s3_with_samples, lambda_context, name, make
):
    with pytest.raises(
        serialize.exceptions.UnsupportedImageFormat,
        match=rf"images/upload is a {name} image; only PNG, JPEG, WebP and GIF are classified",
    ):
        handle(serialize, s3_with_samples, lambda_context, make())


def test_not_an_image_event_raises_not_an_image(serialize, s3_with_samples, lambda_context):
    with pytest.raises(
        serialize.exceptions.NotAnImage,
        match=r"images/not_an_image\.txt is not an image this workflow reads \(PNG, JPEG, WebP or GIF\)",
    ):
        serialize.app.lambda_handler(load_event("serialize_image_data_not_an_image.json"), lambda_context)


def test_a_video_is_not_an_image(serialize, s3_with_samples, lambda_context):
    with pytest.raises(
        serialize.exceptions.NotAnImage,
        match=r"is not an image this workflow reads \(PNG, JPEG, WebP or GIF\)",
    ):
        handle(serialize, s3_with_samples, lambda_context, b"\x00\x00\x00\x18ftypmp42" + bytes(64))


def test_a_truncated_jpeg_is_not_an_image_with_the_decoders_reason(
    serialize, s3_with_samples, lambda_context
):
    photo = encoded(Image.effect_noise((800, 600), 60).convert("RGB"), "JPEG")

    with pytest.raises(
        serialize.exceptions.NotAnImage,
        match=r"images/upload is a JPEG image that cannot be decoded: image file is truncated",
    ):
        handle(serialize, s3_with_samples, lambda_context, photo[: len(photo) // 2])


def test_a_png_with_a_broken_header_is_not_an_image_with_the_reason(
    serialize, s3_with_samples, lambda_context
):
    with pytest.raises(serialize.exceptions.NotAnImage, match=r"its PNG header is broken \(broken PNG file"):
        handle(serialize, s3_with_samples, lambda_context, b"\x89PNG\r\n\x1a\n" + bytes(200))


def test_a_decompression_bomb_is_refused_before_decoding(
    serialize, s3_with_samples, lambda_context, monkeypatch
):
    bomb = one_bit_png(20_000, 20_000)  # 400 million pixels in 50 KB
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: pytest.fail("decoded the bomb"))

    with pytest.raises(serialize.exceptions.ImageTooLarge, match="more than twice the 67108864 pixels"):
        handle(serialize, s3_with_samples, lambda_context, bomb)
    assert len(bomb) < 64 * 1024


def test_a_photo_above_the_pixel_limit_is_refused_with_its_dimensions(
    serialize, s3_with_samples, lambda_context, monkeypatch
):
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: pytest.fail("decoded it"))

    with pytest.raises(
        serialize.exceptions.ImageTooLarge, match="is 10000x8000 pixels, more than the 67108864 decoded"
    ):
        handle(serialize, s3_with_samples, lambda_context, one_bit_png(10_000, 8_000))


def test_an_object_above_the_upload_limit_is_refused_from_its_head_without_a_download(
    serialize, s3_with_samples, lambda_context, monkeypatch, s3_calls
):
    monkeypatch.setattr(serialize.app, "MAX_UPLOAD_BYTES", 4096)

    with pytest.raises(
        serialize.exceptions.ImageTooLarge,
        match=r"images/upload is 5000 bytes, more than the 4096 bytes \(MAX_UPLOAD_BYTES\)",
    ):
        handle(serialize, s3_with_samples, lambda_context, bytes(5000))
    assert s3_calls == ["HeadObject"]


def test_the_upload_limit_is_checked_again_on_the_get(serialize, lambda_context):
    from botocore.response import StreamingBody
    from botocore.stub import Stubber

    body = StreamingBody(io.BytesIO(bytes(10)), 10)
    with Stubber(serialize.image_store.s3_client()) as s3:  # replaced by a larger object since the HEAD
        s3.add_response("head_object", {"ContentLength": 1000})
        s3.add_response("get_object", {"ContentLength": 10**9, "Body": body})
        with pytest.raises(serialize.exceptions.ImageTooLarge, match="is 1000000000 bytes"):
            serialize.app.lambda_handler({"s3_bucket": "b-1", "s3_key": "a.jpg"}, lambda_context)


def test_whatever_is_uploaded_the_payload_stays_far_below_a_state(serialize, s3_with_samples, lambda_context):
    # noise is the worst case for any encoder: 12 MB as PNG
    noise = Image.frombytes("RGB", (2000, 2000), os.urandom(2000 * 2000 * 3))

    result = handle(serialize, s3_with_samples, lambda_context, encoded(noise, "PNG", compress_level=1))

    assert sent_image(result).size == (MAX_SIDE, MAX_SIDE)
    assert len(result["image_data"]) < 100 * 1024  # of the 248 KiB a state leaves the image


def test_the_state_payload_guard_stays_as_the_last_check(
    serialize, s3_with_samples, lambda_context, monkeypatch
):
    # never met by a normalised image; were one to slip through, it fails by name, not in a state
    monkeypatch.setattr(serialize.image_data, "MAX_IMAGE_BYTES", 100)

    with pytest.raises(serialize.exceptions.ImageTooLarge, match="at most 100 bytes"):
        serialize.app.lambda_handler(load_event("serialize_image_data.json"), lambda_context)


@pytest.mark.parametrize(
    ("mode", "options", "expected"),
    [
        ("P", {"transparency": 0}, WHITE),  # a palette whose first colour is transparent
        ("LA", {}, WHITE),  # grey, fully transparent
        ("L", {}, (0, 0, 0)),
        ("1", {}, (0, 0, 0)),
        ("RGB", {"transparency": (0, 0, 0)}, WHITE),  # a colour key: tRNS
        ("RGBA", {}, WHITE),
        ("I;16", {}, (0, 0, 0)),
    ],
)
def test_every_colour_mode_becomes_rgb_transparency_white(serialize, mode, options, expected):
    # small enough to go as PNG: the pixels arrive exactly
    image = encoded(Image.new(mode, (40, 30)), "PNG", **options)

    result = serialize.normalise.normalise_image(image, name="x", max_side=MAX_SIDE)

    sent = Image.open(io.BytesIO(result.data))
    assert (result.content_type, sent.mode, sent.size) == ("image/png", "RGB", (40, 30))
    assert sent.getpixel((0, 0)) == expected and not result.passed_through


def test_small_images_needing_no_change_go_on_byte_for_byte(serialize):
    opaque_rgba = encoded(Image.new("RGBA", (32, 32), (*RED, 255)), "PNG")
    jpeg = encoded(Image.new("RGB", (200, 150), RED), "JPEG")
    for image in (opaque_rgba, jpeg):
        assert serialize.normalise.normalise_image(image, name="x", max_side=MAX_SIDE).data == image


@pytest.mark.parametrize(
    "why",
    ["half transparent", "sideways", "16 bits a channel", "larger than MaxImageSide", "metadata"],
)
def test_small_images_that_need_a_change_are_re_encoded(serialize, why):
    if why == "half transparent":
        image = encoded(Image.new("RGBA", (32, 32), (*RED, 128)), "PNG")
    elif why == "sideways":
        exif = Image.Exif()
        exif[ExifTags.Base.Orientation] = 6
        image = encoded(Image.new("RGB", (40, 30), RED), "JPEG", exif=exif)
    elif why == "16 bits a channel":  # Pillow opens it as 8-bit RGB; not every endpoint reads 16 bits
        row = b"\x00" + b"\xff\xff\x00\x00\x00\x00" * 4  # filter type 0, four red pixels
        image = png(struct.pack(">IIBBBBB", 4, 4, 16, 2, 0, 0, 0), zlib.compress(row * 4))
    elif why == "larger than MaxImageSide":
        image = encoded(Image.new("RGB", (MAX_SIDE + 1, 10), RED), "PNG")
    else:  # an ICC profile or an EXIF thumbnail can weigh more than the picture
        image = encoded(Image.new("RGB", (32, 32), RED), "PNG", icc_profile=os.urandom(100_000))

    result = serialize.normalise.normalise_image(image, name="x", max_side=MAX_SIDE)

    assert not result.passed_through and result.data != image
    sent = Image.open(io.BytesIO(result.data))
    assert sent.mode == "RGB" and max(sent.size) <= MAX_SIDE
    if sent.format == "PNG":
        assert result.data[24] == 8  # 8 bits a channel


def test_the_image_sent_is_rgb_and_no_larger_than_max_image_side(serialize):
    panorama = encoded(Image.new("RGB", (6000, 1000), RED), "JPEG")

    result = serialize.normalise.normalise_image(panorama, name="x", max_side=MAX_SIDE)

    assert result.size == (MAX_SIDE, 43) and result.content_type == "image/jpeg"
    assert (result.source_format, result.source_size) == ("JPEG", (6000, 1000))


# ---------------------------------------------------------------- S3


def test_missing_object_raises_image_not_found(serialize, s3_with_samples, lambda_context):
    event = {"s3_bucket": BUCKET, "s3_key": "images/gone.png"}
    with pytest.raises(
        serialize.exceptions.ImageNotFound, match=f"s3://{BUCKET}/images/gone.png does not exist"
    ):
        serialize.app.lambda_handler(event, lambda_context)


def test_missing_bucket_raises_image_not_found(serialize, s3_with_samples, lambda_context):
    # the HEAD's bare 404 cannot tell a missing bucket from a missing key: the GET's answer does
    event = {"s3_bucket": "no-such-bucket", "s3_key": "a.png"}
    with pytest.raises(serialize.exceptions.ImageNotFound, match="NoSuchBucket"):
        serialize.app.lambda_handler(event, lambda_context)


@pytest.mark.parametrize(
    ("operation", "code", "status", "error", "says"),
    [
        ("head_object", "403", 403, "ImageAccessDenied", r"not allowed to read s3://other/a\.png \(403"),
        ("head_object", "400", 400, "ImageStoreError", r"S3 refused reading s3://other/a\.png \(400"),
        ("head_object", "503", 503, "ImageStoreUnavailable", r"retry later \(503"),
        ("get_object", "AccessDenied", 403, "ImageAccessDenied", r"\(AccessDenied"),  # e.g. KMS
    ],
)
def test_head_and_get_failures_map_to_named_errors(
    serialize, lambda_context, operation, code, status, error, says
):
    from botocore.stub import Stubber

    with Stubber(serialize.image_store.s3_client()) as s3:
        if operation == "get_object":
            s3.add_response("head_object", {"ContentLength": 100})
        s3.add_client_error(operation, service_error_code=code, http_status_code=status)
        with pytest.raises(getattr(serialize.exceptions, error), match=says):
            serialize.app.lambda_handler({"s3_bucket": "other", "s3_key": "a.png"}, lambda_context)


@pytest.mark.parametrize(
    ("code", "status", "error", "says"),
    [
        ("NoSuchKey", 404, "ImageNotFound", "does not exist (NoSuchKey)"),
        ("404", 404, "ImageNotFound", "does not exist (404)"),
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


@pytest.mark.parametrize("operation", ["head_object", "get_object"])
@pytest.mark.parametrize(
    "transport_error",
    ["EndpointConnectionError", "ReadTimeoutError", "ConnectTimeoutError", "IncompleteReadError"],
)
def test_an_unreachable_s3_is_image_store_unavailable(
    serialize, s3_with_samples, lambda_context, monkeypatch, transport_error, operation
):
    from botocore import exceptions

    def fail(**_):
        raise getattr(exceptions, transport_error)(endpoint_url="http://s3", actual_bytes=1, expected_bytes=2)

    monkeypatch.setattr(serialize.image_store.s3_client(), operation, fail)
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


def test_largest_allowed_image_still_fits_a_state_payload(serialize):
    image_data = serialize.image_data
    encoded_image = image_data.encode_image(b"\0" * image_data.MAX_IMAGE_BYTES)
    assert len(encoded_image) <= image_data.MAX_BASE64_CHARS
    assert image_data.MAX_BASE64_CHARS + image_data.RESERVED_PAYLOAD_BYTES == 256 * 1024
    with pytest.raises(serialize.exceptions.ImageTooLarge):
        image_data.check_size(image_data.MAX_IMAGE_BYTES + 1, name="x")


def test_the_normalised_image_is_what_a_model_of_32x32_reads(serialize):
    # the local endpoint decodes what is sent as it decodes the training PNGs
    photo = encoded(Image.new("RGB", (4000, 3000), RED), "JPEG")
    sent = serialize.normalise.normalise_image(photo, name="x", max_side=MAX_SIDE).data
    assert np.allclose(decode_image(sent)[:, 16, 16], RED, atol=12)
