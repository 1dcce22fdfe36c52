"""The local S3: a moto server of its own, in a process of its own (see ``child_server``).

S3 is the one service that the Step Functions interpreter never calls, so it needs no share of
the interpreter's moto: the images the handlers read and the capture the endpoint writes are
served here, on another core, while the stack's process runs the interpreter and the handlers.
Clients find it through ``AWS_ENDPOINT_URL_S3``.

What it has accepted survives its process: each change goes to a journal in a folder that the
parent keeps (``s3_journal``), and a restarted S3 replays it before it serves.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from local_stack.processes.child_server import ChildServer, serve_until_stopped, start_child_server

JOURNAL_NAME = "journal"


def start_s3_server(host: str = "127.0.0.1") -> ChildServer:
    """Start the local S3 with an empty journal folder of its own (removed when it closes)."""
    state_dir = Path(tempfile.mkdtemp(prefix="local_stack-s3-"))
    return start_child_server("local_stack.processes.s3_server", str(state_dir), "local S3", host, state_dir)


def _start(state_dir: str, listener):
    from local_stack.aws.moto_patches import moto_app
    from local_stack.processes.s3_journal import JournaledApp
    from local_stack.processes.wsgi_server import serve

    app = JournaledApp(moto_app(), Path(state_dir) / JOURNAL_NAME)
    app.replay()  # before serving: a call never sees half of the state
    return serve(app, name="s3", listener=listener)


if __name__ == "__main__":
    sys.exit(serve_until_stopped(_start))
