"""S3's key rules in front of the local S3 (``aws.s3_keys``): a key of more than 1,024 bytes of
UTF-8 is refused with S3's ``400 KeyTooLongError`` before moto sees it; every other request
passes as it came, a newline in its key routed to moto's key handler. Called through WSGI (no
socket)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ElementTree
from urllib.parse import quote

import pytest
from werkzeug.test import Client

from local_stack.aws.moto_patches import moto_app
from local_stack.aws.s3_keys import KEY_TOO_LONG, MAX_KEY_BYTES, KeyRules, key_size, raw_path

# a signed caller (moto checks no signature, but refuses anonymous callers a private bucket)
SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host, Signature=0"
}
AT_LIMIT = "é" * (MAX_KEY_BYTES // 2)  # 1,024 bytes in 512 characters
OVER_LIMIT = AT_LIMIT + "a"


class Recorder:
    """A stand-in for moto's app: answers 200 and keeps each environ it was called with."""

    def __init__(self) -> None:
        self.called: list[dict] = []

    def __call__(self, environ, start_response):
        self.called.append(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"moto"]


@pytest.fixture
def moto():
    return Recorder()


def path(bucket: str, key: str) -> str:
    return f"/{bucket}/{quote(key, safe='/~')}"  # as botocore encodes a key


@pytest.mark.parametrize("method", ["PUT", "GET", "POST", "DELETE"])
def test_a_key_over_1024_bytes_is_refused_with_s3s_error(moto, method):
    answer = Client(KeyRules(moto)).open(path("bucket", OVER_LIMIT), method=method, data=b"photo")
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/xml"
    assert answer.headers["x-amz-request-id"] and answer.headers["x-amz-id-2"]
    error = ElementTree.fromstring(answer.data)
    assert error.tag == "Error"
    assert {child.tag: child.text for child in error} == {
        "Code": KEY_TOO_LONG,
        "Message": "Your key is too long",
        "Size": str(MAX_KEY_BYTES + 1),
        "MaxSizeAllowed": str(MAX_KEY_BYTES),
        "RequestId": answer.headers["x-amz-request-id"],
        "HostId": error.findtext("HostId"),
    }
    assert moto.called == []


def test_a_refused_head_has_no_body(moto):
    answer = Client(KeyRules(moto)).head(path("bucket", OVER_LIMIT))
    assert answer.status_code == 400 and answer.data == b""
    assert moto.called == []


@pytest.mark.parametrize(
    "key", [AT_LIMIT, "€" * 341 + "a", "🚲" * 256, "k" * MAX_KEY_BYTES, "incoming/q?mark#hash.png"]
)
def test_a_key_of_at_most_1024_bytes_reaches_moto_as_it_came(moto, key):
    answer = Client(KeyRules(moto)).put(path("bucket", key), data=b"photo")
    assert answer.status_code == 200 and answer.data == b"moto"
    (environ,) = moto.called
    assert environ["RAW_URI"] == path("bucket", key)
    assert environ["wsgi.input"].read() == b"photo"  # the body is moto's to read


@pytest.mark.parametrize(
    "target",
    [
        "/bucket",
        "/bucket/",
        "/bucket?list-type=2&prefix=" + quote(OVER_LIMIT),  # a long prefix is no key
        "/",
    ],
)
def test_requests_that_name_no_key_pass(moto, target):
    assert Client(KeyRules(moto)).get(target).status_code == 200
    assert len(moto.called) == 1


def test_the_key_is_measured_in_utf8_bytes_not_characters():
    environ = {"RAW_URI": path("bucket", "🚲" * 256), "HTTP_HOST": "127.0.0.1:9000"}
    assert key_size(environ) == MAX_KEY_BYTES


def test_a_virtual_hosted_request_counts_the_whole_path_as_the_key():
    environ = {"RAW_URI": "/" + quote(OVER_LIMIT), "HTTP_HOST": "bucket.s3.amazonaws.com"}
    assert key_size(environ) == MAX_KEY_BYTES + 1


def test_the_refused_body_is_read_so_the_connection_can_go_on(moto):
    body = io.BytesIO(b"x" * 200_000)
    environ = {
        "REQUEST_METHOD": "PUT",
        "RAW_URI": path("bucket", OVER_LIMIT),
        "HTTP_HOST": "127.0.0.1:9000",
        "CONTENT_LENGTH": "200000",
        "wsgi.input": body,
    }
    KeyRules(moto)(environ, lambda status, headers: None)
    assert body.tell() == 200_000


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"RAW_URI": "/b/a%3Fb?x=1", "REQUEST_URI": "/other"}, "/b/a%3Fb"),
        ({"REQUEST_URI": "/b/a%2520b"}, "/b/a%2520b"),
        ({"RAW_URI": "http://127.0.0.1:9000/b/a%23b?x"}, "/b/a%23b"),
        ({"PATH_INFO": "/b/a b"}, "/b/a%20b"),
        ({"PATH_INFO": "/b/é".encode().decode("latin-1")}, "/b/%C3%A9"),
    ],
)
def test_raw_path_is_the_path_as_sent(environ, expected):
    assert raw_path(environ) == expected


def test_a_key_with_a_newline_reaches_its_route(moto):
    """moto picks the handler by ``PATH_INFO`` with ``.+``, which stops at a newline: the router
    gets ``%0A``; the key itself is read from ``RAW_URI``, as sent."""
    answer = Client(KeyRules(moto)).put(path("bucket", "new\nline.png"), data=b"photo")
    assert answer.status_code == 200
    (environ,) = moto.called
    assert environ["PATH_INFO"] == "/bucket/new%0Aline.png"
    assert environ["RAW_URI"] == "/bucket/new%0Aline.png"


def test_moto_stores_a_key_with_a_newline_behind_the_rules():
    """The same through moto's own app, in this process (bare, it answers 404): stored, read
    back and listed."""
    s3 = Client(KeyRules(moto_app()))
    bucket, key = "/key-rules-newline", "/key-rules-newline/incoming/new%0Aline.png"
    assert Client(moto_app()).put(key, data=b"photo", headers=SIGNED).status_code == 404
    assert s3.put(bucket, headers=SIGNED).status_code == 200
    assert s3.put(key, data=b"photo", headers=SIGNED).status_code == 200
    assert s3.get(key, headers=SIGNED).data == b"photo"
    listing = s3.get(f"{bucket}?list-type=2&encoding-type=url", headers=SIGNED).data.decode()
    assert "<Key>incoming/new%0Aline.png</Key>" in listing
    assert s3.delete(key, headers=SIGNED).status_code == 204
    assert s3.delete(bucket, headers=SIGNED).status_code == 204
