"""Serve a WSGI app on a loopback port from a background thread, with cheroot.

Both local servers, moto's and the SageMaker Runtime endpoint's, run here. Not on werkzeug's
development server (the one moto's ``ThreadedMotoServer`` uses): it answers every request with
``Connection: close``, so each AWS call opens a new TCP connection and the server starts a
thread for it, and it waits 10 ms after each answer for body bytes nobody sends. cheroot (the
server of CherryPy) keeps boto3's connections alive, answers from a fixed pool of threads, and
sends header names as the app wrote them (waitress, also faster than werkzeug here, capitalises
them, which turns S3 metadata keys into ``Plain`` where S3 answers ``plain``). Measured on this
2-core machine, S3 ``GetObject`` through moto: 108 requests/s on werkzeug, 177 on cheroot (with
the dispatcher cache of ``aws.moto_patches.moto_app``).

One difference from moto's own server remains: WSGI cannot tell ``x-amz-meta-a_b`` from
``x-amz-meta-a-b``, so an S3 metadata name with an underscore comes back with a dash (moto's
werkzeug handler keeps the original spelling). Nothing in this project uses S3 metadata.

The environ carries ``RAW_URI``, the request target exactly as the client sent it, as werkzeug's
server and gunicorn set it (cheroot sets only ``REQUEST_URI``). moto routes on it and decodes
an S3 key from it once; without it, moto takes the already-decoded ``PATH_INFO`` for the raw
path and decodes it again: the key ``a?b`` was stored as ``a``, ``a%20b`` as ``a b``, ``a%2Fb``
as ``a/b`` (different keys collided), and a key holding a newline matched no route (404).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from cheroot import wsgi

logger = logging.getLogger(__name__)

# connections the kernel holds until the server accepts them (cheroot's default is 5): 16
# executions in flight connect at once, and while a child server restarts, every call waits here
LISTEN_BACKLOG = 128

# environ key of a callable that drops the request's connection without an answer (the caller
# sees a connection error, as when the server's host is gone); the app returns after calling it
DROP_CONNECTION = "scones.drop_connection"


class _Gateway(wsgi.Gateway_10):
    """cheroot's WSGI 1.0 environ, plus ``RAW_URI`` (see the module's note) and
    ``DROP_CONNECTION``."""

    def get_environ(self) -> dict:
        environ = super().get_environ()
        environ["RAW_URI"] = environ["REQUEST_URI"]
        environ[DROP_CONNECTION] = lambda connection=self.req.conn: _drop(connection)
        return environ


def _drop(connection: Any) -> None:
    # both ways: what cheroot still writes (its answer to the app's return) goes nowhere
    with contextlib.suppress(OSError):
        connection.socket.shutdown(socket.SHUT_RDWR)


class _Server(wsgi.Server):
    listener: socket.socket | None = None  # a socket that is already listening: serve on it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gateway = _Gateway

    def bind(self, family: int, type: int, proto: int = 0) -> socket.socket:
        if self.listener is None:
            return super().bind(family, type, proto)
        self.socket = self.listener
        self.bind_addr = self.listener.getsockname()[:2]
        # as cheroot sets up a socket of its own: without it, Nagle's algorithm held small
        # answers back (bench at c=16: ~40 -> ~33 executions/s)
        if self.nodelay:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.socket

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        # cheroot writes these to stderr itself; a log record can be filtered
        logger.log(level, "%s", msg, exc_info=traceback)


@dataclass
class ServingHandle:
    """A WSGI app served on a background thread; ``close`` stops it (and closes the app)."""

    server: wsgi.Server
    thread: threading.Thread
    app: Any
    _closed: bool = field(default=False, repr=False)

    @property
    def host(self) -> str:
        return str(self.server.bind_addr[0])

    @property
    def port(self) -> int:
        return int(self.server.bind_addr[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        """Tell the app (its ``stop_serving``, if it has one: the endpoint drops its queue
        there), stop accepting, wait (up to the server's ``shutdown_timeout``) for the requests
        in hand, then close the app (the endpoint flushes its data capture there)."""
        if self._closed:
            return
        self._closed = True
        stop_serving = getattr(self.app, "stop_serving", None)
        if stop_serving is not None:
            stop_serving()
        self.server.stop()
        self.thread.join()
        close_app = getattr(self.app, "close", None)
        if close_app is not None:
            close_app()

    def __enter__(self) -> ServingHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def serve(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    threads: int = 32,
    name: str = "wsgi",
    listener: socket.socket | None = None,
) -> ServingHandle:
    """Serve ``app`` on ``host:port`` (0: a free port, read back from ``handle.port``), or on
    ``listener``, a socket already listening (a child server's, which its parent keeps open so
    that a restarted child answers on the same port; see ``child_server``).

    ``threads`` bounds the requests answered at once; the local stack's callers (16 executions
    in flight, each with a handler's call and a poll) stay under the default.
    """
    if listener is not None:
        host, port = listener.getsockname()[:2]
    server = _Server(
        (host, port),
        app,
        numthreads=threads,
        server_name=name,
        shutdown_timeout=5,
        request_queue_size=LISTEN_BACKLOG,
    )
    server.listener = listener
    server.prepare()  # binds, so that the port is known before this returns
    thread = threading.Thread(target=server.serve, name=f"{name}-{server.bind_addr[1]}", daemon=True)
    thread.start()
    return ServingHandle(server=server, thread=thread, app=app)
