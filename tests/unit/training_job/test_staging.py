import pytest

from training_job import staging
from training_job.exceptions import ChecksumMismatchError, TrainingJobCommandError

PREFIX = "vehicle-classifier"
BUCKET = "scones-test-bucket"  # created by the moto_session fixture


def _keys(session, prefix=PREFIX):
    return sorted(staging.list_objects(session.client("s3"), BUCKET, prefix))


def test_stage_from_archive_uploads_the_four_channels(moto_session, fake_archive, tmp_path):
    archive, md5 = fake_archive
    result = staging.stage(
        moto_session,
        BUCKET,
        PREFIX,
        tmp_path / "work",
        source_url=archive.as_uri(),
        source_md5=md5,
        progress=False,
    )
    assert (result.counts.train, result.counts.validation) == (5, 2)
    keys = _keys(moto_session)
    assert f"{PREFIX}/train_lst/train.lst" in keys
    assert f"{PREFIX}/validation_lst/validation.lst" in keys
    assert f"{PREFIX}/train/train_000000.png" in keys
    assert f"{PREFIX}/validation/test_000001.png" in keys
    assert len(keys) == 5 + 2 + 2
    assert result.uris["train_lst"] == f"s3://{BUCKET}/{PREFIX}/train_lst/"
    head = moto_session.client("s3").head_object(Bucket=BUCKET, Key=f"{PREFIX}/train/train_000000.png")
    assert head["ContentType"] == "image/png"


def test_md5_mismatch_uploads_nothing(moto_session, fake_archive, tmp_path):
    archive, _ = fake_archive
    with pytest.raises(ChecksumMismatchError):
        staging.stage(
            moto_session, BUCKET, PREFIX, tmp_path / "work", source_url=archive.as_uri(), progress=False
        )
    assert _keys(moto_session, "") == []


def test_rerun_uploads_only_what_changed(moto_session, small_image_dir, tmp_path):
    shared_data = small_image_dir  # 40 of the shared images, same layout (all 1,000: 4 s in moto)
    first = staging.stage(
        moto_session, BUCKET, PREFIX, tmp_path / "work", from_dir=shared_data, progress=False
    )
    assert (len(first.sync.uploaded), len(first.sync.unchanged)) == (42, 0)

    again = staging.stage(
        moto_session, BUCKET, PREFIX, tmp_path / "work", from_dir=shared_data, progress=False
    )
    assert (again.sync.uploaded, len(again.sync.unchanged)) == ([], 42)

    # One changed file (same size, other bytes) goes up again, and nothing else.
    s3 = moto_session.client("s3")
    key = first.sync.uploaded[0]
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key, Body=bytes(reversed(body)))
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/train/left-over.png", Body=b"old")
    third = staging.stage(
        moto_session, BUCKET, PREFIX, tmp_path / "work", from_dir=shared_data, progress=False
    )
    assert third.sync.uploaded == [key]
    assert third.sync.stale == [f"{PREFIX}/train/left-over.png"]
    assert third.sync.deleted == []

    fourth = staging.stage(
        moto_session, BUCKET, PREFIX, tmp_path / "work", from_dir=shared_data, delete=True, progress=False
    )
    assert (fourth.sync.uploaded, fourth.sync.deleted) == ([], [f"{PREFIX}/train/left-over.png"])
    assert f"{PREFIX}/train/left-over.png" not in _keys(moto_session)


def test_a_missing_bucket_fails_before_any_download(moto_session, tmp_path):
    with pytest.raises(TrainingJobCommandError, match="aws s3 mb s3://no-such-bucket"):
        staging.stage(
            moto_session, "no-such-bucket", PREFIX, tmp_path, source_url="file:///nonexistent", progress=False
        )
