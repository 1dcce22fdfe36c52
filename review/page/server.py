"""``python -m review serve``: the page on 127.0.0.1 (never another address: no endpoint anyone
else can reach), served by cheroot, the WSGI server the local stack already runs on, until Ctrl-C
or SIGTERM; the photos still on a page then go back to the queue."""

from __future__ import annotations

import dataclasses
import logging
import secrets
import signal
import socket
import sys
import tempfile
import threading
from pathlib import Path

from review.exceptions import ReviewError, ReviewUsageError
from review.page.app import allowed_hosts, create_app
from review.page.desk import ReviewDesk
from review.service import Reviews
from scones_core.wsgi_server import serve as serve_wsgi

HOST = "127.0.0.1"
THREADS = 8  # a few tabs, each with a photo and a POST in flight

logger = logging.getLogger(__name__)


def listen(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:``port`` (0: a free one), so the port is known up front."""
    if not 0 <= port <= 65535:
        raise ReviewUsageError(f"--port {port}: must be 0 to 65535")
    try:
        return socket.create_server((HOST, port), backlog=64)
    except OSError as error:
        raise ReviewError(f"cannot listen on {HOST}:{port}: {error.strerror}") from error


def serve(reviews: Reviews, port: int) -> None:
    listener = listen(port)
    port = listener.getsockname()[1]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # claims of its own: two servers (or `review decide` beside one) never write one file at once
    with tempfile.TemporaryDirectory(prefix="review-page-") as claims_dir:
        desk = ReviewDesk(dataclasses.replace(reviews, claims=Path(claims_dir) / "claims.json"))
        app = create_app(desk, secrets.token_urlsafe(32), allowed_hosts(port))
        handle = serve_wsgi(app, port=port, threads=THREADS, name="review-page", listener=listener)
        try:
            print(f"# serving the review page on http://{HOST}:{port}/ (Ctrl-C stops)", flush=True)
            while not stop.wait(0.5):  # a short wait: Ctrl-C is seen at once
                pass
        finally:
            handle.close()
            listener.close()
            try:
                desk.release_all()
            except Exception as error:  # the claims lapse by themselves after 5 minutes
                print(f"review: the photos on the page were not handed back ({error})", file=sys.stderr)
