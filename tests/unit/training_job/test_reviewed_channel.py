"""`stage --include-reviewed` and `train --include-reviewed`: the photos people labelled (the
reviewed data set, written here by `review.dataset` itself) join the train channel once each,
numbered after its last index, and never the validation channel."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from PIL import Image

from review import dataset
from review.verdicts import PendingReview
from scones_core.lst import LstEntry, parse_lst
from tests.conftest import SAMPLES_DIR
from tests.unit.training_job.test_training import JOB, JOB_ARN, describe, expected_request
from training_job import channels, staging
from training_job.cli import main

PREFIX = "vehicle-classifier"
IMAGES_BUCKET = "scones-images"  # the stack's image bucket, where review writes reviewed/
REVIEWED = f"s3://{IMAGES_BUCKET}/reviewed/"
SAMPLE_BICYCLE = "bicycle_s_000035.png"
SAMPLE_MOTORCYCLE = "dirt_bike_s_000005.png"


def review_of(review_id: str, key: str, model_label: str, confidence: float) -> PendingReview:
    probabilities = [confidence, 1 - confidence] if model_label == "bicycle" else [1 - confidence, confidence]
    return PendingReview(
        id=review_id,
        execution_id=f"arn:aws:states:us-east-1:123456789012:execution:ClassifyImage:{review_id}",
        s3_bucket=IMAGES_BUCKET,
        s3_key=key,
        label=model_label,
        confidence=confidence,
        inferences=probabilities,
        task_token="token",
        receipt_handle="handle",
    )


def upload(s3, key: str, body: bytes) -> str:
    s3.put_object(Bucket=IMAGES_BUCKET, Key=key, Body=body)
    return key


def decide(s3, review: PendingReview, verdict: str) -> None:
    dataset.add_verdict(s3, IMAGES_BUCKET, "reviewed/", review, verdict, datetime(2026, 5, 1, tzinfo=UTC))


def sample(name: str) -> bytes:
    return (SAMPLES_DIR / "images" / name).read_bytes()


def train_lst(s3, bucket: str) -> list[LstEntry]:
    body = s3.get_object(Bucket=bucket, Key=f"{PREFIX}/train_lst/train.lst")["Body"].read().decode()
    return parse_lst(body)


@pytest.fixture
def images(moto_session):
    s3 = moto_session.client("s3")
    s3.create_bucket(Bucket=IMAGES_BUCKET)
    return s3


@pytest.fixture
def staged(moto_session, bucket, fake_archive, tmp_path):
    """The fake archive's channels in S3: train indices 0, 2, 3, 5, 6; validation 2 images."""
    archive, md5 = fake_archive
    return staging.stage(
        moto_session,
        bucket,
        PREFIX,
        tmp_path / "work",
        source_url=archive.as_uri(),
        source_md5=md5,
        progress=False,
    )


# --- the merge itself -------------------------------------------------------------------------


def photo(index: int, label: int, path: str, body: bytes) -> channels.ReviewedPhoto:
    return channels.ReviewedPhoto(LstEntry(index, label, path), body)


def test_reviewed_photos_are_numbered_after_the_last_train_index_and_counted_per_class():
    train = [LstEntry(4, 0, "a.png"), LstEntry(9, 1, "b.png")]
    reviewed = [
        photo(0, 1, "r1.png", b"one"),
        photo(1, 0, "r2.jpg", b"two"),
        photo(2, 1, "r3.webp", b"three"),
    ]

    merge = channels.merge_reviewed(train, {"a.png": "x", "b.png": "y"}, set(), reviewed)

    assert merge.train == [
        *train,
        LstEntry(10, 1, "reviewed/r1.png"),
        LstEntry(11, 0, "reviewed/r2.jpg"),
        LstEntry(12, 1, "reviewed/r3.png"),  # WebP is no format the algorithm reads: a PNG
    ]
    assert merge.added_per_class == {"bicycle": 1, "motorcycle": 2}
    assert len({entry.index for entry in merge.train}) == len(merge.train)


def test_one_entry_per_photo_and_none_from_validation():
    train = [LstEntry(0, 0, "a.png")]
    same_twice = [photo(0, 0, "early.png", b"same"), photo(1, 1, "late.png", b"same")]
    in_train = photo(2, 1, "copy-of-a.png", b"bytes of a")
    in_validation = photo(3, 0, "copy-of-v.png", b"bytes of v")

    merge = channels.merge_reviewed(
        train,
        {"a.png": channels.content_md5(b"bytes of a")},
        {channels.content_md5(b"bytes of v")},
        [*same_twice, in_train, in_validation],
    )

    # the later verdict on the same bytes wins; a photo the base set or validation holds is not added
    assert merge.train == [LstEntry(0, 0, "a.png"), LstEntry(1, 1, "reviewed/late.png")]
    assert (merge.duplicates, merge.already_in_train, merge.in_validation) == (1, 1, 1)


def test_a_second_merge_replaces_the_first_instead_of_doubling_it():
    train = [LstEntry(0, 0, "a.png")]
    first = channels.merge_reviewed(train, {}, set(), [photo(0, 1, "r.png", b"r")])
    # the reviewer changed the label, and another photo was reviewed since
    again = channels.merge_reviewed(
        first.train, {}, set(), [photo(0, 0, "r.png", b"r"), photo(1, 1, "s.png", b"s")]
    )

    assert again.train == [
        LstEntry(0, 0, "a.png"),
        LstEntry(1, 0, "reviewed/r.png"),
        LstEntry(2, 1, "reviewed/s.png"),
    ]
    assert again.replaced == 1


def test_a_gif_is_trained_on_as_a_png_of_its_first_frame():
    gif = io.BytesIO()
    Image.new("P", (8, 8), 3).save(gif, format="GIF")

    png = channels.trainable_bytes("photo.gif", gif.getvalue())

    assert png.startswith(b"\x89PNG") and Image.open(io.BytesIO(png)).size == (8, 8)
    assert channels.trainable_bytes("photo.jpg", b"as is") == b"as is"


# --- stage --include-reviewed -------------------------------------------------------------------


def test_stage_adds_the_reviewed_photos_to_train_only(moto_session, bucket, fake_archive, images, tmp_path):
    decide(
        images,
        review_of("r-bike", upload(images, "incoming/b.png", sample(SAMPLE_BICYCLE)), "motorcycle", 0.6),
        "bicycle",
    )
    moto = review_of("r-moto", upload(images, "incoming/m.png", sample(SAMPLE_MOTORCYCLE)), "motorcycle", 0.7)
    decide(images, moto, "motorcycle")
    decide(images, moto, "motorcycle")  # a double click: still one line
    decide(
        images,
        review_of("r-none", upload(images, "incoming/x.png", b"not a vehicle"), "bicycle", 0.5),
        "neither",
    )
    archive, md5 = fake_archive

    result = staging.stage(
        moto_session,
        bucket,
        PREFIX,
        tmp_path / "work",
        source_url=archive.as_uri(),
        source_md5=md5,
        progress=False,
        reviewed_uri=REVIEWED,
    )

    s3 = moto_session.client("s3")
    lines = train_lst(s3, bucket)
    assert [e for e in lines if e.path.startswith("reviewed/")] == [
        LstEntry(7, 0, "reviewed/r-bike.png"),  # the fake archive's last train index is 6
        LstEntry(8, 1, "reviewed/r-moto.png"),
    ]
    assert result.reviewed.added_per_class == {"bicycle": 1, "motorcycle": 1}
    assert (result.counts.train, result.counts.validation) == (7, 2)
    stored = s3.get_object(Bucket=bucket, Key=f"{PREFIX}/train/reviewed/r-bike.png")["Body"].read()
    assert stored == sample(SAMPLE_BICYCLE)
    validation = s3.get_object(Bucket=bucket, Key=f"{PREFIX}/validation_lst/validation.lst")["Body"].read()
    assert b"reviewed" not in validation


def test_stage_without_a_reviewed_set_yet_adds_nothing(moto_session, bucket, fake_archive, images, tmp_path):
    archive, md5 = fake_archive
    result = staging.stage(
        moto_session,
        bucket,
        PREFIX,
        tmp_path / "w",
        source_url=archive.as_uri(),
        source_md5=md5,
        progress=False,
        reviewed_uri=REVIEWED,
    )
    assert (len(result.reviewed.added), result.counts.train) == (0, 5)


def test_a_listed_photo_missing_from_the_set_is_one_line(
    moto_session, bucket, fake_archive, images, tmp_path, cli_uses, capsys
):
    images.put_object(Bucket=IMAGES_BUCKET, Key="reviewed/reviewed.lst", Body=b"0\t1\tgone.png\n")
    cli_uses(moto_session)
    archive, md5 = fake_archive
    argv = [
        "stage",
        "--bucket",
        bucket,
        "--work-dir",
        str(tmp_path / "w"),
        "--source-url",
        archive.as_uri(),
        "--source-md5",
        md5,
        "--quiet",
        "--reviewed",
        REVIEWED,
    ]

    assert main(argv) == 1
    err = capsys.readouterr().err
    missing = f"s3://{IMAGES_BUCKET}/reviewed/images/gone.png"
    assert err == f"error: {missing} is listed in the reviewed .lst but does not exist\n"


STACK_TEMPLATE = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"ReviewedDataLocation": {"Value": REVIEWED}},
}


def test_cli_stage_finds_the_set_in_the_stack_outputs(
    moto_session, bucket, fake_archive, images, tmp_path, cli_uses, capsys
):
    moto_session.client("cloudformation").create_stack(
        StackName="scones-vehicle-classifier", TemplateBody=json.dumps(STACK_TEMPLATE)
    )
    decide(
        images,
        review_of("r-1", upload(images, "incoming/b.png", sample(SAMPLE_BICYCLE)), "motorcycle", 0.55),
        "bicycle",
    )
    cli_uses(moto_session)
    archive, md5 = fake_archive
    argv = [
        "stage",
        "--bucket",
        bucket,
        "--work-dir",
        str(tmp_path / "w"),
        "--source-url",
        archive.as_uri(),
        "--source-md5",
        md5,
        "--quiet",
        "--include-reviewed",
    ]

    assert main(argv) == 0

    out = capsys.readouterr().out
    assert "images: 6 train, 2 validation" in out
    assert f"reviewed: 1 photos added to train (bicycle 1, motorcycle 0) from {REVIEWED}\n" in out


def test_cli_stage_without_the_stack_says_to_name_the_set(moto_session, bucket, tmp_path, cli_uses, capsys):
    cli_uses(moto_session)
    argv = [
        "stage",
        "--bucket",
        bucket,
        "--work-dir",
        str(tmp_path),
        "--quiet",
        "--include-reviewed",
        "--stack-name",
        "nope",
    ]

    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot find the reviewed data set: stack nope:")
    assert err.rstrip().endswith("name it with --reviewed s3://BUCKET/reviewed/") and err.count("\n") == 1


def test_reviewed_must_be_an_s3_uri(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["stage", "--bucket", "b", "--reviewed", "reviewed/"])
    assert exit_.value.code == 2
    assert "not an S3 URI" in capsys.readouterr().err


# --- train --include-reviewed -------------------------------------------------------------------


def test_merge_into_the_staged_channel_is_idempotent_and_skips_validation_photos(
    moto_session, bucket, staged, images
):
    s3 = moto_session.client("s3")
    validation_png = s3.get_object(Bucket=bucket, Key=f"{PREFIX}/validation/test_000000.png")["Body"].read()
    train_png = s3.get_object(Bucket=bucket, Key=f"{PREFIX}/train/train_000000.png")["Body"].read()
    decide(
        images,
        review_of("r-v", upload(images, "incoming/v.png", validation_png), "bicycle", 0.6),
        "motorcycle",
    )
    decide(images, review_of("r-t", upload(images, "incoming/t.png", train_png), "bicycle", 0.6), "bicycle")
    decide(
        images,
        review_of("r-new", upload(images, "incoming/n.png", sample(SAMPLE_MOTORCYCLE)), "bicycle", 0.6),
        "motorcycle",
    )

    merge = staging.merge_reviewed_into_staged(s3, bucket, PREFIX, REVIEWED)

    assert [line for line, _ in merge.added] == [LstEntry(7, 1, "reviewed/r-new.png")]
    assert (merge.in_validation, merge.already_in_train) == (1, 1)
    assert train_lst(s3, bucket)[-1] == LstEntry(7, 1, "reviewed/r-new.png")
    version = s3.head_object(Bucket=bucket, Key=f"{PREFIX}/train_lst/train.lst")["LastModified"]

    again = staging.merge_reviewed_into_staged(s3, bucket, PREFIX, REVIEWED)

    assert (len(train_lst(s3, bucket)), again.replaced) == (6, 1)
    assert s3.head_object(Bucket=bucket, Key=f"{PREFIX}/train_lst/train.lst")["LastModified"] == version


def test_train_include_reviewed_counts_the_merged_channel(
    moto_session, bucket, staged, images, sagemaker_stub, cli_uses, role_arn, capsys
):
    decide(
        images,
        review_of("r-1", upload(images, "incoming/b.png", sample(SAMPLE_BICYCLE)), "motorcycle", 0.6),
        "bicycle",
    )
    decide(
        images,
        review_of("r-2", upload(images, "incoming/m.png", sample(SAMPLE_MOTORCYCLE)), "motorcycle", 0.8),
        "motorcycle",
    )
    cli_uses(moto_session)
    request = expected_request(role_arn)
    request["HyperParameters"] = request["HyperParameters"] | {"num_training_samples": "7"}
    sagemaker_stub.add_response("create_training_job", {"TrainingJobArn": JOB_ARN}, request)
    sagemaker_stub.add_response("describe_training_job", describe())
    argv = [
        "train",
        "--bucket",
        bucket,
        "--role-arn",
        role_arn,
        "--job-name",
        JOB,
        "--no-wait",
        "--quiet",
        "--reviewed",
        REVIEWED,
    ]

    assert main(argv) == 0

    out = capsys.readouterr().out
    assert out.startswith(f"reviewed: 2 photos added to train (bicycle 1, motorcycle 1) from {REVIEWED}\n")
    assert "started training job vehicle-ic-20250101-000000 (7 training images" in out
