"""``monitoring report --batch``: a BatchClassify run's results read into the report's plots and a
batch section (issue 15, item 5).

The committed fixture, ``fixtures/batch_results/<map run id>/``, is a real run: the 41 committed
samples through ``python -m local_stack batch --images samples/images --lst samples/images.lst``,
its folder copied from the local S3 as it was (manifest.json, SUCCEEDED_0.json, summary.json).
Failed children, which that run had none of, are written by the local stack's own ResultWriter
(``local_stack.aws.distributed_map.result_files``).
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local_stack.aws.distributed_map import ChildResult, FailedChild, result_files
from monitoring import DEFAULT_THRESHOLD, answers
from monitoring.batch_results import (
    REFUSED,
    PhotoAnswer,
    PhotoResult,
    batch_threshold,
    check_summary,
    counts_of,
    disagreements,
    error_message,
    least_confident,
    photos_of_failed,
    photos_of_succeeded,
    refusal_probabilities,
    refusal_threshold,
    result_file_names,
)
from monitoring.batch_source import LocalBatchFolder, open_batch_folder, parse_batch_uri, read_batch
from monitoring.cli import main
from monitoring.exceptions import BatchResultsMalformed, BatchResultsNotFound
from monitoring.report import threshold_used
from monitoring.summary import CaptureSummary
from training_job.local_model import MODEL_PATH
from training_job.local_model.baseline import baseline_path_for

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_ID = "acccdf55-87a2-46b8-a1bb-2037864bb9fb"
FIXTURE = Path(__file__).parent / "fixtures" / "batch_results" / RUN_ID
SAMPLES = REPO_ROOT / "samples" / "images"
BUCKET = "scones-mon-batch"  # the fixture's run: its keys name this bucket and prefix
PHOTO_PREFIX = "images/batch-f017e6ad/"
RESULTS_PREFIX = f"batch/results/{RUN_ID}/"
LOCAL_CAUSE = (
    "confidence 0.7056 is below the threshold 0.9300 (inferences [0.29435232281684875, 0.7056476473808289])"
)
MAP_RUN = f"arn:aws:states:us-east-1:123456789012:mapRun:scones-vehicle-classifier-BatchClassify/x:{RUN_ID}"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:scones-vehicle-classifier-BatchClassify"


def fixture_json(name: str):
    return json.loads((FIXTURE / name).read_text())


def report(source: str | Path, out: Path, *extra: str) -> int:
    return main(["report", "--batch", str(source), "--out", str(out), "--no-progress", *extra])


def item(name: str) -> dict:
    return {"Key": PHOTO_PREFIX + name, "Size": 3000}


def answered(name: str, probabilities: list[float]) -> dict:
    confidence = max(probabilities)
    label = ("bicycle", "motorcycle")[probabilities.index(confidence)]
    return {
        "item": item(name),
        "answer": {
            "s3_key": PHOTO_PREFIX + name,
            "inferences": probabilities,
            "label": label,
            "confidence": confidence,
        },
    }


def write_run(folder: Path, children: list[ChildResult], summary: dict | None) -> Path:
    """A run's folder as the local stack's ResultWriter writes it, with summary.json when given."""
    _, files = result_files(
        children, bucket=BUCKET, prefix="batch/results", map_run_arn=MAP_RUN, state_machine_arn=MACHINE
    )
    folder.mkdir(parents=True, exist_ok=True)
    for key, body in files.items():
        (folder / key.rpartition("/")[2]).write_bytes(body)
    if summary is not None:
        (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def child(results: list[dict], items: list[dict] | None = None) -> ChildResult:
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    batch_input = {"Items": items or [r["item"] for r in results], "BatchInput": {"s3_bucket": BUCKET}}
    return ChildResult(batch_input, results, started=at, stopped=at)


def failed_child(names: list[str], error: str = "States.Timeout") -> ChildResult:
    return ChildResult(
        {"Items": [item(n) for n in names], "BatchInput": {"s3_bucket": BUCKET}},
        FailedChild(error, "the child timed out"),
        started=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        stopped=datetime(2026, 12, 1, 9, 35, tzinfo=UTC),
    )


@pytest.fixture
def mixed_run(tmp_path) -> Path:
    """One child answered, refused and met a bad file; another failed with its two photos."""
    photos = [
        answered("a.png", [0.99, 0.01]),
        answered("b.png", [0.02, 0.98]),
        {"item": item("c.png"), "error": REFUSED, "cause": LOCAL_CAUSE},
        {"item": item("d.txt"), "error": "NotAnImage", "cause": "d.txt is not a PNG or JPEG"},
    ]
    summary = {
        "map_run_arn": MAP_RUN,
        "photos": 6,
        "answered": 2,
        "labels": {"bicycle": 1, "motorcycle": 1},
        "refused": 1,
        "errors": {"NotAnImage": 1, "States.Timeout": 2},
    }
    return write_run(tmp_path / "run", [child(photos), failed_child(["e.png", "f.png"])], summary)


# -- the per-photo records ----------------------------------------------------------------------


def test_every_photo_of_the_real_run_is_read_and_agrees_with_its_summary():
    photos = photos_of_succeeded(fixture_json("SUCCEEDED_0.json"), "SUCCEEDED_0.json")
    summary = fixture_json("summary.json")

    assert len(photos) == 41 == summary["photos"]
    assert counts_of(photos) == {
        key: summary[key] for key in ("photos", "answered", "labels", "refused", "errors")
    }
    assert disagreements(summary, photos) == []
    # every refusal's cause named its probabilities: all 40 photos answered by the model are plotted
    assert sum(p.answer is not None for p in photos) == 40
    assert all(p.answer.confidence < 0.93 for p in photos if p.refused)
    assert all(p.bucket == BUCKET for p in photos)


def test_an_answered_photo_keeps_its_probabilities_and_when_its_child_ended():
    _, files = result_files(
        [child([answered("a.png", [0.2, 0.8])])],
        bucket=BUCKET,
        prefix="batch/results",
        map_run_arn=MAP_RUN,
        state_machine_arn=MACHINE,
    )
    body = next(v for k, v in files.items() if k.endswith("SUCCEEDED_0.json"))
    (photo,) = photos_of_succeeded(json.loads(body), "SUCCEEDED_0.json")

    assert photo == PhotoResult(
        PHOTO_PREFIX + "a.png",
        BUCKET,
        None,
        None,
        PhotoAnswer(PHOTO_PREFIX + "a.png", datetime(2026, 12, 1, 9, 30, tzinfo=UTC), (0.2, 0.8)),
        "SUCCEEDED_0.json",
    )
    assert (photo.label, photo.answer.label, photo.answer.confidence) == ("motorcycle", "motorcycle", 0.8)


def test_a_failed_childs_photos_each_get_its_error():
    photos = photos_of_failed(
        [{"Input": json.dumps({"Items": [item("e.png"), item("f.png")]}), "Error": "States.Timeout"}],
        "FAILED_0.json",
        "FAILED",
    )
    assert [(p.key, p.error, p.answer, p.label) for p in photos] == [
        (PHOTO_PREFIX + "e.png", "States.Timeout", None, None),
        (PHOTO_PREFIX + "f.png", "States.Timeout", None, None),
    ]
    # a PENDING child has no Error: its status names it
    (pending,) = photos_of_failed(
        [{"Input": json.dumps({"Items": [item("g.png")]})}], "PENDING_0.json", "PENDING"
    )
    assert pending.error == "PENDING"


def test_a_folder_marker_is_no_photo_in_any_result_file():
    """The batch skips a folder marker and its summary counts it apart (folder_markers): the
    report's counts agree with the summary only when the reader skips it too."""
    marker = {"Key": PHOTO_PREFIX, "Size": 0}
    succeeded = [
        {
            "Input": json.dumps({"Items": [marker, item("a.png")]}),
            "Output": json.dumps(
                [
                    {"item": marker, "error": "FolderMarker", "cause": "a folder marker, no photo"},
                    {"item": item("a.png"), "error": "NotAnImage", "cause": "a.png is not an image"},
                ]
            ),
            "StopDate": "2025-01-02T03:04:05Z",
        }
    ]
    assert [p.key for p in photos_of_succeeded(succeeded, "SUCCEEDED_0.json")] == [PHOTO_PREFIX + "a.png"]
    failed = [{"Input": json.dumps({"Items": [marker, item("b.png")]}), "Error": "States.Timeout"}]
    assert [p.key for p in photos_of_failed(failed, "FAILED_0.json", "FAILED")] == [PHOTO_PREFIX + "b.png"]


@pytest.mark.parametrize(
    "cause",
    [
        LOCAL_CAUSE,  # the local stack: the message itself
        json.dumps(  # AWS: Lambda's error JSON
            {"errorMessage": LOCAL_CAUSE, "errorType": REFUSED, "requestId": "r", "stackTrace": ["  File x"]}
        ),
    ],
    ids=["local stack", "AWS"],
)
def test_a_refusals_cause_gives_its_probabilities_and_threshold(cause):
    assert refusal_probabilities(cause) == (0.29435232281684875, 0.7056476473808289)
    assert refusal_threshold(cause) == 0.93
    assert error_message(cause) == LOCAL_CAUSE


@pytest.mark.parametrize(
    "cause",
    [None, "", "something else", "(inferences [0.5])", "(inferences [0.9, 0.9])", "(inferences [x, y])"],
)
def test_a_cause_without_usable_probabilities_gives_none(cause):
    assert refusal_probabilities(cause) is None


def test_the_threshold_is_the_refusals_when_they_agree():
    def refused(threshold: str) -> PhotoResult:
        return PhotoResult(
            "k", None, REFUSED, f"below the threshold {threshold} (inferences [0.5, 0.5])", None, "f"
        )

    answered_photo = PhotoResult("a", None, None, None, None, "f")
    assert batch_threshold([refused("0.9000"), refused("0.9000"), answered_photo]) == 0.9
    assert batch_threshold([refused("0.9000"), refused("0.8000")]) is None  # two stacks' results?
    assert batch_threshold([answered_photo]) is None


def test_a_batch_photo_is_an_answer_the_summary_counts():
    answer: answers.Answer = PhotoAnswer("k", datetime(2026, 12, 1, tzinfo=UTC), (0.3, 0.7))
    summary = CaptureSummary(threshold=0.93)
    summary.add(answer)
    assert (answer.label_index, answer.label, answer.confidence) == (1, "motorcycle", 0.7)
    assert (summary.records, summary.counts, summary.below, summary.least_confident_event) == (
        1,
        [0, 1],
        1,
        "k",
    )


def test_the_least_confident_photos_come_first_refusals_included():
    photos = photos_of_succeeded(fixture_json("SUCCEEDED_0.json"), "SUCCEEDED_0.json")
    least = least_confident(photos, 3)
    assert [p.key.removeprefix(PHOTO_PREFIX) for p in least] == [
        "bicycle_s_001681.png",
        "dirt_bike_s_000005.png",
        "bicycle_s_000159.png",
    ]
    assert all(p.refused for p in least)


@pytest.mark.parametrize(
    "manifest",
    [{}, {"ResultFiles": None}, {"ResultFiles": {"SUCCEEDED": [{"Size": 1}]}}, [], "text"],
)
def test_a_manifest_without_result_files_is_malformed(manifest):
    with pytest.raises(BatchResultsMalformed, match=r"manifest\.json lists no ResultFiles"):
        result_file_names(manifest)


def test_result_files_are_named_as_they_lie_beside_the_manifest():
    assert result_file_names(fixture_json("manifest.json")) == {
        "SUCCEEDED": ["SUCCEEDED_0.json"],
        "FAILED": [],
        "PENDING": [],
    }


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        ([], "no JSON object"),
        ({"photos": 1}, "lacks answered, labels, refused, errors"),
        ({"photos": 1, "answered": 1, "labels": [], "refused": 0, "errors": {}}, "labels and errors"),
        ({"photos": "1", "answered": 1, "labels": {}, "refused": 0, "errors": {}}, "whole numbers"),
        (
            {"photos": 1, "answered": 1, "labels": {"bicycle": 0.5}, "refused": 0, "errors": {}},
            "whole numbers",
        ),
    ],
)
def test_a_summary_that_summarize_batch_did_not_write_is_malformed(summary, message):
    with pytest.raises(BatchResultsMalformed, match=message):
        check_summary(summary)


@pytest.mark.parametrize(
    ("children", "message"),
    [
        ({}, "no JSON array of child executions"),
        ([{"Output": "{not json", "StopDate": "2026-12-01T00:00:00Z"}], "its Output is not JSON"),
        ([{"Output": "[]"}], "no StopDate or StartDate"),
        ([{"Output": "[{}]", "StopDate": "2026-12-01T00:00:00Z"}], "without its item's Key"),
        ([{"Output": '[{"item": {"Key": "k"}}]', "StopDate": "2026-12-01T00:00:00Z"}], "neither an answer"),
        (
            [
                {
                    "Output": '[{"item": {"Key": "k"}, "answer": {"label": "bicycle"}}]',
                    "StopDate": "2026-12-01T09:30:00Z",
                }
            ],
            "the answer's inferences: expected a list of 2",
        ),
        (
            [
                {
                    "Output": '[{"item": {"Key": "k"}, "answer": {"inferences": [0.9]}}]',
                    "StopDate": "2026-12-01",
                }
            ],
            "the answer's inferences",
        ),
    ],
)
def test_a_result_file_that_the_result_writer_did_not_write_is_malformed(children, message):
    with pytest.raises(BatchResultsMalformed, match=message):
        photos_of_succeeded(children, "SUCCEEDED_0.json")


# -- where the results are read from ------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (f"s3://b/{RESULTS_PREFIX}summary.json", ("b", RESULTS_PREFIX)),
        (f"s3://b/{RESULTS_PREFIX}manifest.json", ("b", RESULTS_PREFIX)),
        (f"s3://b/{RESULTS_PREFIX}", ("b", RESULTS_PREFIX)),
        (f"s3://b/{RESULTS_PREFIX}".rstrip("/"), ("b", RESULTS_PREFIX)),
        ("s3://b", ("b", "")),
    ],
)
def test_an_s3_location_is_the_results_folder(uri, expected):
    assert parse_batch_uri(uri) == expected


def test_a_local_copy_is_read_from_the_folder_or_its_summary():
    for spec in (FIXTURE, FIXTURE / "summary.json"):
        batch = read_batch(open_batch_folder(str(spec)))
        assert (batch.location, len(batch.photos), batch.files_read) == (str(FIXTURE), 41, 1)
        assert batch.summary == fixture_json("summary.json")
        assert [p.key for p in batch.photos] == sorted(p.key for p in batch.photos)


def test_a_failed_childs_photos_are_read_beside_the_answered_ones(mixed_run):
    batch = read_batch(LocalBatchFolder(mixed_run))
    assert [(p.key.removeprefix(PHOTO_PREFIX), p.label or p.error) for p in batch.photos] == [
        ("a.png", "bicycle"),
        ("b.png", "motorcycle"),
        ("c.png", REFUSED),
        ("d.txt", "NotAnImage"),
        ("e.png", "States.Timeout"),
        ("f.png", "States.Timeout"),
    ]
    assert batch.files_read == 2
    assert disagreements(batch.summary, batch.photos) == []


# -- the report ---------------------------------------------------------------------------------


def test_the_report_of_the_real_run(tmp_path, capsys):
    out = tmp_path / "report"
    assert report(FIXTURE / "summary.json", out) == 0

    summary = json.loads((out / "summary.json").read_text())
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out / "report.html")
    assert captured.err.splitlines() == [
        f"summary: {out / 'summary.json'}",
        "batch: 41 photos, 22 answered (bicycle 7, motorcycle 15), 18 refused, errors: NotAnImage 1; "
        f"accuracy 1.0, coverage 0.55 ({FIXTURE})",
    ]
    # the capture report's numbers, from the 40 photos the model answered (refusals included)
    assert summary["kind"] == "batch"
    assert summary["records"] == 40
    assert summary["counts_per_class"] == {"bicycle": 17, "motorcycle": 23}
    assert summary["threshold"] == 0.93
    assert summary["below_threshold"] == {"count": 18, "share": 0.45}  # the refusals, exactly
    assert summary["confidence"]["least_confident_event_id"] == PHOTO_PREFIX + "bicycle_s_001681.png"
    # the batch section: summary.json's own counts and scores, and the result files agree with them
    batch = summary["batch"]
    own = fixture_json("summary.json")
    assert {k: batch[k] for k in ("photos", "answered", "labels", "refused", "errors", "expected")} == {
        k: own[k] for k in ("photos", "answered", "labels", "refused", "errors", "expected")
    }
    assert batch["disagreements"] == []
    assert batch["refused_without_probabilities"] == 0
    assert batch["threshold"]["source"].startswith("the refusals' causes")
    assert [p["error"] for p in batch["errored_photos"]] == ["NotAnImage"]
    assert batch["gallery"] == {"least_confident": 12, "shown": 0}  # a local copy holds no photos
    assert summary["least_confident"][0] | {"probabilities": None} == {
        "key": PHOTO_PREFIX + "bicycle_s_001681.png",
        "s3_uri": f"s3://{BUCKET}/{PHOTO_PREFIX}bicycle_s_001681.png",
        "outcome": "refused",
        "model_label": "bicycle",
        "confidence": pytest.approx(0.5217, abs=1e-4),
        "probabilities": None,
        "result_file": "SUCCEEDED_0.json",
    }
    # the same plots as a capture's, and the batch's outcomes
    assert summary["outputs"]["plots"] == [
        "batch_outcomes.png",
        "confidence_over_time.png",
        "confidence_histogram.png",
        "predictions_per_hour.png",
        "below_threshold_share.png",
    ]
    for name in [*summary["outputs"]["plots"], "gallery.png"]:
        assert (out / name).read_bytes().startswith(b"\x89PNG")
    page = (out / "report.html").read_text()
    for text in (
        "BatchClassify: how did the model answer the batch?",
        "<h2>Batch</h2>",
        "Against the expected labels",
        '<th>bicycle</th><td class="num">7</td><td class="num">0</td><td class="num">13</td>',
        "coverage (answered among the labelled)</th><td>55.00%",
        "refused (bicycle)",
        "not_an_image.txt",
        "Confidence per predicted class",
    ):
        assert text in page, text
    assert "Skipped" not in page and "malformed lines" not in page


def test_a_failed_child_and_an_explicit_threshold(mixed_run, tmp_path, capsys):
    out = tmp_path / "report"
    assert report(mixed_run, out, "--threshold", "0.5") == 0

    summary = json.loads((out / "summary.json").read_text())
    assert summary["records"] == 3  # a, b and the refusal c: the others have no answer
    assert summary["threshold"] == 0.5
    assert summary["below_threshold"]["count"] == 0
    assert summary["batch"]["threshold"] == {"value": 0.5, "source": "--threshold"}
    assert summary["batch"]["errors"] == {"NotAnImage": 1, "States.Timeout": 2}
    assert [p["key"] for p in summary["batch"]["errored_photos"]] == [
        PHOTO_PREFIX + name for name in ("d.txt", "e.png", "f.png")
    ]
    assert "expected" not in summary["batch"]
    assert "States.Timeout 2" in capsys.readouterr().err
    assert "Against the expected labels" not in (out / "report.html").read_text()


@pytest.mark.parametrize("photos", [0, 2], ids=["an empty prefix", "every photo failed"])
def test_a_batch_without_answers_still_has_its_report(tmp_path, capsys, photos):
    children = [failed_child(["e.png", "f.png"])] if photos else []
    errors = {"States.Timeout": 2} if photos else {}
    summary = {"photos": photos, "answered": 0, "labels": {"bicycle": 0, "motorcycle": 0}, "refused": 0}
    run = write_run(tmp_path / "run", children, summary | {"errors": errors})
    out = tmp_path / "report"

    assert report(run, out, "--baseline", str(baseline_path_for(MODEL_PATH))) == 0

    written = json.loads((out / "summary.json").read_text())
    assert (written["records"], written["batch"]["photos"], written["batch"]["errors"]) == (0, photos, errors)
    assert "drift" not in written
    assert "drift: not checked, the batch has no answers" in capsys.readouterr().err
    assert written["batch"]["threshold"]["source"] == "the template's default ConfidenceThreshold"


def test_the_threshold_drawn_is_the_given_then_the_stacks_then_the_templates():
    assert threshold_used(0.5, 0.9)["value"] == 0.5
    assert threshold_used(None, 0.9) == {
        "value": 0.9,
        "source": "the refusals' causes (the stack's ConfidenceThreshold)",
    }
    assert threshold_used(None, None)["value"] == DEFAULT_THRESHOLD


def test_a_summary_that_disagrees_with_the_result_files_is_said(mixed_run, tmp_path, capsys):
    summary = json.loads((mixed_run / "summary.json").read_text())
    (mixed_run / "summary.json").write_text(json.dumps(summary | {"refused": 5}))

    assert report(mixed_run, tmp_path / "report") == 0

    written = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert written["batch"]["disagreements"] == ["refused: summary.json 5, result files 1"]
    assert "summary.json and the result files DISAGREE" in capsys.readouterr().err
    assert "summary.json and the result files disagree" in (tmp_path / "report" / "report.html").read_text()


def test_drift_against_the_baseline_reads_the_batchs_answers(tmp_path, capsys):
    """The samples through the shipped model: docs/monitoring.md's capture of them as they are says ok."""
    out = tmp_path / "report"
    assert report(FIXTURE, out, "--baseline", str(baseline_path_for(MODEL_PATH))) == 0

    drift = json.loads((out / "summary.json").read_text())["drift"]
    assert drift["records"] == 40
    assert drift["verdict"] == "ok"
    assert (out / "drift.png").exists()
    assert "drift: ok" in capsys.readouterr().err
    assert "40 answers of the batch against" in (out / "report.html").read_text()


@mock_aws
def test_from_s3_with_the_least_confident_photos_shown(tmp_path, capsys):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    for path in FIXTURE.iterdir():
        s3.put_object(Bucket=BUCKET, Key=RESULTS_PREFIX + path.name, Body=path.read_bytes())
    shown = ["bicycle_s_001681.png", "dirt_bike_s_000005.png", "bicycle_s_000159.png"]
    for name in shown:
        s3.put_object(Bucket=BUCKET, Key=PHOTO_PREFIX + name, Body=(SAMPLES / name).read_bytes())
    s3.put_object(Bucket=BUCKET, Key=PHOTO_PREFIX + "bicycle_s_000035.png", Body=b"not an image")

    for spec in (f"s3://{BUCKET}/{RESULTS_PREFIX}summary.json", f"s3://{BUCKET}/{RESULTS_PREFIX}"):
        out = tmp_path / spec.rstrip("/").rpartition("/")[2]
        assert report(spec, out, "--gallery-size", "4") == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["source"] == f"s3://{BUCKET}/{RESULTS_PREFIX}"
        assert summary["batch"]["photos"] == 41
        assert summary["batch"]["gallery"] == {"least_confident": 4, "shown": 3}  # one is no image
        page = (out / "report.html").read_text()
        assert f"<code>{PHOTO_PREFIX}bicycle_s_001681.png</code>" in page  # the gallery's table
        assert 'class="thumb"' in page
    capsys.readouterr()


@mock_aws
@pytest.mark.parametrize(
    ("objects", "spec", "expected"),
    [
        (
            {},
            f"s3://{BUCKET}/{RESULTS_PREFIX}",
            "summary.json does not exist (NoSuchKey): not a BatchClassify",
        ),
        ({}, f"s3://no-such-bucket/{RESULTS_PREFIX}", "does not exist (NoSuchBucket): not a BatchClassify"),
        ({"manifest.json": b"{}"}, f"s3://{BUCKET}/{RESULTS_PREFIX}", "SummarizeBatch has not written it"),
        (
            {"summary.json": b"{oops", "manifest.json": b"{}"},
            f"s3://{BUCKET}/{RESULTS_PREFIX}",
            "is not JSON",
        ),
        ({"summary.json": b"\xff\xfe"}, f"s3://{BUCKET}/{RESULTS_PREFIX}", "is not UTF-8 text"),
    ],
    ids=["empty folder", "no bucket", "no summary yet", "malformed summary", "binary summary"],
)
def test_s3_locations_that_hold_no_batch_are_one_line_and_exit_1(tmp_path, capsys, objects, spec, expected):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    for name, body in objects.items():
        s3.put_object(Bucket=BUCKET, Key=RESULTS_PREFIX + name, Body=body)

    assert report(spec, tmp_path / "out") == 1

    err = capsys.readouterr().err
    assert err.startswith("monitoring: ") and expected in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def _copy(tmp_path: Path, drop: str = "", replace: dict[str, str] | None = None) -> Path:
    folder = tmp_path / "copy"
    shutil.copytree(FIXTURE, folder)
    if drop:
        (folder / drop).unlink()
    for name, text in (replace or {}).items():
        (folder / name).write_text(text)
    return folder


@pytest.mark.parametrize(
    ("setup", "expected", "error"),
    [
        ("missing folder", "batch results folder not found", BatchResultsNotFound),
        (
            "a capture folder",
            "summary.json does not exist: not a BatchClassify results folder",
            BatchResultsNotFound,
        ),
        ("no summary", "SummarizeBatch has not written it", BatchResultsNotFound),
        ("no manifest", "manifest.json does not exist", BatchResultsNotFound),
        ("a listed file missing", "SUCCEEDED_0.json does not exist", BatchResultsNotFound),
        ("malformed summary", "summary.json is not JSON", BatchResultsMalformed),
        ("malformed result file", "SUCCEEDED_0.json is not JSON", BatchResultsMalformed),
        ("a summary of something else", "lacks photos, answered", BatchResultsMalformed),
    ],
)
def test_local_folders_that_hold_no_batch_are_one_line_and_exit_1(tmp_path, capsys, setup, expected, error):
    folder = {
        "missing folder": lambda: tmp_path / "nope",
        "a capture folder": lambda: (tmp_path / "capture").mkdir() or tmp_path / "capture",
        "no summary": lambda: _copy(tmp_path, drop="summary.json"),
        "no manifest": lambda: _copy(tmp_path, drop="manifest.json"),
        "a listed file missing": lambda: _copy(tmp_path, drop="SUCCEEDED_0.json"),
        "malformed summary": lambda: _copy(tmp_path, replace={"summary.json": "{"}),
        "malformed result file": lambda: _copy(tmp_path, replace={"SUCCEEDED_0.json": "[{"}),
        "a summary of something else": lambda: _copy(tmp_path, replace={"summary.json": '{"records": 3}'}),
    }[setup]()
    out = tmp_path / "out"

    assert report(folder, out) == 1

    err = capsys.readouterr().err
    assert err.startswith("monitoring: ") and expected in err and err.count("\n") == 1
    assert not out.exists()  # nothing written, nothing half-written
    with pytest.raises(error):
        read_batch(open_batch_folder(str(folder)))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--batch", "b", "--capture", "c"], "not allowed with argument"),
        (["--batch", "s3://"], "not an s3://bucket/prefix URI"),
        (["--batch", "b", "--reviewed", "r"], "--reviewed and --reviewed-from-stack go with --capture"),
        (["--batch", "b", "--reviewed-from-stack"], "go with --capture"),
        ([], "one of the arguments --capture --batch is required"),
        (["--batch", "o/summary.json"], "--out is the batch's own folder"),
        (["--batch", "o"], "--out is the batch's own folder"),
    ],
)
def test_usage_errors_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["report", *argv, "--out", "o"])
    assert caught.value.code == 2
    assert message in capsys.readouterr().err
