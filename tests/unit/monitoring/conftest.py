"""Fixtures for the monitoring tests: no network, fake AWS credentials, hand-made capture records."""

from __future__ import annotations

import base64
import io
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[3]
CIFAR_TRAIN = REPO_ROOT.parent / "shared" / "data" / "cifar100-bicycle-motorcycle" / "train"


def generated_png(seed: int, size: int = 32) -> bytes:
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size))
    image.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(size * size)])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def encode_output(probabilities: list[float], encoding: str) -> dict:
    text = json.dumps(probabilities)
    if encoding == "BASE64":
        data, content_type = base64.b64encode(text.encode()).decode(), "application/json"
    elif encoding == "JSON":
        data, content_type = text, "application/json"
    elif encoding == "CSV":
        data, content_type = ",".join(str(p) for p in probabilities), "text/csv"
    else:
        raise ValueError(encoding)
    return {"observedContentType": content_type, "mode": "OUTPUT", "data": data, "encoding": encoding}


def capture_record(
    probabilities: list[float],
    *,
    png: bytes,
    when: str = "2026-11-25T12:00:00Z",
    encoding: str = "JSON",
    event_id: str = "e-0",
    inference_id: str | None = None,
) -> dict:
    metadata = {"eventId": event_id, "inferenceTime": when}
    if inference_id:
        metadata["inferenceId"] = inference_id
    return {
        "captureData": {
            "endpointInput": {
                "observedContentType": "image/png",
                "mode": "INPUT",
                "data": base64.b64encode(png).decode(),
                "encoding": "BASE64",
            },
            "endpointOutput": encode_output(probabilities, encoding),
        },
        "eventMetadata": metadata,
        "eventVersion": "0",
    }


@pytest.fixture(autouse=True)
def _no_network(socket_disabled):
    """Unit tests never reach the network: S3 only through moto's in-process mock."""
    yield


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def pngs() -> list[bytes]:
    """A few real CIFAR-100 bicycles/motorcycles when the shared data is there, else generated PNGs."""
    real = sorted(CIFAR_TRAIN.glob("*.png"))[:8] if CIFAR_TRAIN.is_dir() else []
    return [p.read_bytes() for p in real] or [generated_png(seed) for seed in range(8)]


@pytest.fixture
def make_record(pngs: list[bytes]) -> Callable[..., dict]:
    def make(probabilities: list[float], *, image: int = 0, **kwargs) -> dict:
        return capture_record(probabilities, png=pngs[image % len(pngs)], **kwargs)

    return make
