"""EventBridge's part on its own, with no S3 in it: event patterns (exact values, ``wildcard``,
``prefix``, ``suffix``, ``exists``; any other operator an error, never a miss) and the input
transformer (paths, placeholders). What the template's UploadRule matches is in
test_upload_trigger.py."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from local_stack.aws.eventbridge import (
    InvalidTransformedInput,
    UnsupportedEventPattern,
    UnsupportedInputPath,
    check_event_pattern,
    fill_input_template,
    json_path_value,
    matches,
    transformed_input,
    wildcard_matches,
)

BUCKET = "scones-images"
# an "Object Created" event as S3 sends it to EventBridge (Amazon S3 User Guide)
EVENT = {
    "version": "0",
    "id": "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "account": "123456789012",
    "time": "2026-05-01T12:00:00Z",
    "region": "us-east-1",
    "resources": [f"arn:aws:s3:::{BUCKET}"],
    "detail": {
        "version": "0",
        "bucket": {"name": BUCKET},
        "object": {"key": "incoming/x.png", "sequencer": "00617F08299329D189"},
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": "123456789012",
        "source-ip-address": "127.0.0.1",
        "reason": "PutObject",
    },
}


@dataclass(frozen=True)
class Transformer:
    input_paths: dict[str, str]
    input_template: str


# ------------------------------------------------------------------ event patterns


def test_exact_values_prefix_suffix_and_exists():
    sample = {"a": "photo.jpg", "n": 5, "flag": True, "none": None, "list": ["x", "y"]}
    assert matches({"a": ["photo.jpg"], "n": [5.0], "none": [None], "list": ["y"]}, sample)
    assert not matches({"n": ["5"]}, sample)
    assert not matches({"flag": [1]}, sample)  # true is not 1
    assert matches({"a": [{"prefix": "pho"}, "other"]}, sample)
    assert matches({"a": [{"suffix": ".jpg"}]}, sample)
    assert not matches({"a": [{"suffix": ".png"}]}, sample)
    assert matches({"missing": [{"exists": False}], "a": [{"exists": True}]}, sample)
    assert not matches({"missing": [None]}, sample)  # absent is not null
    assert matches({"nested": {"deeper": [{"exists": False}]}}, sample)


def test_wildcard_escapes():
    assert wildcard_matches(r"a\*b", "a*b")
    assert not wildcard_matches(r"a\*b", "axxb")
    assert wildcard_matches(r"a\\*", "a\\anything")
    assert wildcard_matches("*", "")
    assert not wildcard_matches("a.c", "abc")  # a dot is a dot


@pytest.mark.parametrize(
    "pattern",
    [
        {"a": [{"anything-but": "x"}]},
        {"a": [{"numeric": [">", 0]}]},
        {"a": [{"equals-ignore-case": "x"}]},
        {"a": [{"prefix": {"equals-ignore-case": "x"}}]},
        {"a": [{"prefix": "x", "suffix": "y"}]},
        {"a": "not-a-list"},
    ],
)
def test_an_operator_not_implemented_is_an_error_not_a_miss(pattern):
    with pytest.raises(UnsupportedEventPattern):
        check_event_pattern(pattern)
    with pytest.raises(UnsupportedEventPattern):
        matches(pattern, {"a": "x"})


# ------------------------------------------------------------------ the InputTransformer


def test_a_placeholder_inside_a_string_is_escaped_for_it():
    filled = fill_input_template(
        '{"where": "s3://<bucket>/<key>", "key": <key>}', {"bucket": "b", "key": 'a "q"'}
    )
    assert json.loads(filled) == {"where": 's3://b/a "q"', "key": 'a "q"'}
    assert fill_input_template("<unknown> stays", {}) == "<unknown> stays"


def test_input_paths():
    sample = EVENT
    assert json_path_value(sample, "$.detail.object.key") == "incoming/x.png"
    assert json_path_value(sample, "$.detail.request-id") == "N4N7GDK58NMKJ12R"
    assert json_path_value(sample, "$.resources[0]") == f"arn:aws:s3:::{BUCKET}"
    assert json_path_value(sample, "$.detail.nothing.here") is None
    assert json_path_value(sample, "$") == sample
    with pytest.raises(UnsupportedInputPath):
        json_path_value(sample, "$..key")
    with pytest.raises(UnsupportedInputPath):
        json_path_value(sample, "detail.key")


def test_the_transformed_input_is_the_template_filled_from_the_event_and_json_or_refused():
    paths = {"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"}
    transformer = Transformer(paths, '{"s3_bucket": <bucket>, "s3_key": <key>}')
    assert json.loads(transformed_input(transformer, EVENT)) == {
        "s3_bucket": BUCKET,
        "s3_key": "incoming/x.png",
    }
    assert json.loads(transformed_input(Transformer({}, "<aws.events.event>"), EVENT)) == EVENT
    with pytest.raises(InvalidTransformedInput):
        transformed_input(Transformer(paths, "s3://<bucket>"), EVENT)
