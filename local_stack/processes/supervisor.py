"""The local stack heals itself: a thread watches its child servers (S3, the endpoint) and
restarts one that dies, on the socket it served on (``child_server``), so its URL stays the
one every client holds. Each death is one line on stderr: what died, when, how, and how long
the restart took. (The Lambda execution environments need no watching: the pool replaces a
dead one on its next invocation, as Lambda does.)

Calls that were in hand when a server died fail the way a network failure does (the connection
drops; SDKs retry it); calls made while it restarts wait in the kernel's queue and are answered
by the new process. A restart that fails is tried again, waiting a little longer each time.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence

from local_stack.processes.child_server import ChildServer, Revival

_CHECK_SECONDS = 0.2  # how soon a death is noticed; a check is one waitpid per server
_MAX_BACKOFF_SECONDS = 30.0


def report_to_stderr(revival: Revival) -> None:
    print(f"local_stack: {revival.describe()}", file=sys.stderr, flush=True)


class Supervisor:
    """Watches ``servers`` (restarted in this order: S3 before the endpoint that writes to it)
    until ``stop``; ``revivals`` lists what it did."""

    def __init__(
        self,
        servers: Sequence[ChildServer],
        report: Callable[[Revival], None] = report_to_stderr,
        check_seconds: float = _CHECK_SECONDS,
    ) -> None:
        self._servers = list(servers)
        self._report = report
        self._check_seconds = check_seconds
        self._stopped = threading.Event()
        self._not_before = {id(server): 0.0 for server in self._servers}
        self._backoff = {id(server): check_seconds for server in self._servers}
        self.revivals: list[Revival] = []
        self._thread = threading.Thread(target=self._run, name="child-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (waits for a restart in hand): call before closing the servers."""
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopped.wait(self._check_seconds):
            for server in self._servers:
                if time.monotonic() >= self._not_before[id(server)]:
                    self._check(server)

    def _check(self, server: ChildServer) -> None:
        revival = server.revive_if_dead()
        if revival is None:
            return
        self.revivals.append(revival)
        self._report(revival)
        key = id(server)
        if revival.new_pid is None:  # try again later, a little later each time
            self._not_before[key] = time.monotonic() + self._backoff[key]
            self._backoff[key] = min(2 * self._backoff[key], _MAX_BACKOFF_SECONDS)
        else:
            self._backoff[key] = self._check_seconds
