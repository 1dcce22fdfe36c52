"""The reviewed data set under reviewers at the same instant, in moto's S3 in this process with the
local S3's conditional-writes patch (threads; ``tests/integration/test_concurrent_verdicts.py``
runs processes against the local S3 server): every verdict kept, one review decided once, names
that hold no separator, a poisoned line named and skipped."""

from __future__ import annotations

import io
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from PIL import Image

from local_stack.aws import moto_patches
from monitoring.reviews import read_reviewed_set
from review import dataset
from review.exceptions import ReviewedSetBusy, UnsafeImageName, VerdictAlreadyGiven
from review.verdicts import PendingReview
from scones_core.lst import parse_lst
from scones_core.reviewed_dataset import read_reviewed_lst
from training_job.staging import read_reviewed

BUCKET = "photos"
PREFIX = "reviewed/"
REVIEWERS = 8
ROUNDS = 10
# a barrier's wait: far above the milliseconds it takes for every thread to arrive
BARRIER_SECONDS = 120


def image_bytes(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format=kind)
    return out.getvalue()


PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")


def review_of(review_id: str, key: str | None = None) -> PendingReview:
    return PendingReview(
        id=review_id,
        execution_id=f"arn:aws:states:us-east-1:123456789012:execution:sm:{review_id}",
        s3_bucket=BUCKET,
        s3_key=key or f"incoming/{review_id}.png",
        label="bicycle",
        confidence=0.6,
        inferences=[0.6, 0.4],
        task_token="token",
        receipt_handle="handle",
    )


@pytest.fixture
def conditional_writes_atomic():
    """The local S3's server patches, as its process has them (taken back if this test put them)."""
    had_any = bool(moto_patches.installed())
    moto_patches.install("server")
    yield
    if not had_any:
        moto_patches.uninstall()


@pytest.fixture
def s3(conditional_writes_atomic):
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def put_photos(s3, ids: list[str]) -> None:
    for review_id in ids:
        s3.put_object(Bucket=BUCKET, Key=f"incoming/{review_id}.png", Body=PNG)


def lst_text(s3) -> str:
    return s3.get_object(Bucket=BUCKET, Key=PREFIX + "reviewed.lst")["Body"].read().decode()


def etags(s3) -> list[str]:
    names = ("reviewed.lst", "verdicts.jsonl")
    return [s3.get_object(Bucket=BUCKET, Key=PREFIX + name)["ETag"] for name in names]


def at_once(calls: list) -> list:
    """Run ``calls`` in threads released together; each one's result, or the exception it raised."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(BARRIER_SECONDS)
        try:
            return call()
        except Exception as error:  # the test reads it
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_eight_reviewers_at_once_keep_every_line_and_record(s3):
    ids = [f"r-{round_}-{reviewer}" for round_ in range(ROUNDS) for reviewer in range(REVIEWERS)]
    put_photos(s3, ids)
    clients = [boto3.client("s3", region_name="us-east-1") for _ in range(REVIEWERS)]

    for round_ in range(ROUNDS):
        results = at_once(
            [
                lambda c=clients[n], i=f"r-{round_}-{n}", v=("bicycle", "motorcycle", "neither")[n % 3]: (
                    dataset.add_verdict(c, BUCKET, PREFIX, review_of(i), v)
                )
                for n in range(REVIEWERS)
            ]
        )
        assert not [r for r in results if isinstance(r, Exception)], results

    entries = parse_lst(lst_text(s3))
    records = dataset.read_verdicts(s3, BUCKET, PREFIX)
    labelled = [i for i in ids if int(i.rsplit("-", 1)[1]) % 3 != 2]
    assert sorted(e.path for e in entries) == sorted(f"{i}.png" for i in labelled)
    assert sorted(e.index for e in entries) == list(range(len(labelled)))  # no index given twice
    assert sorted(r["id"] for r in records) == sorted(ids)  # all 80, neither included
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX + "images/")["Contents"]
    assert len(listed) == len(labelled)


def test_one_review_decided_twice_at_once_keeps_the_first_verdict_only(s3):
    for round_ in range(ROUNDS):
        review = review_of(f"twice-{round_}")
        put_photos(s3, [review.id])
        clients = [boto3.client("s3", region_name="us-east-1") for _ in range(2)]

        results = at_once(
            [
                lambda c=clients[0], r=review: dataset.add_verdict(c, BUCKET, PREFIX, r, "bicycle"),
                lambda c=clients[1], r=review: dataset.add_verdict(c, BUCKET, PREFIX, r, "motorcycle"),
            ]
        )

        refused = [r for r in results if isinstance(r, VerdictAlreadyGiven)]
        assert len(refused) == 1, results
        winner = ("bicycle", "motorcycle")[results.index(next(r for r in results if isinstance(r, str)))]
        [record] = [r for r in dataset.read_verdicts(s3, BUCKET, PREFIX) if r["id"] == review.id]
        assert record["verdict"] == winner
        [entry] = [e for e in parse_lst(lst_text(s3)) if e.path == f"{review.id}.png"]
        assert entry.label == ("bicycle", "motorcycle").index(winner)


def test_another_verdict_later_is_refused_by_name_and_changes_nothing(s3):
    review = review_of("r-1")
    put_photos(s3, [review.id])
    dataset.add_verdict(s3, BUCKET, PREFIX, review, "bicycle", datetime(2026, 1, 1, tzinfo=UTC))
    before = etags(s3)

    with pytest.raises(VerdictAlreadyGiven, match=r"r-1 was decided 'bicycle'.*'neither' refused"):
        dataset.add_verdict(s3, BUCKET, PREFIX, review, "neither")
    # the same verdict again is no error, and rewrites nothing
    assert dataset.add_verdict(s3, BUCKET, PREFIX, review, "bicycle") == f"{PREFIX}images/r-1.png"

    assert etags(s3) == before


def test_a_decide_that_died_after_its_record_is_completed_by_the_same_verdict(s3):
    review = review_of("r-1")
    put_photos(s3, [review.id])
    record = dataset.verdict_record(review, "motorcycle", "r-1.png", datetime(2026, 1, 1, tzinfo=UTC))
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "verdicts.jsonl", Body=json.dumps(record) + "\n")

    dataset.add_verdict(s3, BUCKET, PREFIX, review, "motorcycle")

    assert [(e.label, e.path) for e in parse_lst(lst_text(s3))] == [(1, "r-1.png")]
    assert s3.get_object(Bucket=BUCKET, Key=PREFIX + "images/r-1.png")["Body"].read() == PNG


@pytest.mark.parametrize(
    ("key", "body", "content_type", "name"),
    [
        ("images/poison/photo.p\tng", PNG, "binary/octet-stream", "r-1.png"),
        ("images/poison/photo.png\n0\t1\tx.png", PNG, "binary/octet-stream", "r-1.png"),
        ("images/looks.png", JPEG, "image/png", "r-1.jpg"),  # the bytes say JPEG
        ("images/no-extension", b"not an image", "image/jpeg", "r-1.jpg"),  # S3's Content-Type
        ("images/unknown.txt", b"plain text", "text/plain", "r-1.img"),
    ],
)
def test_the_images_name_is_the_id_and_its_real_format_never_the_keys_text(s3, key, body, content_type, name):
    s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType=content_type)

    written = dataset.add_verdict(s3, BUCKET, PREFIX, review_of("r-1", key), "bicycle")

    assert written == f"{PREFIX}images/{name}"
    assert [(e.label, e.path) for e in parse_lst(lst_text(s3))] == [(0, name)]  # the strict parse
    [record] = dataset.read_verdicts(s3, BUCKET, PREFIX)
    assert (record["image"], record["s3_uri"]) == (name, f"s3://{BUCKET}/{key}")


def test_an_id_that_cannot_name_a_file_is_refused_before_anything_is_written(s3):
    review = review_of("bad\tid", "incoming/a.png")
    put_photos(s3, ["a"])

    with pytest.raises(UnsafeImageName, match="cannot name a file"):
        dataset.add_verdict(s3, BUCKET, PREFIX, review, "bicycle")

    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)


POISONED = "0\t0\tr-0.png\n1\t1\told.p\tng\n2\t0\t../escape.png\n"


def test_a_poisoned_lst_line_is_named_and_skipped_and_kept_for_no_reader_to_trip_on(s3, caplog, tmp_path):
    put_photos(s3, ["r-0", "r-1"])
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "images/r-0.png", Body=PNG)
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "reviewed.lst", Body=POISONED.encode())
    caplog.set_level(logging.WARNING)

    # a later decide works: the poisoned lines are named, kept as they were, and the new line
    # takes the next index
    dataset.add_verdict(s3, BUCKET, PREFIX, review_of("r-1"), "motorcycle")
    assert lst_text(s3) == POISONED + "3\t1\tr-1.png\n"
    assert "reviewed.lst line 2 skipped" in caplog.text and "'1\\t1\\told.p\\tng'" in caplog.text
    assert "reviewed.lst line 3 skipped (unsafe image name '../escape.png')" in caplog.text

    lst = read_reviewed_lst(s3, BUCKET, PREFIX)
    assert [e.path for e in lst.entries] == ["r-0.png", "r-1.png"]
    assert [(s.number, s.text) for s in lst.skipped] == [(2, "1\t1\told.p\tng"), (3, "2\t0\t../escape.png")]

    # training's staging and the report read the rest, and say what they skipped
    caplog.clear()
    photos = read_reviewed(s3, f"s3://{BUCKET}/{PREFIX}")
    assert [p.entry.path for p in photos] == ["r-0.png", "r-1.png"]
    assert "reviewed.lst line 2 skipped" in caplog.text
    reviewed = read_reviewed_set(f"s3://{BUCKET}/{PREFIX}", s3)
    assert reviewed.labels == [0, 1]
    assert len(reviewed.skipped) == 2 and "line 2 skipped" in reviewed.skipped[0]


def test_a_write_that_loses_every_retry_is_named(s3, monkeypatch):
    review = review_of("r-1")
    put_photos(s3, [review.id])
    monkeypatch.setattr(dataset, "BACKOFF_CAP_S", 0.0)
    real_put = s3.put_object

    def always_lost(**kwargs):
        if kwargs["Key"].endswith("verdicts.jsonl"):
            raise ClientError({"Error": {"Code": "PreconditionFailed", "Message": "lost"}}, "PutObject")
        return real_put(**kwargs)

    monkeypatch.setattr(s3, "put_object", always_lost)

    with pytest.raises(ReviewedSetBusy, match="40 conditional writes lost"):
        dataset.add_verdict(s3, BUCKET, PREFIX, review, "bicycle")
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)
