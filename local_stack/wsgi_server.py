"""Serve a WSGI app on a loopback port from a background thread, with waitress.

Both local servers, moto's and the SageMaker Runtime endpoint's, run here. Not on werkzeug's
development server (the one moto's ``ThreadedMotoServer`` uses): it answers every request
with ``Connection: close``, so each AWS call opens a new TCP connection and the server starts
a thread for it, and it waits 10 ms after each answer for body bytes nobody sends. Waitress
keeps boto3's connections alive and answers from a fixed pool of threads. Measured on this
2-core machine, S3 ``GetObject`` through moto: 108 requests/s on werkzeug, 165 on waitress
(with the dispatcher cache of ``lambda_bridge.moto_app``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import waitress

# "Task queue depth is N" whenever requests wait for a thread: expected under a benchmark.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)


@dataclass
class ServingHandle:
    """A WSGI app served on a background thread; ``close`` stops it (and closes the app)."""

    server: Any  # waitress.server.TcpWSGIServer
    thread: threading.Thread
    app: Any
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    _closed: bool = field(default=False, repr=False)

    @property
    def host(self) -> str:
        return str(self.server.effective_host)

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def close(self) -> None:
        """Stop accepting, let the requests in hand finish, close every connection, then close
        the app (the endpoint flushes its data capture there)."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self.server.pull_trigger()  # wakes the poll loop, which then sees _stopping
        self.thread.join()
        self.server.task_dispatcher.shutdown(timeout=5)
        for channel in list(self.server._map.values()):
            channel.close()
        close_app = getattr(self.app, "close", None)
        if close_app is not None:
            close_app()

    def __enter__(self) -> ServingHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def serve(
    app: Any, host: str = "127.0.0.1", port: int = 0, threads: int = 32, name: str = "wsgi"
) -> ServingHandle:
    """Serve ``app`` on ``host:port`` (0: a free port, read back from ``handle.port``).

    ``threads`` bounds the requests answered at once; the local stack's callers (16 executions
    in flight, each with a handler's call and a poll) stay under the default.
    """
    server = waitress.create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        asyncore_use_poll=True,  # select() stops at 1,024 file descriptors
        ident="local-stack",
    )
    stopping = threading.Event()

    def run() -> None:
        # one poll at a time, so that close() can stop the loop from another thread
        while not stopping.is_set():
            server.asyncore.loop(timeout=1.0, map=server._map, use_poll=True, count=1)

    thread = threading.Thread(target=run, name=f"{name}-{server.effective_port}", daemon=True)
    thread.start()
    return ServingHandle(server=server, thread=thread, app=app, _stopping=stopping)
