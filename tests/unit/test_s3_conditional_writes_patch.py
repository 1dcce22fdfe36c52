"""``local_stack.aws.moto_patches.s3_conditional_writes`` against the installed moto: as shipped,
two conditional PutObjects that read the same ETag both pass moto's check (it checks, then stores,
with no lock); patched, exactly one is stored and the other answers S3's 412 PreconditionFailed.
A moto upgrade that moves the check or the store fails here (the target and its parameters are
checked with every patch in test_moto_patches.py)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.s3.models import S3Backend

from local_stack.aws import moto_patches
from local_stack.aws.moto_patches import s3_conditional_writes

BUCKET = "conditional-writes"
KEY = "reviewed/reviewed.lst"
STORE_DELAY_S = 0.3  # between moto's check and its store: both writers are inside that window
BARRIER_SECONDS = 120


@pytest.fixture
def slow_store(monkeypatch):
    """moto's store, a little later than its check: the window two writers race in."""
    original = S3Backend.put_object

    def put_object(self, *args, **kwargs):
        time.sleep(STORE_DELAY_S)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(S3Backend, "put_object", put_object)


def two_writers_with_one_etag(condition: str) -> list[str]:
    """Two PutObjects at once, each conditional on what was there before: 'stored' or the error."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        kwargs = {"IfNoneMatch": "*"}
        if condition == "IfMatch":
            kwargs = {"IfMatch": s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"first\n")["ETag"]}
        clients = [boto3.client("s3", region_name="us-east-1") for _ in range(2)]
        barrier = threading.Barrier(2)

        def write(number: int) -> str:
            barrier.wait(BARRIER_SECONDS)
            try:
                body = f"writer {number}\n".encode()
                clients[number].put_object(Bucket=BUCKET, Key=KEY, Body=body, **kwargs)
            except ClientError as error:
                return error.response["Error"]["Code"]
            return "stored"

        with ThreadPoolExecutor(2) as pool:
            return sorted(pool.map(write, range(2)))


@pytest.mark.parametrize("condition", ["IfMatch", "IfNoneMatch"])
def test_moto_as_shipped_lets_both_writers_of_one_etag_through(condition, pristine_moto, slow_store):
    assert two_writers_with_one_etag(condition) == ["stored", "stored"]  # the second overwrote


@pytest.mark.parametrize("condition", ["IfMatch", "IfNoneMatch"])
def test_patched_exactly_one_writer_of_one_etag_is_stored(condition, pristine_moto, slow_store):
    moto_patches.install("server")
    assert s3_conditional_writes.PATCHES[0].target in moto_patches.installed()

    assert two_writers_with_one_etag(condition) == ["PreconditionFailed", "stored"]


def test_writes_of_other_keys_are_not_held_by_one_another_beyond_their_stripe():
    locks = {s3_conditional_writes.lock_for(BUCKET, f"k{n}") for n in range(1000)}
    assert len(locks) == s3_conditional_writes.STRIPES


@pytest.fixture
def slow_lookup(monkeypatch):
    """moto's GetObject finds the key, then reads it a little later: an overwrite lands between."""
    original = S3Backend.get_object

    def get_object(self, *args, **kwargs):
        key = original(self, *args, **kwargs)
        time.sleep(STORE_DELAY_S)
        return key

    monkeypatch.setattr(S3Backend, "get_object", get_object)


def read_while_overwritten() -> str:
    """A GetObject and, while it reads, a PutObject of the same key: what the read answered."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"old\n")
        reader, writer = (boto3.client("s3", region_name="us-east-1") for _ in range(2))

        def read() -> str:
            try:
                return reader.get_object(Bucket=BUCKET, Key=KEY)["Body"].read().decode()
            except (ValueError, ClientError) as error:
                return type(error).__name__

        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(read)
            time.sleep(STORE_DELAY_S / 3)
            writer.put_object(Bucket=BUCKET, Key=KEY, Body=b"new\n")
            return answer.result()


def test_moto_as_shipped_fails_a_read_whose_key_is_overwritten(pristine_moto, slow_lookup):
    assert read_while_overwritten() == "ValueError"  # I/O operation on closed file


def test_patched_a_read_whose_key_is_overwritten_answers_a_whole_object(pristine_moto, slow_lookup):
    moto_patches.install("server")

    assert read_while_overwritten() in ("old\n", "new\n")
