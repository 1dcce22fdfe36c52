"""A local server in a process of its own, as the AWS service it stands for is a server of its
own: its HTTP work uses another core instead of taking turns under one interpreter lock.

The parent opens the listening socket and keeps it; the child (``python -m MODULE FD ARGUMENT``,
started through ``child_process``) inherits it as file descriptor ``FD``, serves on it and
prints one line, ``ready URL`` or ``error MESSAGE``. The parent stops it by closing the child's
stdin, which also happens when the parent dies, so a child never outlives its stack. Asked to
stop (stdin closed, or SIGTERM), a child is gone within ``STOP_SECONDS``, whatever it holds: it
closes cleanly if it can, and a watchdog ends the process at the bound if it cannot (a long
queue, an S3 that no longer answers); the parent waits that long (and a little) and SIGKILLs.

Why the parent holds the socket: a child that dies is restarted on the very same port (see
``supervisor``), with no window in which another process could take the port, and calls made
while it is down are not refused: the kernel queues their connections (up to
``wsgi_server.LISTEN_BACKLOG``) and the new child answers them. Clients keep the URL they were
given (``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``, the endpoint's S3 URL, the
execution environments' exports), so a restart on another port would strand every one of them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from local_stack.errors import LocalStackError
from local_stack.processes import child_process
from scones_core.wsgi_server import LISTEN_BACKLOG

# a child asked to stop has exited within this; the parent kills it a little after
STOP_SECONDS = 5.0
_STOP_TIMEOUT_SECONDS = STOP_SECONDS + 2.0
EXIT_STOP_OVERRAN = 3  # the watchdog's exit code: the clean stop did not end in time


@dataclass(frozen=True)
class Revival:
    """What ``ChildServer.revive_if_dead`` did: who died when and how, and the restart."""

    name: str
    pid: int
    died_at: datetime
    exit_status: str
    restart_seconds: float
    new_pid: int | None  # None: the restart failed
    error: str | None = None

    def describe(self) -> str:
        """One line for stderr."""
        died = f"the {self.name} (pid {self.pid}) died at {self.died_at:%H:%M:%S} ({self.exit_status})"
        if self.new_pid is None:
            return f"{died}; the restart failed after {self.restart_seconds:.1f} s: {self.error}"
        return f"{died}; restarted in {self.restart_seconds:.1f} s (pid {self.new_pid}, same URL)"


@dataclass
class ChildServer:
    """A running child server: ``url`` to call it, ``revive_if_dead`` to restart it on the same
    socket, ``close`` to stop it (raises if it failed). ``state_dir``, if any, is a folder the
    child keeps its state in across restarts; it is removed on close."""

    name: str
    module: str
    argument: str
    listener: socket.socket
    process: subprocess.Popen
    url: str
    state_dir: Path | None = None
    restarts: int = 0
    closed: bool = False
    stopping: bool = False  # asked to stop (``ask_to_stop``): not restarted any more
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def revive_if_dead(self) -> Revival | None:
        """If the child has ended (and ``close`` was not called), start a new one on the same
        socket and say what happened; None while it is alive. Raises nothing: a failed restart
        is in the answer, and the next call tries again."""
        with self._lock:
            if self.closed or self.stopping or self.process.poll() is None:
                return None
            dead, died_at = self.process, datetime.now().astimezone()
            child_process.stop(dead, 0)  # reaped already: this closes its pipes
            started = time.monotonic()
            try:
                self.process = _start(self.module, self.argument, self.listener, self.name)
            except LocalStackError as error:
                seconds = time.monotonic() - started
                return Revival(self.name, dead.pid, died_at, _status(dead), seconds, None, str(error))
            self.restarts += 1
            seconds = time.monotonic() - started
            return Revival(self.name, dead.pid, died_at, _status(dead), seconds, self.process.pid)

    def ask_to_stop(self) -> None:
        """Start its stop without waiting for it (``close`` waits): whoever closes several
        things lets this one stop meanwhile."""
        with self._lock:
            if self.closed or self.stopping:
                return
            self.stopping = True
            with contextlib.suppress(OSError):  # already broken: it died
                self.process.stdin.close()

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            try:
                stopped = child_process.stop(self.process, _STOP_TIMEOUT_SECONDS)
            finally:
                self.listener.close()
                if self.state_dir is not None:
                    shutil.rmtree(self.state_dir, ignore_errors=True)
        if not stopped:
            raise LocalStackError(f"the {self.name} did not stop within {_STOP_TIMEOUT_SECONDS:g} s")
        if self.process.returncode != 0:
            raise LocalStackError(
                f"the {self.name} exited with code {self.process.returncode} while stopping "
                "(its error is above)"
            )


def _status(process: subprocess.Popen) -> str:
    return child_process.exit_status(process.returncode)


def start_child_server(
    module: str, argument: str, name: str, host: str = "127.0.0.1", state_dir: Path | None = None
) -> ChildServer:
    """Open a listening socket on a free port of ``host``, start ``python -m module FD argument``
    on it and wait until it serves; raise if it cannot start."""
    listener = socket.create_server((host, 0), backlog=LISTEN_BACKLOG)
    try:
        process = _start(module, argument, listener, name)
    except BaseException:
        listener.close()
        if state_dir is not None:
            shutil.rmtree(state_dir, ignore_errors=True)
        raise
    host, port = listener.getsockname()[:2]
    return ChildServer(name, module, argument, listener, process, f"http://{host}:{port}", state_dir)


def _start(module: str, argument: str, listener: socket.socket, name: str) -> subprocess.Popen:
    fd = listener.fileno()
    process = child_process.spawn(module, str(fd), argument, pass_fds=(fd,))
    status, _, detail = (child_process.read_until_ready(process, str.strip) or "").partition(" ")
    if status != "ready":
        code = child_process.kill(process)
        reason = detail if status == "error" else f"its process exited with code {code}"
        raise LocalStackError(f"the {name} did not start: {reason}")
    return process


def serve_until_stopped(
    start: Callable[[str, socket.socket], Any], stop_seconds: float = STOP_SECONDS
) -> int:
    """In the child: ``start(argument, listener)`` returns a started ``ServingHandle`` (the
    argument and the inherited socket come from the command line); report it, serve until stdin
    closes (or SIGTERM), then close it, within ``stop_seconds`` (past them the process exits
    with ``EXIT_STOP_OVERRAN``). The exit code says whether all of that went well; an error
    while closing is one line on stderr."""
    # Ctrl-C reaches the whole process group; the parent decides when we stop, after the last call
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # stop, but close cleanly first
    try:
        listener = socket.socket(fileno=int(sys.argv[1]))
        handle = start(sys.argv[2], listener)
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
        # the main thread may wait on threads that wait on anything (a queued request, an S3
        # call); a second SIGTERM would only set ``stop`` again, so the bound is kept here
        closed = threading.Event()
        threading.Thread(target=_exit_unless, args=(closed, stop_seconds), daemon=True).start()
        code = _close(handle)
        closed.set()
    return code


def _close(handle: Any) -> int:
    try:
        handle.close()
    except Exception as error:
        print(f"{_name()}: while stopping: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


def _exit_unless(closed: threading.Event, seconds: float) -> None:
    if not closed.wait(seconds):
        print(
            f"{_name()}: did not stop within {seconds:g} s; exiting now (what it held is dropped)",
            file=sys.stderr,
            flush=True,
        )
        os._exit(EXIT_STOP_OVERRAN)


def _name() -> str:
    """This child's module (``endpoint_server``), for its lines on stderr."""
    return Path(sys.argv[0]).stem
