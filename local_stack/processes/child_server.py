"""A local server in a process of its own, as the AWS service it stands for is a server of its
own: its HTTP work uses another core instead of taking turns under one interpreter lock.

The parent starts ``python -m MODULE ARGUMENT`` (``child_process``); the child serves on a free
port and prints one line, ``ready URL`` or ``error MESSAGE``; the parent stops it by closing the
child's stdin, which also happens when the parent dies, so a child never outlives its stack.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

from local_stack.errors import LocalStackError
from local_stack.processes import child_process

_STOP_TIMEOUT_SECONDS = 30


@dataclass
class ChildServer:
    """A running child server: ``url`` to call it, ``close`` to stop it (raises if it failed)."""

    name: str
    process: subprocess.Popen
    url: str

    def close(self) -> None:
        if not child_process.stop(self.process, _STOP_TIMEOUT_SECONDS):
            raise LocalStackError(f"the {self.name} did not stop within {_STOP_TIMEOUT_SECONDS} s")
        if self.process.returncode != 0:
            raise LocalStackError(
                f"the {self.name} exited with code {self.process.returncode} while stopping "
                "(its error is above)"
            )


def start_child_server(module: str, argument: str, name: str) -> ChildServer:
    """Start ``python -m module argument`` and wait until it serves; raise if it cannot start."""
    process = child_process.spawn(module, argument)
    status, _, detail = (child_process.read_until_ready(process, str.strip) or "").partition(" ")
    if status != "ready":
        code = child_process.kill(process)
        reason = detail if status == "error" else f"its process exited with code {code}"
        raise LocalStackError(f"the {name} did not start: {reason}")
    return ChildServer(name, process, detail)


def serve_until_stopped(start: Any) -> int:
    """In the child: ``start()`` returns a started ``ServingHandle``; report it, serve until stdin
    closes (or SIGTERM), then close it. The exit code says whether all of that went well."""
    # Ctrl-C reaches the whole process group; the parent decides when we stop, after the last call
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # stop, but close cleanly first
    try:
        handle = start()
    except Exception as error:
        print(f"error {type(error).__name__}: {error}", flush=True)
        return 1
    print(f"ready {handle.url}", flush=True)
    sys.stdout = sys.stderr  # nobody reads our stdout any more

    def wait_for_end_of_input() -> None:
        sys.stdin.read()  # returns when the parent closes our stdin, or dies
        stop.set()

    threading.Thread(target=wait_for_end_of_input, daemon=True).start()
    try:
        while not stop.wait(1.0):  # a timeout, so that SIGTERM's handler gets to run
            pass
    finally:
        handle.close()
    return 0
