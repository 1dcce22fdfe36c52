"""S3's rule on object keys, kept by the local S3: a key is at most 1,024 bytes of UTF-8.

S3 refuses a request naming a longer key with ``400 KeyTooLongError`` (its error list: "Your key
is too long."), the body carrying the key's ``Size`` and the ``MaxSizeAllowed``; moto 5.2.5
checks no length and stored a key of 1,025 bytes. ``KeyRules`` answers as S3 does before moto
sees the request.

Why a WSGI middleware and not a moto patch: the key is in the request's path, the same for
every operation on an object (PutObject, CopyObject's destination, CreateMultipartUpload,
UploadPart, GetObject, ...), so one check in front of moto's app covers them all, and it reads
nothing of moto's internals, so a moto upgrade cannot move it. A patch would replace each
operation's handler in ``moto.s3.responses`` and add an exception class beside moto's.

It also routes a key holding a newline, which S3 stores: moto's server (its own too) picks the
handler by matching ``PATH_INFO`` against ``/(?P<bucket>[^/]+)/(?P<key_name>.+)``, and ``.``
stops at a newline, so such a key answered 404. The router is given the newline
percent-encoded (``%0A``); moto reads the key itself from ``RAW_URI``, decoded once.

Not checked here: a key inside a request's body (DeleteObjects' XML, a browser form POST),
which this project never sends.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

from local_stack.aws import upload_trigger

MAX_KEY_BYTES = 1024
KEY_TOO_LONG = "KeyTooLongError"
KEY_TOO_LONG_MESSAGE = "Your key is too long"


def raw_path(environ: dict) -> str:
    """The request's path as the client sent it, percent-encoded: ``RAW_URI`` (werkzeug's and
    cheroot's server, through ``scones_core.wsgi_server``, set it), without its query; else
    ``PATH_INFO`` encoded again."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is None:
        return quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/")
    if "://" in raw.split("?", 1)[0]:  # absolute-form: a proxy's request line
        return urlsplit(raw).path or "/"
    return raw.split("?", 1)[0]


def key_size(environ: dict) -> int | None:
    """The byte length (UTF-8) of the object key the request names; None when it names none."""
    names = upload_trigger.bucket_and_key(environ.get("HTTP_HOST", ""), raw_path(environ))
    return None if names is None else len(names[1].encode("utf-8"))


def key_too_long(size: int, request_id: str) -> bytes:
    """S3's error document for a key of ``size`` bytes."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{KEY_TOO_LONG}</Code><Message>{escape(KEY_TOO_LONG_MESSAGE)}</Message>"
        f"<Size>{size}</Size><MaxSizeAllowed>{MAX_KEY_BYTES}</MaxSizeAllowed>"
        f"<RequestId>{request_id}</RequestId><HostId>{_host_id()}</HostId></Error>"
    ).encode()


class KeyRules:
    """A WSGI app: ``app`` (moto's S3) behind S3's key rule."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def __call__(self, environ: dict, start_response: Any) -> Iterable[bytes]:
        size = key_size(environ)
        if size is None or size <= MAX_KEY_BYTES:
            return self._app(_routable(environ), start_response)
        _read_body(environ)  # the connection stays usable for the client's next request
        request_id = upload_trigger.new_request_id()
        body = key_too_long(size, request_id) if environ["REQUEST_METHOD"] != "HEAD" else b""
        start_response(
            "400 Bad Request",
            [
                ("Content-Type", "application/xml"),
                ("Content-Length", str(len(body))),
                ("x-amz-request-id", request_id),
                ("x-amz-id-2", _host_id()),
            ],
        )
        return [body]


def _routable(environ: dict) -> dict:
    """``environ`` with a newline in ``PATH_INFO`` percent-encoded (see the module's note)."""
    path = environ.get("PATH_INFO", "")
    return {**environ, "PATH_INFO": path.replace("\n", "%0A")} if "\n" in path else environ


def _read_body(environ: dict) -> None:
    length = environ.get("CONTENT_LENGTH")
    stream = environ.get("wsgi.input")
    if stream is None:
        return
    if length:
        remaining = int(length)
        while remaining > 0:
            chunk = stream.read(min(remaining, 1 << 16))
            if not chunk:
                return
            remaining -= len(chunk)
    elif environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        while stream.read(1 << 16):
            pass


def _host_id() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(56))
