"""Real-looking photos through the whole local stack (`up` in its own process, driven with boto3):
each ends answered or in its named error, and a 12-megapixel phone photo leaves a small history.
The photos are made here; none is committed."""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest
from PIL import Image

from local_stack.settings import SAMPLES_DIR

pytestmark = pytest.mark.integration

ANSWERED = {("SUCCEEDED", None), ("FAILED", "ThresholdConfidenceNotMet")}


def encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def phone_photo() -> Image.Image:
    """A sample upscaled to 4000x3000 with sensor-like noise, so that its JPEG is photo-sized."""
    rng = np.random.default_rng(0)
    base = Image.open(SAMPLES_DIR / "bicycle_s_000035.png").convert("RGB")
    pixels = np.asarray(base.resize((4000, 3000), Image.Resampling.BICUBIC), dtype=np.float32)
    return Image.fromarray(np.clip(pixels + rng.normal(0, 12, pixels.shape), 0, 255).astype(np.uint8))


def photos() -> dict[str, tuple[bytes, set]]:
    """key -> (bytes, the (status, error) it may end in)."""
    photo = phone_photo()
    small = photo.resize((400, 300))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
    frames = [small.convert("P"), small.rotate(180).convert("P")]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    jpeg = encoded(small, "JPEG")
    return {
        "phone.jpg": (encoded(photo, "JPEG", quality=90, exif=exif), ANSWERED),
        "sixteen-bit.png": (encoded(small.convert("L").convert("I;16"), "PNG"), ANSWERED),
        "cmyk.jpg": (encoded(small.convert("CMYK"), "JPEG"), ANSWERED),
        "photo.webp": (encoded(small, "WEBP"), ANSWERED),
        "animated.gif": (gif.getvalue(), ANSWERED),
        "photo.heic": (b"\x00\x00\x00\x18ftypheic" + bytes(2048), {("FAILED", "UnsupportedImageFormat")}),
        "bomb.png": (encoded(Image.new("1", (20000, 20000)), "PNG"), {("FAILED", "ImageTooLarge")}),
        "truncated.jpg": (jpeg[: len(jpeg) // 2], {("FAILED", "NotAnImage")}),
        "too-big.jpg": (jpeg + bytes(26 * 1024 * 1024), {("FAILED", "ImageTooLarge")}),
    }


def test_real_photos_end_answered_or_named_and_histories_stay_small(shared_stack, unique):
    cases = photos()
    stack = shared_stack  # the session's: this test's keys and execution names are its own
    s3, sfn = stack.client("s3"), stack.client("stepfunctions")
    arns = {}
    for key, (body, _) in cases.items():
        s3.put_object(Bucket=stack.bucket, Key=f"images/real-photos-{unique}/{key}", Body=body)
        arns[key] = sfn.start_execution(
            stateMachineArn=stack.state_machine_arn,
            input=json.dumps({"s3_bucket": stack.bucket, "s3_key": f"images/real-photos-{unique}/{key}"}),
            name=f"photo-{unique}-{len(arns)}",
        )["executionArn"]
    ended = {key: wait(sfn, arn) for key, arn in arns.items()}
    history = sfn.get_execution_history(executionArn=arns["phone.jpg"], maxResults=1000)["events"]

    for key, (_, expected) in cases.items():
        execution = ended[key]
        assert (execution["status"], execution.get("error")) in expected, (key, execution.get("cause"))
    assert "25" in ended["too-big.jpg"]["cause"] or "26" in ended["too-big.jpg"]["cause"]  # the size and cap
    assert "HEIC" in ended["photo.heic"]["cause"].upper()
    # a 4.3 MB phone photo: what the history holds is the normalised image, a few times
    assert len(json.dumps(history, default=str)) < 100 * 1024


def wait(sfn, arn: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while (execution := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} did not end"
        time.sleep(0.1)
    return execution
