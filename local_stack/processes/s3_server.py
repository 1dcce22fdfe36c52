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
keeps. Each upload's event is journaled in that folder too (``UPLOAD_EVENTS_NAME``), as an
intent before the object is written; the write's journal entry names the intent, and the event
is queued once the object is stored, before the upload is answered. A restarted S3 delivers
every event the journal still owes whose write its own journal holds, and drops those whose
write never completed (the worker marks each done once delivered): every stored upload gets
its event, none is invented. Replayed changes start nothing themselves: their events were
journaled when they were first accepted.

A fault on purpose, for the tests that prove this: ``LOCAL_STACK_S3_FAULT`` set to
``kill-before-store:KEY`` or ``kill-after-store:KEY`` makes the S3 process kill itself (SIGKILL)
at that instant of the upload of KEY (before moto stores it, or once the object and its journal
entry are written and before the answer): once per stack (a file in the folder marks it spent,
so the restarted process serves on); several, comma-separated.
"""

from __future__ import annotations

import os
import signal
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
from local_stack.errors import UsageError
from local_stack.processes.child_server import ChildServer, serve_until_stopped, start_child_server
from local_stack.processes.s3_journal import UPLOAD_EVENT

JOURNAL_NAME = "journal"
UPLOAD_TRIGGER_NAME = "upload-trigger.json"
UPLOAD_EVENTS_NAME = "upload-events.jsonl"
DELIVERY_WORKERS = 4  # StartExecutions in flight at once, as EventBridge delivers in parallel
FAULT_VARIABLE = "LOCAL_STACK_S3_FAULT"
FAULT_SPENT_NAME = "fault-spent"
FAULT_INSTANTS = ("kill-before-store", "kill-after-store")
DELIVERY_CLOSE_SECONDS = 3.0


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


class FaultPoint:
    """``LOCAL_STACK_S3_FAULT`` read once: the S3 process kills itself at one instant of the upload
    of one key (several, comma-separated), each once per stack (a ``spent`` file each: the
    restarted process finds it there and serves on)."""

    def __init__(self, setting: str | None, spent: Path) -> None:
        self.faults = parse_faults(setting) if setting else []
        self._spent = spent

    def reached(self, instant: str, key: str) -> None:
        """The upload of ``key`` is at ``instant``: die if a fault waits there, once."""
        for number, fault in enumerate(self.faults):
            if fault != (instant, key):
                continue
            try:
                self._spent.with_name(f"{self._spent.name}-{number}").touch(exist_ok=False)
            except FileExistsError:
                return
            os.kill(os.getpid(), signal.SIGKILL)


def parse_faults(setting: str) -> list[tuple[str, str]]:
    """``kill-before-store:KEY`` or ``kill-after-store:KEY``, comma-separated, as (instant, key)
    pairs; else a named error."""
    faults = []
    for fault in setting.split(","):
        instant, _, key = fault.partition(":")
        if instant not in FAULT_INSTANTS or not key:
            raise UsageError(
                f"{FAULT_VARIABLE}={setting!r}: expected {' or '.join(FAULT_INSTANTS)}, ':' and an "
                "object key (several, comma-separated)"
            )
        faults.append((instant, key))
    return faults


class UploadNoticingApp:
    """A WSGI app (the journaled moto S3) that gives each request that creates an object
    (PutObject, CopyObject, CompleteMultipartUpload) its event's intent before the write
    (``trigger.intend``, its id in the request's ``UPLOAD_EVENT`` variable, which the S3 journal
    keeps), and once the object is stored and before the answer is sent, ``trigger.confirm``s it
    (so an acknowledged upload's event is queued), or ``trigger.cancel``s it if S3 refused the
    write. Every other request passes straight through."""

    def __init__(
        self, app: Any, trigger: Any, close: Callable[[], None], fault: FaultPoint | None = None
    ) -> None:
        self._app = app
        self._trigger = trigger
        self._close = close
        self._fault = fault or FaultPoint(None, Path())

    def __call__(self, environ: dict, start_response: Any) -> Iterable[bytes]:
        reason = upload_trigger.object_created_reason(
            environ["REQUEST_METHOD"], environ.get("QUERY_STRING", ""), environ.get("HTTP_X_AMZ_COPY_SOURCE")
        )
        names = upload_trigger.bucket_and_key(environ.get("HTTP_HOST", ""), _raw_path(environ))
        if reason is None or names is None:
            return self._app(environ, start_response)
        intended = ObjectCreated(
            bucket=names[0],
            key=names[1],
            reason=reason,
            request_id=upload_trigger.new_request_id(),
            source_ip=environ.get("REMOTE_ADDR", ""),
            time=datetime.now(UTC),
            sequencer=upload_trigger.new_sequencer(),
        )
        event_id = self._trigger.intend(intended)
        environ[UPLOAD_EVENT] = event_id
        self._fault.reached("kill-before-store", intended.key)
        answered: list = []

        def remember(status: str, headers: list, *exc_info: Any) -> Any:
            answered[:] = [status, headers]
            return start_response(status, headers, *exc_info)

        try:
            chunks = self._app(environ, remember)
            try:
                answer = b"".join(chunks)
            finally:
                getattr(chunks, "close", lambda: None)()
        except BaseException:
            self._trigger.cancel(event_id)  # nothing stored: the request ends in a server error
            raise
        self._fault.reached("kill-after-store", intended.key)
        status, headers = answered
        # CompleteMultipartUpload can fail with 200 and an <Error> body
        if not status.startswith("2") or b"<Error>" in answer[:512]:
            self._trigger.cancel(event_id)
            return [answer]
        response_headers = {name.lower(): value for name, value in headers}
        version = response_headers.get("x-amz-version-id")
        created = ObjectCreated(
            **{
                **vars(intended),
                "request_id": response_headers.get("x-amz-request-id") or intended.request_id,
                "version_id": version if version and version != "null" else None,
            }
        )
        self._trigger.confirm(event_id, created)
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
    # what a killed process stored and did not deliver (its calls wait for `serve`); an intent
    # whose write the journal does not hold never became an object
    trigger.resume(journaled.stored_events.__contains__)
    journaled.stored_events.clear()
    fault = FaultPoint(os.environ.get(FAULT_VARIABLE), Path(state_dir) / FAULT_SPENT_NAME)

    def close() -> None:
        # its last StartExecutions, while the stack's Step Functions still serve; within the
        # child's stop bound (child_server.STOP_SECONDS), what is undelivered stays in the journal
        trigger.close(timeout=DELIVERY_CLOSE_SECONDS)
        journaled.close()

    return serve(UploadNoticingApp(journaled, trigger, close, fault), name="s3", listener=listener)


if __name__ == "__main__":
    sys.exit(serve_until_stopped(_start))
