"""Data capture written by ClassifyImage itself (template parameter ``CaptureMode: Function``),
for an endpoint that captures nothing (a serverless endpoint cannot).

What SageMaker's data capture writes, so that ``monitoring report`` and the drift verdict read it
as they read an endpoint's (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html,
"View captured data"; the fields: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DataCaptureConfig.html):

* key ``<DestinationS3Uri's prefix>/<EndpointName>/<VariantName>/YYYY/MM/DD/HH/<file>.jsonl``,
  the file ``<mm>-<ss>-<mmm>-<eventId>``, in the hour folder of the inference time (UTC);
* one JSON line: ``captureData.endpointInput``/``endpointOutput`` (``observedContentType``,
  ``mode``, ``data``, ``encoding``), ``eventMetadata`` (``eventId``, ``inferenceTime`` in whole
  seconds) and ``eventVersion`` "0". A body whose content type is in ``JSON_CONTENT_TYPES``
  (training_job deploy's ``CaptureContentTypeHeader``) is kept as JSON text, ``text/csv`` as CSV
  text, anything else (the image) as base64: SageMaker's default.

One object per sampled inference, written before the handler returns: a Lambda execution
environment may be frozen, then ended, at any moment after it answered, so a record held in
memory for a later batch could be lost without a trace (docs/monitoring.md, "Function capture",
has the measurements and the costs). Capture is best effort, as SageMaker's is: a write that
fails after the SDK's retries never fails the photo; the record then goes to the function's log
whole (the line "capture not written"), so it is not lost either.
"""

from __future__ import annotations

import base64
import json
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from exceptions import InvalidConfiguration

CAPTURE_MODES = ("Endpoint", "Function")
#: training_job deploy's CaptureContentTypeHeader: the algorithm answers application/json
JSON_CONTENT_TYPES = ("application/json",)
#: SageMaker's default CSV content type (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CaptureContentTypeHeader.html)
CSV_CONTENT_TYPES = ("text/csv",)
CAPTURE_CONTENT_TYPE = "application/jsonl"
# DestinationS3Uri's pattern is (https|s3)://([^/])/?(.*); the template allows only s3:// URIs
# without a trailing slash, so that the IAM resource built from it is exact.
_DESTINATION = re.compile(
    r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>[^/]+(?:/[^/]+)*))?"
)


@dataclass(frozen=True)
class CaptureSettings:
    bucket: str
    prefix: str  # without slashes at either end; "" for the bucket's root
    sampling_percentage: float
    kms_key_id: str | None = None


def parse_capture_settings(
    mode: str | None, destination: str | None, percentage: str | None, kms_key_id: str | None = None
) -> CaptureSettings | None:
    """The environment template.yaml sets: ``CAPTURE_MODE`` (Endpoint: the endpoint captures,
    this function writes nothing), and under Function ``CAPTURE_DESTINATION`` (s3://bucket or
    s3://bucket/prefix), ``CAPTURE_SAMPLING_PERCENTAGE`` (0..100) and, for a KMS-encrypted
    destination, ``CAPTURE_KMS_KEY_ARN``. Read at import: a mistake fails the cold start."""
    if mode not in CAPTURE_MODES:
        raise InvalidConfiguration(f"CAPTURE_MODE must be one of {', '.join(CAPTURE_MODES)}, got {mode!r}")
    if mode == "Endpoint":
        return None
    match = _DESTINATION.fullmatch(destination or "")
    if match is None:
        raise InvalidConfiguration(
            f"CAPTURE_DESTINATION must be s3://bucket or s3://bucket/prefix, got {destination!r}"
        )
    try:
        sampling = float(percentage) if percentage is not None else float("nan")
    except ValueError:
        sampling = float("nan")
    if not 0 <= sampling <= 100:
        raise InvalidConfiguration(
            f"CAPTURE_SAMPLING_PERCENTAGE must be a number in 0..100, got {percentage!r}"
        )
    return CaptureSettings(match["bucket"], match["prefix"] or "", sampling, kms_key_id or None)


def is_sampled(sampling_percentage: float, draw: float) -> bool:
    """Whether a request is captured, for ``draw`` uniform in [0, 1): the local endpoint's rule."""
    return sampling_percentage >= 100 or draw * 100 < sampling_percentage


def encode_body(body: bytes, content_type: str) -> tuple[str, str]:
    """(data, encoding) as SageMaker's default CaptureContentTypeHeader stores a body."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    encoding = (
        "JSON" if media_type in JSON_CONTENT_TYPES else "CSV" if media_type in CSV_CONTENT_TYPES else None
    )
    if encoding is not None:
        try:
            return body.decode("utf-8"), encoding
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), "BASE64"


def capture_record(
    *,
    input_body: bytes,
    input_content_type: str,
    output_body: bytes,
    output_content_type: str,
    inference_time: datetime,
    event_id: str,
    inference_id: str | None = None,
) -> dict[str, Any]:
    """One data-capture record (the JSON object of one line)."""
    input_data, input_encoding = encode_body(input_body, input_content_type)
    output_data, output_encoding = encode_body(output_body, output_content_type)
    metadata = {"eventId": event_id}
    if inference_id is not None:
        metadata["inferenceId"] = inference_id
    metadata["inferenceTime"] = inference_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "captureData": {
            "endpointInput": {
                "observedContentType": input_content_type,
                "mode": "INPUT",
                "data": input_data,
                "encoding": input_encoding,
            },
            "endpointOutput": {
                "observedContentType": output_content_type,
                "mode": "OUTPUT",
                "data": output_data,
                "encoding": output_encoding,
            },
        },
        "eventMetadata": metadata,
        "eventVersion": "0",
    }


def capture_key(
    prefix: str, endpoint_name: str, variant: str, inference_time: datetime, event_id: str
) -> str:
    """``<prefix>/<endpoint>/<variant>/YYYY/MM/DD/HH/<mm>-<ss>-<mmm>-<event id>.jsonl``."""
    when = inference_time.astimezone(UTC)
    name = f"{when:%M-%S}-{when.microsecond // 1000:03d}-{event_id}.jsonl"
    return "/".join(part for part in (prefix, endpoint_name, variant, f"{when:%Y/%m/%d/%H}", name) if part)


@dataclass(frozen=True)
class CapturedInference:
    """What one InvokeEndpoint call sent and received."""

    endpoint_name: str
    variant: str
    input_body: bytes
    input_content_type: str
    output_body: bytes
    output_content_type: str
    inference_time: datetime


def capture_object(
    inference: CapturedInference, settings: CaptureSettings, event_id: str
) -> tuple[str, bytes]:
    """(key, body) of the one capture file of one inference."""
    record = capture_record(
        input_body=inference.input_body,
        input_content_type=inference.input_content_type,
        output_body=inference.output_body,
        output_content_type=inference.output_content_type,
        inference_time=inference.inference_time,
        event_id=event_id,
    )
    key = capture_key(
        settings.prefix, inference.endpoint_name, inference.variant, inference.inference_time, event_id
    )
    return key, (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")


@cache
def s3_client():
    """One client per container. A capture file is written while the photo waits, so the
    timeouts are short; the SDK's standard retries (3 attempts) ride out S3's 503 SlowDown."""
    return boto3.client("s3", config=Config(retries={"mode": "standard"}, connect_timeout=2, read_timeout=5))


def sampled_capture(
    inference: CapturedInference,
    settings: CaptureSettings,
    *,
    draw: Callable[[], float] = random.random,
    new_event_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> tuple[str, bytes] | None:
    """(key, body) of the inference's capture file, or None when the sampling leaves it out."""
    if not is_sampled(settings.sampling_percentage, draw()):
        return None
    return capture_object(inference, settings, new_event_id())


def put_capture(settings: CaptureSettings, key: str, body: bytes) -> None:
    """One PutObject; S3's errors propagate (the handler logs the record and goes on)."""
    encryption = (
        {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": settings.kms_key_id} if settings.kms_key_id else {}
    )
    s3_client().put_object(
        Bucket=settings.bucket, Key=key, Body=body, ContentType=CAPTURE_CONTENT_TYPE, **encryption
    )
