"""Listing and streaming capture files from a local folder and from S3 (moto, in process)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from monitoring.capture_source import LocalCaptureSource, open_source, parse_s3_uri
from monitoring.exceptions import CaptureSourceError


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket", ("bucket", "")),
        ("s3://bucket/", ("bucket", "")),
        ("s3://bucket/capture", ("bucket", "capture/")),
        ("s3://bucket/capture/ep/", ("bucket", "capture/ep/")),
        (
            "s3://bucket/capture/ep/AllTraffic/2026/11/25/12/f.jsonl",
            ("bucket", "capture/ep/AllTraffic/2026/11/25/12/f.jsonl"),
        ),
    ],
)
def test_parse_s3_uri_reads_a_prefix_as_a_folder(uri, expected):
    assert parse_s3_uri(uri) == expected


def test_parse_s3_uri_needs_a_bucket():
    with pytest.raises(CaptureSourceError):
        parse_s3_uri("s3:///prefix")


def test_local_source_lists_jsonl_recursively(tmp_path):
    (tmp_path / "ep/AllTraffic/2026/11/25/12").mkdir(parents=True)
    (tmp_path / "ep/AllTraffic/2026/11/25/12/b.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    (tmp_path / "ep/AllTraffic/2026/11/25/12/a.jsonl").write_text('{"a": 0}\n')
    (tmp_path / "ep/AllTraffic/2026/11/25/12/notes.txt").write_text("not capture")
    (tmp_path / "ep/folder.jsonl").mkdir()

    source = open_source(str(tmp_path))
    files = source.list_files()

    assert [f.name.removeprefix(str(tmp_path)) for f in files] == [
        "/ep/AllTraffic/2026/11/25/12/a.jsonl",
        "/ep/AllTraffic/2026/11/25/12/b.jsonl",
    ]
    assert list(source.iter_lines(files[1])) == [b'{"a": 1}\n', b'{"a": 2}\n']


def test_missing_local_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CaptureSourceError, match="capture folder not found"):
        LocalCaptureSource(tmp_path / "nope").list_files()


@mock_aws
def test_s3_source_lists_under_the_prefix_only_and_streams_lines(aws_credentials):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="capture-bucket")
    body = "".join(f'{{"n": {i}}}\n' for i in range(1000)).encode()
    keys = [
        "datacapture/ep/AllTraffic/2026/11/25/12/00-01-000-x.jsonl",
        "datacapture/ep/AllTraffic/2026/11/25/13/00-01-000-y.jsonl",
    ]
    for key in keys:
        s3.put_object(Bucket="capture-bucket", Key=key, Body=body)
    s3.put_object(Bucket="capture-bucket", Key="datacapture/ep/readme.txt", Body=b"x")
    s3.put_object(Bucket="capture-bucket", Key="datacapture-old/ep/z.jsonl", Body=b"{}\n")

    source = open_source("s3://capture-bucket/datacapture")
    files = source.list_files()

    assert [f.location for f in files] == keys
    assert files[0].name == f"s3://capture-bucket/{keys[0]}"
    assert files[0].size == len(body)
    lines = list(source.iter_lines(files[0]))
    assert len(lines) == 1000
    assert lines[0] == b'{"n": 0}' and lines[-1] == b'{"n": 999}'


@mock_aws
def test_missing_bucket_is_a_clear_error(aws_credentials):
    with pytest.raises(CaptureSourceError, match="cannot list s3://no-such-bucket/"):
        open_source("s3://no-such-bucket/capture").list_files()


@pytest.mark.filterwarnings("ignore:A test tried to use socket.socket")
def test_unit_tests_cannot_open_sockets():
    import socket

    from pytest_socket import SocketBlockedError

    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
