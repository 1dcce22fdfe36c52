"""SummarizeBatch's pure parts: reading ResultWriter's files and a manifest of expected labels,
and the counts, accuracy and confusion matrix of summary.json (the handler end to end, against
moto's S3, is in test_batch.py)."""

from __future__ import annotations

import json

import pytest

from local_stack.aws import lambda_runtime
from scones_core.project import is_folder_marker
from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def batch_function():
    return lambda_runtime.load_function(REPO_ROOT / "functions" / "summarize_batch")


def child(status: str, photos: list[dict], items: list[str] | None = None, error: str = "") -> dict:
    entry = {"Status": status, "Input": json.dumps({"Items": [{"Key": k} for k in items or []]})}
    if status == "SUCCEEDED":
        entry["Output"] = json.dumps(photos)
    else:
        entry |= {"Error": error, "Cause": "..."}
    return entry


def answer(key: str, label: str) -> dict:
    return {"item": {"Key": key}, "answer": {"label": label, "confidence": 0.99, "inferences": [0.99, 0.01]}}


def refusal(key: str, error: str = "ThresholdConfidenceNotMet") -> dict:
    return {"item": {"Key": key}, "error": error, "cause": "..."}


def test_photos_of_succeeded_and_failed_children_are_counted_by_outcome(batch_function):
    summary = batch_function.summary
    outcomes = summary.outcomes_of_succeeded(
        [
            child("SUCCEEDED", [answer("p/a", "bicycle"), refusal("p/b")]),
            child("SUCCEEDED", [refusal("p/c", "NotAnImage")]),
        ]
    ) + summary.outcomes_of_failed([child("FAILED", [], ["p/d", "p/e"], "EndpointUnavailable")])

    counted = summary.summarize(outcomes)

    assert counted == {
        "photos": 5,
        "answered": 1,
        "labels": {"bicycle": 1, "motorcycle": 0},
        "refused": 1,
        "errors": {"EndpointUnavailable": 2, "NotAnImage": 1},
        "folder_markers": 0,
    }


def test_accuracy_is_among_answered_photos_and_the_matrix_has_every_outcome(batch_function):
    summary = batch_function.summary
    outcomes = summary.outcomes_of_succeeded(
        [
            child(
                "SUCCEEDED",
                [answer("a", "bicycle"), answer("b", "bicycle"), refusal("c"), refusal("d", "NotAnImage")],
            )
        ]
    )
    expected = {"a": "bicycle", "b": "motorcycle", "c": "motorcycle", "d": "bicycle", "gone": "bicycle"}

    against = summary.summarize(outcomes, expected)["expected"]

    assert (against["labelled"], against["accuracy"], against["coverage"], against["not_in_batch"]) == (
        4,
        0.5,
        0.5,
        1,
    )
    assert against["confusion_matrix"] == {
        "bicycle": {"bicycle": 1, "motorcycle": 0, "refused": 0, "error": 1},
        "motorcycle": {"bicycle": 1, "motorcycle": 0, "refused": 1, "error": 0},
    }


def test_a_manifest_is_a_lst_under_the_prefix_or_a_csv_of_keys(batch_function):
    summary = batch_function.summary
    lst = "1\t0\tbicycle_1.png\n2\t1\tmotorcycle_2.png\n"
    assert summary.expected_labels(lst, manifest_key="batch/manifests/x.lst", prefix="images/b/") == {
        "images/b/bicycle_1.png": "bicycle",
        "images/b/motorcycle_2.png": "motorcycle",
    }
    csv_text = "Key,label\nimages/a.png,motorcycle\nimages/b.png,\nimages/c.png,0\n"
    assert summary.expected_labels(csv_text, manifest_key="batch/manifests/x.csv", prefix="") == {
        "images/a.png": "motorcycle",
        "images/c.png": "bicycle",
    }


@pytest.mark.parametrize(
    ("text", "key", "says"),
    [
        ("1\t0\n", "m.lst", "index<TAB>class<TAB>path"),
        ("1\t7\ta.png\n", "m.lst", "'7' is no label"),
        ("key,class\na,0\n", "m.csv", "header must name Key and label"),
    ],
)
def test_a_manifest_that_is_not_one_is_refused_by_name(batch_function, text, key, says):
    with pytest.raises(batch_function.exceptions.InvalidResults, match=says):
        batch_function.summary.expected_labels(text, manifest_key=key, prefix="")


def test_the_event_names_the_run_and_the_summary_lies_beside_its_manifest(batch_function):
    run = batch_function.event.BatchRun.from_event(
        {
            "input": {"s3_bucket": "b", "prefix": "images/", "manifest_key": "batch/manifests/m.csv"},
            "results_key": "batch/results/1234/manifest.json",
            "map_run_arn": "arn:aws:states:us-east-1:123456789012:mapRun:m/x:1234",
        }
    )
    assert (run.summary_key, run.manifest_key) == ("batch/results/1234/summary.json", "batch/manifests/m.csv")
    with pytest.raises(batch_function.exceptions.InvalidEvent, match="'results_key'"):
        batch_function.event.BatchRun.from_event(
            {"input": {"s3_bucket": "b", "prefix": "p"}, "map_run_arn": "a"}
        )


def marker(key: str) -> dict:
    return {"item": {"Key": key, "Size": 0}, "error": "FolderMarker", "cause": "..."}


def test_folder_markers_are_counted_apart_never_as_photos_even_in_a_failed_child(batch_function):
    summary = batch_function.summary
    outcomes = summary.outcomes_of_succeeded(
        [child("SUCCEEDED", [marker("p/"), answer("p/a", "bicycle"), marker("p/sub/")])]
    )
    failed = child("FAILED", [], error="EndpointUnavailable")
    failed["Input"] = json.dumps({"Items": [{"Key": "p/x/", "Size": 0}, {"Key": "p/b", "Size": 9}]})
    outcomes += summary.outcomes_of_failed([failed])

    counted = summary.summarize(outcomes, {"p/a": "bicycle", "p/b": "motorcycle"})

    assert {k: counted[k] for k in ("photos", "answered", "refused", "errors", "folder_markers")} == {
        "photos": 2,
        "answered": 1,
        "refused": 0,
        "errors": {"EndpointUnavailable": 1},
        "folder_markers": 3,
    }
    assert counted["expected"]["labelled"] == 2


@pytest.mark.parametrize(
    ("item", "is_marker"),
    [
        ({"Key": "images/a/", "Size": 0}, True),
        ({"Key": "images/a/", "Size": 12}, False),  # a key ending in / that holds bytes: a photo to try
        ({"Key": "images/a.png", "Size": 0}, False),  # an empty file: NotAnImage, as before
    ],
)
def test_a_folder_marker_is_a_key_ending_in_a_slash_of_0_bytes(batch_function, item, is_marker):
    assert batch_function.summary.is_folder_marker(item) is is_marker
    assert is_folder_marker(item) is is_marker  # the floor's copy, which the result readers use


@pytest.mark.parametrize(
    ("text", "key", "says"),
    [
        ("\n", "m.lst", "names no photo with a label"),
        ("Key,label\nimages/a.png,\n", "m.csv", "names no photo with a label"),
        ("Key,label\nother/a.png,0\n", "m.csv", "none of its 1 keys lies under images/b/"),
    ],
)
def test_a_manifest_that_labels_no_photo_of_the_batch_is_refused_by_name(batch_function, text, key, says):
    with pytest.raises(batch_function.exceptions.InvalidManifest, match=says):
        batch_function.summary.checked_expected_labels(text, manifest_key=key, prefix="images/b/")


def test_the_state_machine_asks_for_a_check_or_a_summary_and_nothing_else(batch_function):
    event = batch_function.event
    assert event.action_of({"action": "check"}) == "check"
    assert event.action_of({"input": {}}) == "summarize"  # WriteSummary's payload before "action"
    with pytest.raises(batch_function.exceptions.InvalidEvent, match="'action' must be"):
        event.action_of({"action": "classify"})
    checked = event.BatchInput.from_event({"input": {"s3_bucket": "b", "prefix": "images/"}})
    assert (checked.bucket, checked.prefix, checked.manifest_key) == ("b", "images/", None)
