"""The report's reviews section, from a reviewed data set written by ``review.dataset`` itself (the
code ``python -m review decide`` runs): requested, completed, agreement per class, and the model's
confidence on the photos people corrected."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from monitoring.cli import main
from review import dataset
from review.exceptions import VerdictAlreadyGiven
from review.verdicts import PendingReview

BUCKET = "scones-images"
REVIEWED = f"s3://{BUCKET}/reviewed/"
STACK = "scones-vehicle-classifier"

# (review id, the model's label, its confidence, the reviewer's verdict)
VERDICTS = [
    ("r-1", "bicycle", 0.62, "bicycle"),
    ("r-2", "bicycle", 0.71, "motorcycle"),
    ("r-3", "motorcycle", 0.55, "motorcycle"),
    ("r-4", "motorcycle", 0.90, "bicycle"),
    ("r-5", "bicycle", 0.51, "neither"),
]


def review_of(review_id: str, model_label: str, confidence: float) -> PendingReview:
    probabilities = [confidence, 1 - confidence] if model_label == "bicycle" else [1 - confidence, confidence]
    return PendingReview(
        id=review_id,
        execution_id=f"arn:aws:states:us-east-1:123456789012:execution:ClassifyImage:{review_id}",
        s3_bucket=BUCKET,
        s3_key=f"incoming/{review_id}.png",
        label=model_label,
        confidence=confidence,
        inferences=probabilities,
        task_token="token",
        receipt_handle="handle",
    )


@pytest.fixture
def reviewed_set(aws_credentials, pngs):
    """The five verdicts above written by review.dataset into moto's S3, r-2 decided twice."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        for minute, (review_id, label, confidence, verdict) in enumerate([*VERDICTS, VERDICTS[1]]):
            review = review_of(review_id, label, confidence)
            s3.put_object(Bucket=BUCKET, Key=review.s3_key, Body=pngs[minute % len(pngs)])
            when = datetime(2026, 11, 25, 14, minute, tzinfo=UTC)
            dataset.add_verdict(s3, BUCKET, "reviewed/", review, verdict, when)
        yield s3


@pytest.fixture
def capture(tmp_path, make_record):
    """Six answers, four below the threshold 0.93."""
    root = tmp_path / "capture" / "ep" / "AllTraffic" / "2026" / "11" / "25" / "12"
    root.mkdir(parents=True)
    answers = [[0.62, 0.38], [0.71, 0.29], [0.45, 0.55], [0.10, 0.90], [0.97, 0.03], [0.01, 0.99]]
    lines = [
        json.dumps(make_record(p, when=f"2026-11-25T12:{i:02d}:00Z", event_id=f"e-{i}"))
        for i, p in enumerate(answers)
    ]
    (root / "a.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path / "capture"


def report(capture, out, *extra: str) -> dict:
    assert main(["report", "--capture", str(capture), "--out", str(out), "--no-progress", *extra]) == 0
    return json.loads((out / "summary.json").read_text())


def test_the_reviews_section_from_a_set_the_review_code_wrote(reviewed_set, capture, tmp_path, capsys):
    reviews = report(capture, tmp_path / "out", "--reviewed", REVIEWED)["reviews"]

    assert reviews["location"] == REVIEWED
    assert reviews["requested"]["count"] == 4  # the capture's answers below 0.93
    assert reviews["completed"] == 5  # r-2's second decide left one record
    assert reviews["verdicts"] == {"bicycle": 2, "motorcycle": 2, "neither": 1}
    assert reviews["decided"] == {"first": "2026-11-25T14:00:00Z", "last": "2026-11-25T14:04:00Z"}
    assert reviews["agreement"] == {
        "overall": {"reviewed": 5, "agreed": 2, "share": 0.4},
        "per_class": {
            "bicycle": {"reviewed": 3, "agreed": 1, "share": pytest.approx(1 / 3)},
            "motorcycle": {"reviewed": 2, "agreed": 1, "share": 0.5},
        },
    }
    corrected = reviews["corrected"]
    assert corrected["count"] == 2
    assert corrected["confidence"] == {"min": 0.71, "mean": pytest.approx(0.805), "max": 0.90}
    assert [(p["id"], p["model_label"], p["verdict"]) for p in corrected["photos"]] == [
        ("r-4", "motorcycle", "bicycle"),
        ("r-2", "bicycle", "motorcycle"),
    ]
    assert corrected["photos"][0]["s3_uri"] == f"s3://{BUCKET}/incoming/r-4.png"
    assert reviews["rejected"] == {"count": 1, "confidence": {"min": 0.51, "mean": 0.51, "max": 0.51}}
    assert reviews["labels_in_set"] == {"bicycle": 2, "motorcycle": 2}
    assert reviews["labels_without_record"] == 0

    page = (tmp_path / "out" / "report.html").read_text()
    assert "<h2>Reviews (LowConfidenceAction Review)</h2>" in page
    assert "<td>1 of 3 (33%)</td>" in page  # the model said bicycle
    assert "2; the model&#x27;s confidence 0.7100 to 0.9000, mean 0.8050" in page
    assert page.index("<code>r-4</code>") < page.index("<code>r-2</code>")
    err = capsys.readouterr().err
    assert (
        "reviews: 4 requested (capture), 5 completed, reviewer agreed with the model 40%, 2 corrected "
        f"({REVIEWED})" in err
    )


def test_a_local_copy_of_the_set_reads_the_same(reviewed_set, capture, tmp_path):
    local = tmp_path / "reviewed"
    local.mkdir()
    for name in (dataset.VERDICTS_NAME, dataset.LST_NAME):
        (local / name).write_bytes(
            reviewed_set.get_object(Bucket=BUCKET, Key=f"reviewed/{name}")["Body"].read()
        )

    from_s3 = report(capture, tmp_path / "a", "--reviewed", REVIEWED)["reviews"]
    from_folder = report(capture, tmp_path / "b", "--reviewed", str(local))["reviews"]

    assert from_folder == from_s3 | {"location": str(local)}


def test_the_set_is_found_in_the_stack_outputs(reviewed_set, capture, tmp_path):
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ReviewedDataLocation": {"Value": REVIEWED}},
    }
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName=STACK, TemplateBody=json.dumps(template)
    )

    assert report(capture, tmp_path / "out", "--reviewed-from-stack")["reviews"]["completed"] == 5


def test_a_verdict_given_twice_leaves_the_records_as_they_were(reviewed_set):
    before = reviewed_set.get_object(Bucket=BUCKET, Key="reviewed/verdicts.jsonl")
    review = review_of("r-3", "motorcycle", 0.55)

    dataset.add_verdict(
        reviewed_set, BUCKET, "reviewed/", review, "motorcycle", datetime(2027, 1, 1, tzinfo=UTC)
    )

    after = reviewed_set.get_object(Bucket=BUCKET, Key="reviewed/verdicts.jsonl")
    assert after["ETag"] == before["ETag"]  # not even rewritten: the first decided_at stays
    # a review is decided once: another verdict is refused by name and changes nothing
    with pytest.raises(VerdictAlreadyGiven, match="r-3 was decided 'motorcycle'"):
        dataset.add_verdict(
            reviewed_set, BUCKET, "reviewed/", review, "neither", datetime(2027, 1, 1, tzinfo=UTC)
        )
    records = dataset.read_verdicts(reviewed_set, BUCKET, "reviewed/")
    assert [r["id"] for r in records] == ["r-1", "r-2", "r-3", "r-4", "r-5"]
    assert (records[2]["verdict"], records[2]["image"]) == ("motorcycle", "r-3.png")
    assert reviewed_set.get_object(Bucket=BUCKET, Key="reviewed/verdicts.jsonl")["ETag"] == before["ETag"]
    assert "r-3.png" in [e.path for e in dataset.read_entries(reviewed_set, BUCKET, "reviewed/")]


def test_an_older_set_without_records_counts_its_labels_only(aws_credentials, capture, tmp_path):
    older = tmp_path / "older"
    older.mkdir()
    (older / "reviewed.lst").write_text("0\t0\ta.png\n1\t1\tb.png\n")

    reviews = report(capture, tmp_path / "out", "--reviewed", str(older))["reviews"]

    assert (reviews["completed"], reviews["labels_without_record"]) == (0, 2)
    assert reviews["agreement"]["overall"] == {"reviewed": 0, "agreed": 0, "share": None}
    assert "no verdicts" in (tmp_path / "out" / "report.html").read_text()


def test_without_reviewed_the_report_has_no_reviews(capture, tmp_path):
    summary = report(capture, tmp_path / "out")
    assert "reviews" not in summary
    assert "Reviews (" not in (tmp_path / "out" / "report.html").read_text()


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing folder", "reviewed data set folder not found"),
        ("malformed records", "is malformed"),
        ("record without verdict", "verdicts.jsonl line 1 lacks verdict"),
        ("no such bucket", "cannot read s3://no-such-bucket/reviewed/verdicts.jsonl"),
        ("no such stack", "cannot find the reviewed data set: stack nope"),
    ],
)
def test_an_unreadable_set_is_one_line_and_exit_1(
    aws_credentials, capture, tmp_path, capsys, setup, expected
):
    folder = tmp_path / "set"
    folder.mkdir()
    if setup == "malformed records":
        (folder / "verdicts.jsonl").write_text("{not json\n")
    if setup == "record without verdict":
        (folder / "verdicts.jsonl").write_text(
            '{"id": "r", "model_label": "bicycle", "confidence": 0.6, "decided_at": "x"}\n'
        )
    option = {
        "missing folder": ["--reviewed", str(tmp_path / "nope")],
        "no such bucket": ["--reviewed", "s3://no-such-bucket/reviewed/"],
        "no such stack": ["--reviewed-from-stack", "nope"],
    }.get(setup, ["--reviewed", str(folder)])

    with mock_aws():
        code = main(
            ["report", "--capture", str(capture), "--out", str(tmp_path / "out"), "--no-progress", *option]
        )

    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("monitoring: ") and expected in err and err.count("\n") == 1
    assert not (tmp_path / "out" / "summary.json").exists()


def test_reviewed_and_reviewed_from_stack_are_exclusive(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["report", "--capture", "c", "--out", "o", "--reviewed", "d", "--reviewed-from-stack"])
    assert caught.value.code == 2
    assert "argument --reviewed-from-stack: not allowed with argument --reviewed" in capsys.readouterr().err
