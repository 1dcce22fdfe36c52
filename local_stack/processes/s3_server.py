"""The local S3: a moto server of its own, in a process of its own (see ``child_server``).

S3 is the one service that the Step Functions interpreter never calls, so it needs no share of
the interpreter's moto: the images the handlers read and the capture the endpoint writes are
served here, on another core, while the stack's process runs the interpreter and the handlers.
Clients find it through ``AWS_ENDPOINT_URL_S3``. moto's S3 serves behind S3's key rule
(``aws.s3_keys``: a key over 1,024 bytes is refused, ``KeyTooLongError``).

What it has accepted survives its process: each change goes to a journal in a folder that the
parent keeps (``s3_journal``), and a restarted S3 replays it before it serves.

An upload starts an execution, as the bucket's EventBridge rule does in AWS
(``aws.upload_trigger``): once the stack is deployed, the parent arms the trigger by writing the
resolved rule into that same folder (``arm_upload_trigger``), where every S3 process, a
restarted one too, reads it. A file, not a message to the running process: a restart needs no
one to arm it again, and the parent needs no channel to its child beyond the folder it already
keeps. Each upload's event is journaled in that folder too (``UPLOAD_EVENTS_NAME``) after the
object is stored and before the upload is answered; a restarted S3 delivers every event the
journal still owes (the worker marks each done once delivered). Replayed changes start nothing
themselves: their events were journaled when they were first accepted.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from local_stack.aws import upload_trigger
from local_stack.aws.delivery_journal import DeliveryJournal
from local_stack.aws.upload_trigger import ArmedRule, ObjectCreated, UploadTrigger
from local_stack.processes.child_server import ChildServer, serve_until_stopped, start_child_server

JOURNAL_NAME = "journal"
UPLOAD_TRIGGER_NAME = "upload-trigger.json"
UPLOAD_EVENTS_NAME = "upload-events.jsonl"
DELIVERY_WORKERS = 4  # StartExecutions in flight at once, as EventBridge delivers in parallel


def start_s3_server(host: str = "127.0.0.1") -> ChildServer:
    """Start the local S3 with an empty journal folder of its own (removed when it closes)."""
    state_dir = Path(tempfile.mkdtemp(prefix="local_stack-s3-"))
    return start_child_server("local_stack.processes.s3_server", str(state_dir), "local S3", host, state_dir)


def arm_upload_trigger(server: ChildServer, armed: ArmedRule) -> None:
    """From now on (and after any restart), an upload that matches ``armed``'s rule starts an
    execution. Written whole or not at all: the S3 process may read it at any moment."""
    if server.state_dir is None:
        raise ValueError("this S3 server keeps no state folder")
    path = server.state_dir / UPLOAD_TRIGGER_NAME
    partial = path.with_suffix(".partial")
    partial.write_text(armed.to_json())
    os.replace(partial, path)


def read_armed_rule(path: Path) -> ArmedRule | None:
    """The ``ArmedRule`` at ``path``; None until the parent wrote one."""
    try:
        return ArmedRule.from_json(path.read_text())
    except FileNotFoundError:
        return None


class UploadNoticingApp:
    """A WSGI app (the journaled moto S3) that hands each object it accepted creating (PutObject,
    CopyObject, CompleteMultipartUpload) to ``notice`` once the object is stored and before the
    answer is sent (so an acknowledged upload's event is on file). Every other request passes
    straight through."""

    def __init__(self, app: Any, notice: Callable[[ObjectCreated], None], close: Callable[[], None]) -> None:
        self._app = app
        self._notice = notice
        self._close = close

    def __call__(self, environ: dict, start_response: Any) -> Iterable[bytes]:
        reason = upload_trigger.object_created_reason(
            environ["REQUEST_METHOD"], environ.get("QUERY_STRING", ""), environ.get("HTTP_X_AMZ_COPY_SOURCE")
        )
        names = upload_trigger.bucket_and_key(environ.get("HTTP_HOST", ""), _raw_path(environ))
        if reason is None or names is None:
            return self._app(environ, start_response)
        answered: list = []

        def remember(status: str, headers: list, *exc_info: Any) -> Any:
            answered[:] = [status, headers]
            return start_response(status, headers, *exc_info)

        chunks = self._app(environ, remember)
        try:
            answer = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        status, headers = answered
        # CompleteMultipartUpload can fail with 200 and an <Error> body
        if not status.startswith("2") or b"<Error>" in answer[:512]:
            return [answer]
        response_headers = {name.lower(): value for name, value in headers}
        version = response_headers.get("x-amz-version-id")
        created = ObjectCreated(
            bucket=names[0],
            key=names[1],
            reason=reason,
            request_id=response_headers.get("x-amz-request-id") or upload_trigger.new_request_id(),
            source_ip=environ.get("REMOTE_ADDR", ""),
            time=datetime.now(UTC),
            sequencer=upload_trigger.new_sequencer(),
            version_id=version if version and version != "null" else None,
        )
        self._notice(created)
        return [answer]

    def close(self) -> None:
        self._close()


def _raw_path(environ: dict) -> str:
    """The request's path as the client sent it (percent-encoded): cheroot's REQUEST_URI, else
    PATH_INFO (decoded, as UTF-8 bytes read as Latin-1 by WSGI) encoded again."""
    if "REQUEST_URI" in environ:
        return environ["REQUEST_URI"]
    return quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/")


def _start(state_dir: str, listener):
    from local_stack.aws.moto_patches import moto_app
    from local_stack.aws.s3_keys import KeyRules
    from local_stack.processes.s3_journal import JournaledApp
    from scones_core.wsgi_server import serve

    journaled = JournaledApp(KeyRules(moto_app()), Path(state_dir) / JOURNAL_NAME)
    journaled.replay()  # before serving: a call never sees half of the state
    host, port = listener.getsockname()[:2]
    armed_rule = Path(state_dir) / UPLOAD_TRIGGER_NAME
    trigger = UploadTrigger(
        f"http://{host}:{port}",
        lambda: read_armed_rule(armed_rule),
        journal=DeliveryJournal(Path(state_dir) / UPLOAD_EVENTS_NAME),
        workers=DELIVERY_WORKERS,
    )
    trigger.resume()  # what a killed process acknowledged and did not deliver: its calls wait for `serve`

    def close() -> None:
        trigger.close()  # its last StartExecutions, while the stack's Step Functions still serve
        journaled.close()

    return serve(UploadNoticingApp(journaled, trigger.notice, close), name="s3", listener=listener)


if __name__ == "__main__":
    sys.exit(serve_until_stopped(_start))
