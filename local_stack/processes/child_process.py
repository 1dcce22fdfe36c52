"""The one way the local stack starts, waits for and stops a process of its own: ``python -m
MODULE ...`` with pipes, a ready line read back (the child is killed if anything goes wrong
before it), and a stop that asks first and kills at the deadline. The S3 and endpoint servers,
the Lambda execution environments and ``up`` run as a child of ``bench`` all go through here.

A subprocess rather than ``multiprocessing``: its spawn start method runs the parent's
``__main__`` again, which a script without an ``if __name__ == "__main__"`` guard does not survive.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import TypeVar

from local_stack.settings import REPO_ROOT

T = TypeVar("T")


def spawn(
    module: str, *arguments: str, env: Mapping[str, str] | None = None, pass_fds: tuple[int, ...] = ()
) -> subprocess.Popen:
    """Start ``python -m module arguments...`` in the repository, text pipes on stdin and stdout;
    ``pass_fds``: file descriptors the child inherits (a listening socket the parent keeps)."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *arguments],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=dict(env) if env is not None else None,
        pass_fds=pass_fds,
    )


def read_until_ready(process: subprocess.Popen, ready: Callable[[str], T | None]) -> T | None:
    """Read the child's stdout line by line until ``ready(line)`` returns a value, and return it.
    None: its stdout ended first (it has exited and is reaped). An error in between (or Ctrl-C)
    kills the child before it propagates, so that no half-started child is left behind."""
    try:
        for line in process.stdout:
            answer = ready(line)
            if answer is not None:
                return answer
    except BaseException:
        kill(process)
        raise
    process.wait()
    return None


def kill(process: subprocess.Popen) -> int:
    """Kill and reap; its exit code."""
    process.kill()
    return process.wait()


def stop(process: subprocess.Popen, timeout: float, *, by_signal: bool = False) -> bool:
    """Ask the child to stop (close its stdin, or SIGTERM with ``by_signal``), wait ``timeout``
    seconds, kill it past that. True if it stopped by itself; its pipes are closed either way."""
    if process.poll() is None:
        if by_signal:
            process.send_signal(signal.SIGTERM)
        else:
            with contextlib.suppress(OSError):  # already broken: it died
                process.stdin.close()
    try:
        process.wait(timeout=max(0.0, timeout))
        stopped = True
    except subprocess.TimeoutExpired:
        kill(process)
        stopped = False
    for pipe in (process.stdin, process.stdout):
        with contextlib.suppress(OSError):
            pipe.close()
    return stopped


def exit_status(code: int) -> str:
    """An exit code as Lambda words it: ``exit status 3``, or ``signal: killed`` for a signal."""
    if code < 0:
        return f"signal: {(signal.strsignal(-code) or str(-code)).lower()}"
    return f"exit status {code}"
