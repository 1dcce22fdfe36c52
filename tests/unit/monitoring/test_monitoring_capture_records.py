"""One SageMaker data-capture line -> a typed record, or the reason it is skipped."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from monitoring.capture_records import (
    BAD_INFERENCE_TIME,
    MALFORMED_JSON,
    MISSING_FIELDS,
    NO_OUTPUT,
    UNDECODABLE_OUTPUT,
    decode_payload,
    parse_record,
)
from monitoring.exceptions import InvalidRecord


@pytest.mark.parametrize("encoding", ["BASE64", "JSON", "CSV"])
def test_each_output_encoding_gives_label_and_confidence(make_record, pngs, encoding):
    line = json.dumps(make_record([0.12, 0.88], encoding=encoding, event_id="abc"))

    record = parse_record(line)

    assert record.probabilities == (0.12, 0.88)
    assert record.label == "motorcycle"
    assert record.confidence == 0.88
    assert record.event_id == "abc"
    assert record.inference_time == datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert decode_payload(record.endpoint_input) == pngs[0]


def test_base64_output_of_csv_body_and_bytes_line(make_record):
    record = make_record([0.5, 0.5])
    record["captureData"]["endpointOutput"] = {
        "observedContentType": "text/csv; charset=utf-8",
        "mode": "OUTPUT",
        "data": base64.b64encode(b"0.97,0.03\n").decode(),
        "encoding": "BASE64",
    }

    parsed = parse_record(json.dumps(record).encode() + b"\n")

    assert parsed.probabilities == (0.97, 0.03)
    assert parsed.label == "bicycle"


@pytest.mark.parametrize(
    "body",
    ['{"probabilities": [0.3, 0.7]}', "[[0.3, 0.7]]", '{"predictions": [[0.3, 0.7]]}'],
)
def test_wrapped_json_outputs(make_record, body):
    record = make_record([0.5, 0.5])
    record["captureData"]["endpointOutput"]["data"] = body
    assert parse_record(json.dumps(record)).probabilities == (0.3, 0.7)


def test_inference_id_and_fractional_time(make_record):
    line = json.dumps(make_record([0.9, 0.1], inference_id="req-7", when="2026-11-25T12:34:56.789Z"))

    record = parse_record(line)

    assert record.inference_id == "req-7"
    assert record.inference_time == datetime(2026, 11, 25, 12, 34, 56, 789000, tzinfo=UTC)


def test_tie_goes_to_the_first_class(make_record):
    record = parse_record(json.dumps(make_record([0.5, 0.5])))
    assert (record.label, record.confidence) == ("bicycle", 0.5)


def _edit(record: dict, path: tuple[str, ...], value: object) -> dict:
    node = record
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return record


_DELETE = object()
_OUT = ("captureData", "endpointOutput")


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("captureData",), _DELETE, MISSING_FIELDS),
        (("eventMetadata",), "not an object", MISSING_FIELDS),
        (("eventMetadata", "inferenceTime"), _DELETE, MISSING_FIELDS),
        (("eventMetadata", "inferenceTime"), "yesterday", BAD_INFERENCE_TIME),
        (("eventMetadata", "inferenceTime"), 1764072000, BAD_INFERENCE_TIME),
        (_OUT, _DELETE, NO_OUTPUT),
        ((*_OUT, "data"), "", NO_OUTPUT),
        ((*_OUT, "encoding"), "XML", UNDECODABLE_OUTPUT),
        ((*_OUT, "data"), "[0.9]", UNDECODABLE_OUTPUT),
        ((*_OUT, "data"), "[0.9, 0.05, 0.05]", UNDECODABLE_OUTPUT),
        ((*_OUT, "data"), '["a", "b"]', UNDECODABLE_OUTPUT),
        ((*_OUT, "data"), "[1.5, -0.5]", UNDECODABLE_OUTPUT),
        ((*_OUT, "data"), "[true, false]", UNDECODABLE_OUTPUT),
        ((*_OUT, "data"), "not json", UNDECODABLE_OUTPUT),
        ((*_OUT, "data"), '{"label": "bicycle"}', UNDECODABLE_OUTPUT),
    ],
)
def test_unusable_records_name_their_reason(make_record, path, value, reason):
    line = json.dumps(_edit(make_record([0.9, 0.1]), path, value))
    with pytest.raises(InvalidRecord) as caught:
        parse_record(line)
    assert caught.value.reason == reason


def test_bad_base64_output_is_undecodable(make_record):
    record = make_record([0.9, 0.1], encoding="BASE64")
    record["captureData"]["endpointOutput"]["data"] = "%%%not base64%%%"
    with pytest.raises(InvalidRecord) as caught:
        parse_record(json.dumps(record))
    assert caught.value.reason == UNDECODABLE_OUTPUT


@pytest.mark.parametrize("line", ['{"captureData": {', "[1, 2]", b"\xff\xfe{}", "null"])
def test_not_a_json_object_is_malformed(line):
    with pytest.raises(InvalidRecord) as caught:
        parse_record(line)
    assert caught.value.reason == MALFORMED_JSON


# The image-classification algorithm's documented answers
# (https://docs.aws.amazon.com/sagemaker/latest/dg/image-classification.html#IC-inference):
# JSON, the probabilities of all classes, and JSON Lines with accept: application/jsonlines,
# {"prediction": [prob_0, prob_1, ...]}, one line per image.
def _with_output(make_record, content_type: str, encoding: str, body: str) -> str:
    record = make_record([0.5, 0.5])
    data = base64.b64encode(body.encode()).decode() if encoding == "BASE64" else body
    record["captureData"]["endpointOutput"] = {
        "observedContentType": content_type,
        "mode": "OUTPUT",
        "data": data,
        "encoding": encoding,
    }
    return json.dumps(record)


@pytest.mark.parametrize("encoding", ["BASE64", "JSON"])
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", "[0.0265, 0.9735]"),
        ("application/json", '{"prediction": [0.0265, 0.9735]}'),
        ("application/jsonlines", '{"prediction": [0.0265, 0.9735]}\n'),
        ("application/jsonlines; charset=utf-8", '{"prediction": [0.0265, 0.9735]}'),
        ("application/x-jsonlines", '\n{"prediction": [0.0265, 0.9735]}\n\n'),
    ],
)
def test_the_algorithms_documented_answers(make_record, content_type, body, encoding):
    record = parse_record(_with_output(make_record, content_type, encoding, body))
    assert record.probabilities == (0.0265, 0.9735)
    assert (record.label, record.confidence) == ("motorcycle", 0.9735)


@pytest.mark.parametrize(
    "body",
    [
        '{"prediction": [0.3, 0.7]}\n{"prediction": [0.6, 0.4]}\n',  # two images: not one answer
        "",
        '{"prediction": [0.3]}',
        '{"prediction": "0.3,0.7"}',
        "{not json}",
    ],
)
def test_json_lines_answers_that_are_not_one_pair_are_undecodable(make_record, body):
    line = _with_output(make_record, "application/jsonlines", "BASE64", body)
    with pytest.raises(InvalidRecord) as caught:
        parse_record(line)
    assert caught.value.reason == (NO_OUTPUT if body == "" else UNDECODABLE_OUTPUT)
