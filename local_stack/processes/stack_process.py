"""The local stack in a process of its own (``python -m local_stack up``), for a client in this one.

Python runs one thread at a time per process. With the stack (moto, its interpreter, the
handlers) and the client that starts and polls the executions in one process, they take turns
on one core; in two processes they use two, as they would against AWS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from local_stack.errors import LocalStackError
from local_stack.processes import child_process

_STOP_TIMEOUT_SECONDS = 30


@dataclass
class StackProcess:
    """A running ``up``: its exports, bucket and state machine, and how to stop it."""

    process: subprocess.Popen
    environment: dict[str, str]
    bucket: str
    state_machine_arn: str

    def client(self, service: str, **options: Any) -> Any:
        """A boto3 client for the stack's moto server (S3, Step Functions...); ``options`` go to
        boto3's ``client`` (e.g. ``config``)."""
        return boto3.Session(
            aws_access_key_id=self.environment["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.environment["AWS_SECRET_ACCESS_KEY"],
            region_name=self.environment["AWS_DEFAULT_REGION"],
        ).client(
            service,
            endpoint_url=self.environment.get(
                f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}", self.environment["AWS_ENDPOINT_URL"]
            ),
            **options,
        )

    def cpu_seconds(self) -> float | None:
        """CPU time the stack's processes have used so far; Linux only, None elsewhere."""
        parts = self.cpu_seconds_by_part()
        return sum(parts.values()) if parts else None

    def child_pids(self, module: str) -> list[int]:
        """The pids of ``up``'s children that run ``python -m module``; Linux only, [] elsewhere."""
        return [pid for _, pid in self.processes() if _module_of(pid) == module]

    def processes(self) -> list[tuple[str, int]]:
        """``(part, pid)`` of ``up`` itself and of each of its children (S3, the endpoint, each
        execution environment), children in pid order; Linux only, [] elsewhere."""
        try:
            children = sorted(pid for pid, stat in _process_stats() if stat[1] == self.process.pid)
        except OSError:
            return []
        return [("moto + interpreter", self.process.pid)] + [
            (_CHILD_PARTS.get(_module_of(pid), "other"), pid) for pid in children
        ]

    def cpu_seconds_by_part(self) -> dict[str, float]:
        """CPU time so far of ``up`` itself (moto and the interpreter) and of each kind of child
        (the execution environments, S3, the endpoint); Linux only, empty elsewhere. A child that
        ended (a replaced execution environment) no longer counts."""
        try:
            stats = {
                pid: stat
                for pid, stat in _process_stats()
                if pid == self.process.pid or stat[1] == self.process.pid
            }
        except OSError:
            return {}
        parts: dict[str, float] = {}
        for pid, stat in stats.items():
            is_up = pid == self.process.pid
            part = "moto + interpreter" if is_up else _CHILD_PARTS.get(_module_of(pid), "other")
            ticks = stat[11] + stat[12]  # utime + stime, proc(5)
            parts[part] = parts.get(part, 0.0) + ticks / os.sysconf("SC_CLK_TCK")
        return parts

    def close(self) -> None:
        """SIGTERM, as Ctrl-C: ``up`` flushes the data capture and stops its servers."""
        child_process.stop(self.process, _STOP_TIMEOUT_SECONDS, by_signal=True)

    def __enter__(self) -> StackProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def start_stack_process(options: list[str]) -> StackProcess:
    """Start ``python -m local_stack up OPTIONS`` and read its exports; raise if it dies first."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("AWS_ENDPOINT_URL")
    }  # a stack of its own, not one that this shell's exports point at
    process = child_process.spawn("local_stack", "up", "--stop-with-parent", *options, env=environment)
    exports: dict[str, str] = {}

    def serving(line: str) -> bool | None:
        if line.startswith("export "):
            name, _, value = line[len("export ") :].strip().partition("=")
            exports[name] = value
        return True if line.startswith("# serving") else None

    if not child_process.read_until_ready(process, serving):
        raise LocalStackError(
            f"`python -m local_stack up` stopped before serving (exit code {process.returncode})"
        )
    # keep reading what it prints, or it blocks once the pipe is full
    threading.Thread(target=_forward, args=(process.stdout,), daemon=True).start()
    # the stack's own two exports; the client's environment is the rest, as a shell's would be
    bucket, state_machine_arn = exports.pop("IMAGE_BUCKET"), exports.pop("STATE_MACHINE_ARN")
    return StackProcess(process, exports, bucket, state_machine_arn)


def _forward(stream: Any) -> None:
    for line in stream:
        sys.stdout.write(line)


_CHILD_PARTS = {
    "local_stack.processes.execution_environments": "execution environments",
    "local_stack.processes.endpoint_server": "endpoint",
    "local_stack.processes.s3_server": "S3",
}


def _module_of(pid: int) -> str:
    """``M`` of a ``python -m M ...`` process ('' if it is not one, or has ended)."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    return arguments[2].decode() if len(arguments) > 2 and arguments[1] == b"-m" else ""


def _process_stats():
    """``(pid, fields after the command name)`` of every process, from /proc/PID/stat; field 1
    of those is the parent's pid."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended meanwhile
            continue
        yield int(entry.name), [fields[0], *map(int, fields[1:20])]


def resident_bytes(pid: int) -> int | None:
    """The process's resident memory (RSS, ``VmRSS`` of /proc/PID/status); None if it has ended
    or this is not Linux."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024  # kB
    return None
