"""Parse one line of SageMaker data capture into a typed record.

A line is one JSON object::

    {"captureData": {"endpointInput":  {"observedContentType": "image/png", "mode": "INPUT",
                                        "data": "<base64>", "encoding": "BASE64"},
                     "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                        "data": "[0.97, 0.03]", "encoding": "JSON"}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceId": "<optional>",
                       "inferenceTime": "2026-11-25T12:00:00Z"},
     "eventVersion": "0"}

``encoding`` is ``BASE64`` (``data`` is base64 of the body: SageMaker's default for every content
type not listed in ``CaptureContentTypeHeader``), ``JSON`` (``data`` is the JSON text itself) or
``CSV`` (``data`` is the CSV text, e.g. ``0.97,0.03``). The model answers
``[p_bicycle, p_motorcycle]``: the label is the argmax, the confidence the max.

The built-in image-classification algorithm answers "the probability values for all classes
encoded in JSON format, or in JSON Lines text format", one line per image; its documented JSON
Lines answer (``accept: application/jsonlines``) is ``{"prediction": [prob_0, prob_1, ...]}``
(https://docs.aws.amazon.com/sagemaker/latest/dg/image-classification.html#IC-inference). Both
are read here, whichever encoding the capture used (a JSON Lines body is not in the endpoint's
``JsonContentTypes``, so SageMaker captures it as BASE64).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from monitoring.answers import ArgmaxAnswer
from monitoring.exceptions import InvalidRecord
from scones_core.project import CLASS_NAMES

# Skip reasons, the keys of summary.json's "skipped" object.
MALFORMED_JSON = "malformed_json"
MISSING_FIELDS = "missing_fields"
BAD_INFERENCE_TIME = "bad_inference_time"
NO_OUTPUT = "no_output"
UNDECODABLE_OUTPUT = "undecodable_output"
UNDECODABLE_IMAGE = "undecodable_image"
MALFORMED_REASONS = frozenset({MALFORMED_JSON, MISSING_FIELDS, BAD_INFERENCE_TIME})
"""Reasons that make a line "malformed": it is not a well-formed capture record at all."""
SKIP_REASONS = (MALFORMED_JSON, MISSING_FIELDS, BAD_INFERENCE_TIME, NO_OUTPUT, UNDECODABLE_OUTPUT)

_ENCODINGS = frozenset({"BASE64", "JSON", "CSV"})
# "prediction": the algorithm's documented JSON Lines answer; the others, answers of our own
# containers and of other SageMaker models (the linear learner's "predictions", say).
_WRAPPER_KEYS = ("prediction", "probabilities", "predictions", "inferences", "scores")
# Content types of JSON Lines bodies: one JSON value per line.
_JSON_LINES_TYPES = ("application/jsonlines", "application/x-jsonlines", "application/json-lines")
# Probabilities that should sum to 1 may be off by float rounding, not by more: the rule the
# workflow's functions apply (tests/unit/test_domain_facts.py proves the copies agree).
SUM_TOLERANCE = 1e-3


@dataclass(frozen=True, slots=True)
class CapturedPayload:
    """One side (input or output) of a capture, still encoded as captured."""

    content_type: str
    encoding: str
    data: str


@dataclass(frozen=True, slots=True)
class CaptureRecord(ArgmaxAnswer):
    """One captured call: an :class:`monitoring.answers.Answer`, with the input it answered."""

    event_id: str | None
    inference_id: str | None
    inference_time: datetime
    probabilities: tuple[float, ...]
    endpoint_input: CapturedPayload | None


def parse_record(line: bytes | str) -> CaptureRecord:
    """Parse one JSON line; raise :class:`InvalidRecord` with the reason it cannot be used."""
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRecord(MALFORMED_JSON, str(exc)) from None
    if not isinstance(obj, dict):
        raise InvalidRecord(MALFORMED_JSON, "a line is not a JSON object")
    capture = obj.get("captureData")
    metadata = obj.get("eventMetadata")
    if not isinstance(capture, dict) or not isinstance(metadata, dict):
        raise InvalidRecord(MISSING_FIELDS, "captureData and eventMetadata objects are required")
    if "inferenceTime" not in metadata:
        raise InvalidRecord(MISSING_FIELDS, "eventMetadata.inferenceTime is required")
    inference_time = parse_inference_time(metadata["inferenceTime"])

    output = _payload(capture.get("endpointOutput"))
    if output is None or output.data == "":
        raise InvalidRecord(NO_OUTPUT, "the record has no endpointOutput data")
    probabilities = parse_probabilities(output)

    return CaptureRecord(
        event_id=_optional_str(metadata.get("eventId")),
        inference_id=_optional_str(metadata.get("inferenceId")),
        inference_time=inference_time,
        probabilities=probabilities,
        endpoint_input=_payload(capture.get("endpointInput")),
    )


def parse_inference_time(value: object) -> datetime:
    """``2026-11-25T12:00:00Z`` (SageMaker writes whole seconds; fractions are accepted) -> aware UTC."""
    if not isinstance(value, str):
        raise InvalidRecord(BAD_INFERENCE_TIME, f"not a string: {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRecord(BAD_INFERENCE_TIME, f"not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def decode_payload(payload: CapturedPayload) -> bytes:
    """The body as the endpoint saw it (input) or sent it (output)."""
    if payload.encoding == "BASE64":
        try:
            return base64.b64decode(payload.data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"bad base64: {exc}") from None
    return payload.data.encode("utf-8")


def parse_probabilities(output: CapturedPayload) -> tuple[float, ...]:
    """``[p_bicycle, p_motorcycle]`` from an output payload in any of the three encodings."""
    if output.encoding not in _ENCODINGS:
        raise InvalidRecord(UNDECODABLE_OUTPUT, f"unknown encoding {output.encoding!r}")
    try:
        text = decode_payload(output).decode("utf-8").strip()
        content_type = output.content_type.split(";")[0].strip().lower()
        if output.encoding == "CSV" or "csv" in content_type:
            values = _parse_csv(text)
        elif content_type in _JSON_LINES_TYPES:
            values = _unwrap(_one_json_line(text))
        else:
            values = _unwrap(json.loads(text))
        return check_probabilities(values)
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidRecord(UNDECODABLE_OUTPUT, str(exc)) from None


def _parse_csv(text: str) -> list[float]:
    return [float(cell) for cell in text.replace("\n", ",").split(",") if cell.strip()]


def _one_json_line(text: str) -> object:
    """The one record of a JSON Lines body (the algorithm answers one line per image)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise ValueError(f"expected one JSON Lines record, got {len(lines)}")
    return json.loads(lines[0])


def _unwrap(value: object) -> object:
    if isinstance(value, dict):
        for key in _WRAPPER_KEYS:
            if key in value:
                return _unwrap(value[key])
        raise ValueError(f"no probabilities in the object's keys {sorted(value)[:5]}")
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        return value[0]  # a batch of one
    return value


def check_probabilities(values: object) -> tuple[float, ...]:
    """``[p_bicycle, p_motorcycle]`` as floats, or ValueError: two numbers in 0..1 summing to 1."""
    if not isinstance(values, list) or len(values) != len(CLASS_NAMES):
        raise ValueError(f"expected a list of {len(CLASS_NAMES)} probabilities, got {str(values)[:60]}")
    out: list[float] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"not a number: {value!r}")
        # compared before float(): NaN and infinities fail, and a huge int does not overflow
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"not a probability: {value!r}")
        out.append(float(value))
    if abs(sum(out) - 1.0) > SUM_TOLERANCE:
        raise ValueError(f"probabilities sum to {sum(out):.4f}, not 1: {str(values)[:60]}")
    return tuple(out)


def _payload(side: object) -> CapturedPayload | None:
    if not isinstance(side, dict) or not isinstance(side.get("data"), str):
        return None
    encoding = side.get("encoding")
    content_type = side.get("observedContentType")
    return CapturedPayload(
        content_type=content_type if isinstance(content_type, str) else "",
        encoding=encoding.upper() if isinstance(encoding, str) else "",
        data=side["data"],
    )


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
