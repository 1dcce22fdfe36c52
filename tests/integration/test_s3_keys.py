"""The local S3 stores every key S3 stores, byte for byte, and refuses what S3 refuses.

A table of keys (reserved URL characters, percent sequences, spaces, unicode in both normal
forms, control characters, the 1,024-byte limit in multibyte UTF-8) put through boto3 and the
AWS CLI (``s3api put-object``/``get-object``, ``s3 cp``) against the local S3 process, started
as the stack starts it (``start_s3_server``): each read back equal, each listed by ListObjectsV2
under its exact key, each copied with CopyObject, and no two keys stored as one. A key of 1,025
bytes is refused as S3 refuses it: ``400 KeyTooLongError``."""

from __future__ import annotations

import os
import shutil
import subprocess
import unicodedata
import xml.etree.ElementTree as ElementTree
from urllib.parse import quote

import boto3
import pytest
import urllib3
from botocore.config import Config
from botocore.exceptions import ClientError

from local_stack.aws.s3_keys import KEY_TOO_LONG, MAX_KEY_BYTES
from local_stack.processes.s3_server import start_s3_server
from local_stack.settings import REPO_ROOT

pytestmark = pytest.mark.integration

CAFE_NFC = unicodedata.normalize("NFC", "incoming/café.png")
CAFE_NFD = unicodedata.normalize("NFD", "incoming/café.png")

# id -> key; every key here is one S3 stores (none is a prefix-only "folder/" marker, which
# `aws s3 cp` reads as "into this folder")
KEYS = {
    "question-and-hash": "incoming/q?mark#hash.png",
    "question-alone": "incoming/q",
    "reserved": "incoming/a&b=c;d:e@f$g,h+i!j*k'l(m)n[o]p.png",
    "plus": "incoming/plus+sign.png",
    "space": "incoming/rv x.png",
    "percent-20": "incoming/rv%20x.png",
    "percent-2520": "incoming/rv%2520x.png",
    "slash": "incoming/a/b.png",
    "percent-2F": "incoming/a%2Fb.png",
    "percent-2f": "incoming/a%2fb.png",
    "percent-25": "incoming/100%25.png",
    "percent": "incoming/100%.png",
    "percent-bad": "incoming/%zz%.png",
    "spaces-around": "  incoming/ leading and trailing  ",
    "double-slash": "incoming//double.png",
    "leading-slash": "/incoming/leading.png",
    "dot-segments": "incoming/./dots/../seg.png",
    "backslash": "incoming\\back\\slash.png",
    "xml": 'incoming/<b>&amp;"quoted"\'.png',
    "nfc": CAFE_NFC,
    "nfd": CAFE_NFD,
    "emoji": "incoming/📷 photo 🚲.png",
    "cjk": "incoming/写真.png",
    "newline": "incoming/new\nline.png",
    "tab": "incoming/photo.p\tng",
    "carriage-return": "incoming/cr\rkey.png",
    "controls": "incoming/\x01\x1b\x1f\x7f.png",
    "tilde": "incoming/~user/file.png",
    "1024-bytes-2-byte": "é" * (MAX_KEY_BYTES // 2),
    "1024-bytes-3-byte": "€" * (MAX_KEY_BYTES // 3) + "a",
    "1024-bytes-4-byte": "🚲" * (MAX_KEY_BYTES // 4),
}
TOO_LONG = {
    "1025-bytes-2-byte": "é" * (MAX_KEY_BYTES // 2) + "a",
    "1025-bytes-4-byte": "🚲" * (MAX_KEY_BYTES // 4) + "a",
    "1025-bytes-ascii": "k" * (MAX_KEY_BYTES + 1),
}


# a signed caller for a request sent by hand (moto checks no signature, but refuses anonymous
# callers what a private bucket keeps)
SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host, Signature=0"
}


def test_the_table_holds_what_it_names():
    assert CAFE_NFC != CAFE_NFD
    assert {len(KEYS[name].encode()) for name in KEYS if name.startswith("1024-")} == {MAX_KEY_BYTES}
    assert {len(key.encode()) for key in TOO_LONG.values()} == {MAX_KEY_BYTES + 1}
    assert len(set(KEYS.values())) == len(KEYS)


def body_of(key: str) -> bytes:
    """A body no other key has: a photo stored under another key is found out."""
    return b"photo of " + key.encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def s3_server():
    server = start_s3_server()
    try:
        yield server
    finally:
        server.close()


def client(url: str):
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def s3(s3_server):
    return client(s3_server.url)


@pytest.fixture(scope="module")
def buckets(s3):
    names = {"boto3": "keys-boto3", "s3api": "keys-s3api", "cp": "keys-cp", "copy": "keys-copy"}
    for name in names.values():
        s3.create_bucket(Bucket=name)
    return names


def listed(s3, bucket: str, prefix: str = "") -> list[str]:
    """Every key ListObjectsV2 lists (boto3 asks for ``EncodingType=url`` and decodes it)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def test_listing_without_url_encoding_gives_each_key_as_xml(s3, buckets, s3_server):
    """ListObjectsV2 without ``encoding-type=url`` (what boto3 adds on its own): the keys as XML
    text, for the keys XML 1.0 can carry."""
    keys = [
        key
        for key in KEYS.values()
        if "\r" not in key and not any(ord(c) < 0x20 and c not in "\t\n" for c in key)
    ]
    for key in keys:
        s3.put_object(Bucket=buckets["boto3"], Key=key, Body=body_of(key))
    answer = urllib3.PoolManager().request(
        "GET", f"{s3_server.url}/{buckets['boto3']}?list-type=2&max-keys=1000", headers=SIGNED
    )
    assert answer.status == 200
    names = [
        element.text or ""
        for element in ElementTree.fromstring(answer.data).iter()
        if element.tag.endswith("Key")
    ]
    assert set(keys) <= set(names)


@pytest.mark.parametrize("name", KEYS)
def test_boto3_stores_the_key_byte_for_byte(s3, buckets, name):
    key, bucket = KEYS[name], buckets["boto3"]
    s3.put_object(Bucket=bucket, Key=key, Body=body_of(key))
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body_of(key)
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(body_of(key))
    assert listed(s3, bucket, prefix=key)[0] == key  # nothing sorts before a key under itself


@pytest.mark.parametrize("name", KEYS)
def test_copy_object_copies_from_and_to_the_key(s3, buckets, name):
    """The review desk labels a photo by CopyObject with ``CopySource``."""
    key, source, bucket = KEYS[name], buckets["boto3"], buckets["copy"]
    s3.put_object(Bucket=source, Key=key, Body=body_of(key))
    s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": source, "Key": key})
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body_of(key)
    copied = f"labelled/{key}" if len(f"labelled/{key}".encode()) <= MAX_KEY_BYTES else f"labelled/{name}"
    s3.copy_object(Bucket=bucket, Key=copied, CopySource={"Bucket": bucket, "Key": key})
    assert s3.get_object(Bucket=bucket, Key=copied)["Body"].read() == body_of(key)


def test_different_keys_never_collide(s3):
    bucket = "keys-collide"
    s3.create_bucket(Bucket=bucket)
    for key in KEYS.values():
        s3.put_object(Bucket=bucket, Key=key, Body=body_of(key))
    assert sorted(listed(s3, bucket)) == sorted(KEYS.values())
    for key in KEYS.values():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body_of(key), repr(key)


@pytest.mark.parametrize("name", TOO_LONG)
def test_a_key_over_1024_bytes_is_refused_as_s3_refuses_it(s3, buckets, name):
    key, bucket = TOO_LONG[name], buckets["boto3"]
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"] == {
        "Code": KEY_TOO_LONG,
        "Message": "Your key is too long",
        "Size": str(MAX_KEY_BYTES + 1),
        "MaxSizeAllowed": str(MAX_KEY_BYTES),
    }
    assert error["ResponseMetadata"]["RequestId"]
    s3.put_object(Bucket=bucket, Key="short", Body=b"x")
    with pytest.raises(ClientError) as copy_refused:
        s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": "short"})
    assert copy_refused.value.response["Error"]["Code"] == KEY_TOO_LONG
    with pytest.raises(ClientError) as multipart_refused:
        s3.create_multipart_upload(Bucket=bucket, Key=key)
    assert multipart_refused.value.response["Error"]["Code"] == KEY_TOO_LONG
    assert [stored for stored in listed(s3, bucket) if len(stored.encode()) > MAX_KEY_BYTES] == []


# ------------------------------------------------------------------------------- the AWS CLI


@pytest.fixture(scope="module")
def aws(s3_server, tmp_path_factory):
    """Run the AWS CLI (its arguments as a list: no shell quoting) against the local S3."""
    cli = REPO_ROOT / ".tools" / "awscli" / "bin" / "aws"
    found = str(cli) if cli.exists() else shutil.which("aws")
    if not found:
        pytest.skip("the AWS CLI is not installed: `make setup` puts it in .tools/awscli")
    home = tmp_path_factory.mktemp("aws-home")
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")} | {
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": s3_server.url,
        "AWS_MAX_ATTEMPTS": "1",
    }

    def run(*arguments: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [found, *arguments], env=environment, capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != 0:
            raise AssertionError(f"aws {arguments!r} exited {result.returncode}: {result.stderr}")
        return result

    return run


@pytest.mark.parametrize("name", KEYS)
def test_the_aws_cli_stores_the_key_byte_for_byte(aws, s3, buckets, name, tmp_path):
    key = KEYS[name]
    sent, received = tmp_path / "sent", tmp_path / "received"
    sent.write_bytes(body_of(key))
    aws("s3api", "put-object", "--bucket", buckets["s3api"], "--key", key, "--body", str(sent))
    aws("s3api", "get-object", "--bucket", buckets["s3api"], "--key", key, str(received))
    assert received.read_bytes() == body_of(key)
    assert listed(s3, buckets["s3api"], prefix=key)[0] == key

    aws("s3", "cp", str(sent), f"s3://{buckets['cp']}/{key}")
    assert s3.get_object(Bucket=buckets["cp"], Key=key)["Body"].read() == body_of(key)
    assert listed(s3, buckets["cp"], prefix=key)[0] == key
    copied_back = tmp_path / "copied-back"
    aws("s3", "cp", f"s3://{buckets['cp']}/{key}", str(copied_back))
    assert copied_back.read_bytes() == body_of(key)


def test_the_aws_cli_is_refused_a_key_over_1024_bytes(aws, s3, buckets, tmp_path):
    sent = tmp_path / "sent"
    sent.write_bytes(b"x")
    key = TOO_LONG["1025-bytes-2-byte"]
    result = aws(
        "s3api", "put-object", "--bucket", buckets["s3api"], "--key", key, "--body", str(sent), check=False
    )
    assert result.returncode != 0
    assert f"({KEY_TOO_LONG})" in result.stderr and "Your key is too long" in result.stderr
    result = aws("s3", "cp", str(sent), f"s3://{buckets['cp']}/{key}", check=False)
    assert result.returncode != 0 and KEY_TOO_LONG in result.stderr
    assert key not in listed(s3, buckets["s3api"]) + listed(s3, buckets["cp"])


def test_the_raw_request_reaches_moto_once_decoded(s3_server, s3, buckets):
    """What boto3 sends for ``a%2Fb`` (``a%252Fb``), sent by hand: the key is ``a%2Fb``."""
    key = "raw/a%2Fb c.png"
    answer = urllib3.PoolManager().request(
        "PUT", f"{s3_server.url}/{buckets['boto3']}/{quote(key, safe='/')}", body=b"raw", headers=SIGNED
    )
    assert answer.status == 200
    assert listed(s3, buckets["boto3"], prefix="raw/") == [key]


def test_the_keys_outlive_a_restart_of_the_s3_process():
    """The journal keeps the request as sent (``RAW_URI`` included): a replay in a new process
    stores each key under the same name again."""
    server = start_s3_server()
    try:
        s3 = client(server.url)
        s3.create_bucket(Bucket="keys-replayed")
        for key in KEYS.values():
            s3.put_object(Bucket="keys-replayed", Key=key, Body=body_of(key))
        server.process.kill()
        server.process.wait(timeout=60)
        revival = server.revive_if_dead()
        assert revival is not None and revival.new_pid is not None, revival
        assert sorted(listed(s3, "keys-replayed")) == sorted(KEYS.values())
        for key in KEYS.values():
            assert s3.get_object(Bucket="keys-replayed", Key=key)["Body"].read() == body_of(key), repr(key)
    finally:
        server.close()
