"""The local S3 keeps its buckets and objects across a restart of its process: every change it
accepts is written to a journal on disk before the client hears that it succeeded, and a new
S3 process replays the journal into its moto before it serves.

What moto 5.2.5 offers, and why none of it does this job:

* its S3 keeps each object in a ``tempfile.SpooledTemporaryFile`` (in memory up to
  ``MOTO_S3_DEFAULT_KEY_BUFFER_SIZE``, then an anonymous temporary file): nothing can be found
  again once the process has died. ``MOTO_S3_CUSTOM_ENDPOINTS`` only adds host names S3 answers
  on; ``use_docker`` is about Lambda; the state manager (``/moto-api/state-manager``) only
  steps resources through their transitions; ``/moto-api/reset`` forgets, it never saves.
* its recorder (``MOTO_ENABLE_RECORDING``, ``/moto-api/recorder/...``) writes every request,
  reads included, before moto has answered it (refused ones too), as JSON with base64 bodies,
  opening the file once per request; its replay sends each one again over HTTP, one after
  another. Reads are most of the local S3's traffic (every execution reads its image), so it
  would cost on every call and the file would grow with every read.

So this journal takes only what changes S3 (``PUT``, ``POST``, ``DELETE``; not moto's own
``/moto-api``) and only once moto
has answered 2xx, in the order moto applied it (one change at a time: the lock also keeps two
writes of one key in the journal's order). An entry is one JSON line (the request's CGI
variables) followed by the body's bytes as they came. A process killed in the middle of an
entry leaves a torn tail: replay stops there and cuts it off, and that request's client never
heard it succeed. The replay calls the app directly, no HTTP.

An upload that starts an execution carries the id of its event's intent (``UPLOAD_EVENT``, set
by ``s3_server``), kept in its entry like the request's other variables: a replay collects them
(``stored_events``), so that the upload trigger can tell an intent whose write was stored (its
event is owed) from one whose write never was (``aws.upload_trigger``). An answer of 200 that
is an error (CompleteMultipartUpload's) stored nothing: its entry does not carry the id.

Limits, none of which the project meets: the journal only grows (a deleted object's bytes stay
in it until the stack stops and its folder is removed); replay draws new version ids for a
versioned bucket; a multipart upload's id is drawn again too, so the journal keeps the id its
client was given and maps it to the new one, live requests included.
"""

from __future__ import annotations

import io
import json
import re
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CHANGES = frozenset({"PUT", "POST", "DELETE"})
UPLOAD_EVENT = "local_stack.upload_event"  # a WSGI variable: the id of the upload's event intent
_UPLOAD_ID = re.compile(r"<UploadId>([^<]+)</UploadId>")
_UPLOAD_ID_PARAMETER = re.compile(r"(^|&)uploadId=([^&]*)")


class JournaledApp:
    """A WSGI app (moto's S3) whose accepted changes go to ``path`` as they happen; ``replay``
    first, in a fresh process, to get back what an earlier process had accepted."""

    def __init__(self, app: Any, path: Path) -> None:
        self._app = app
        self._path = Path(path)
        self._lock = threading.Lock()
        self._upload_ids: dict[str, str] = {}  # the id a client holds -> this process's id
        self._journal: io.BufferedWriter | None = None
        self.replayed = 0
        self.stored_events: set[str] = set()  # the event intents whose writes a replay found

    def replay(self) -> int:
        """Apply every entry of the journal (if any) to the app, cut a torn tail off, and open the
        journal for the changes to come; the number of entries applied."""
        good_end = 0
        if self._path.exists():
            with self._path.open("rb") as journal:
                for variables, body, end in _entries(journal):
                    self._apply(variables, body)
                    if UPLOAD_EVENT in variables:
                        self.stored_events.add(variables[UPLOAD_EVENT])
                    good_end = end
                    self.replayed += 1
        self._journal = self._path.open("ab")
        self._journal.truncate(good_end)
        return self.replayed

    def __call__(self, environ: dict, start_response: Any) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] not in CHANGES or environ.get("PATH_INFO", "").startswith("/moto-api"):
            self._map_upload_id(environ)
            return self._app(environ, start_response)
        body = _read_body(environ)
        variables = _variables(environ)
        with self._lock:
            status, headers, answer = self._apply(variables, body, environ)
            if status.startswith("2"):
                self._write(variables, body, answer)
        start_response(status, headers)
        return [answer]

    def close(self) -> None:
        with self._lock:
            if self._journal is not None:
                self._journal.close()

    def _apply(
        self, variables: dict[str, str], body: bytes, environ: dict | None = None
    ) -> tuple[str, list, bytes]:
        """Call the app with the request as ``variables`` and ``body`` (plus ``environ``'s own
        WSGI keys, live); its status, headers and whole answer. An initiated multipart upload's
        new id is mapped from the one the journal holds."""
        request = {**(environ or _replay_environ()), **variables}
        request["wsgi.input"] = io.BytesIO(body)
        request["CONTENT_LENGTH"] = str(len(body))
        request.pop("HTTP_TRANSFER_ENCODING", None)  # the body is whole now
        self._map_upload_id(request)
        answered: list = []
        chunks = self._app(request, lambda status, headers, *_: answered.extend((status, headers)))
        try:
            answer = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        status, headers = answered
        journaled_id = variables.get("x-upload-id")
        if journaled_id and status.startswith("2"):
            new_id = _UPLOAD_ID.search(answer.decode("utf-8", "replace"))
            if new_id:
                self._upload_ids[journaled_id] = new_id.group(1)
        return status, headers, answer

    def _write(self, variables: dict[str, str], body: bytes, answer: bytes) -> None:
        if "uploads" in variables.get("QUERY_STRING", "").split("&"):  # CreateMultipartUpload
            upload_id = _UPLOAD_ID.search(answer.decode("utf-8", "replace"))
            if upload_id:
                variables = {**variables, "x-upload-id": upload_id.group(1)}
        if b"<Error>" in answer[:512]:  # a 200 that stored nothing owes no event
            variables = {name: value for name, value in variables.items() if name != UPLOAD_EVENT}
        header = json.dumps({"variables": variables, "length": len(body)}).encode() + b"\n"
        self._journal.write(header + body)
        self._journal.flush()  # in the kernel's hands: a killed process loses none of it

    def _map_upload_id(self, environ: dict) -> None:
        """A multipart upload id that a replay drew again: the one the client holds -> ours."""
        query = environ.get("QUERY_STRING", "")
        if not self._upload_ids or "uploadId=" not in query:
            return
        environ["QUERY_STRING"] = _UPLOAD_ID_PARAMETER.sub(
            lambda match: f"{match.group(1)}uploadId={self._upload_ids.get(match.group(2), match.group(2))}",
            query,
        )


def _read_body(environ: dict) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    return stream.read(int(length)) if length else stream.read()


def _variables(environ: dict) -> dict[str, str]:
    """The request as a journal entry keeps it: its CGI variables (the method, path, query,
    headers), not the server's WSGI objects."""
    return {
        name: value
        for name, value in environ.items()
        if isinstance(value, str) and not name.startswith("wsgi.") and name != "CONTENT_LENGTH"
    }


def _replay_environ() -> dict:
    return {
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def _entries(journal: io.BufferedReader):
    """``(variables, body, offset after the entry)`` of each whole entry; stops at a torn one."""
    while True:
        header = journal.readline()
        if not header.endswith(b"\n"):
            return
        try:
            entry = json.loads(header)
        except ValueError:
            return
        body = journal.read(entry["length"])
        if len(body) < entry["length"]:
            return
        yield entry["variables"], body, journal.tell()
