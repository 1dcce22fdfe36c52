"""Deliveries that outlive their process: what the upload trigger owes EventBridge's target is
written here before the S3 request that caused it is answered, and marked done once delivered;
a new process reads back every entry not marked done and delivers it (at least once, as
EventBridge: an entry delivered just before its process was killed, not yet marked, is
delivered again).

The file is JSON lines: ``{"id": ..., "body": {...}}`` when an entry is recorded, ``{"done":
id}`` when it was delivered. Each line is written and flushed before ``record`` returns: in the
kernel's hands, so a killed process loses none of it, as the local S3's journal keeps its
objects (``processes/s3_journal``; neither calls fsync: a machine that loses power loses the
object and its event alike). A process killed in the middle of a line leaves a torn tail, cut
off when the journal is opened again: that request was never answered.

The file stays small: it is rewritten with only the entries still owed when it is opened, and
emptied whenever nothing is owed once it has grown past ``COMPACT_BYTES``.
"""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path
from typing import Any

COMPACT_BYTES = 1024 * 1024


class DeliveryJournal:
    """``open`` first (it answers what an earlier process left owed), then ``record`` each entry
    before its cause is acknowledged and ``done`` once it is delivered. Thread-safe."""

    def __init__(self, path: Path, compact_bytes: int = COMPACT_BYTES) -> None:
        self.path = Path(path)
        self._compact_bytes = compact_bytes
        self._lock = threading.Lock()
        self._file: io.BufferedWriter | None = None
        self._owed: set[str] = set()
        self._size = 0

    def open(self) -> list[tuple[str, dict[str, Any]]]:
        """``(id, body)`` of every entry recorded and not done, in the order recorded; the file is
        rewritten with only those (a torn tail dropped) and opened for the entries to come."""
        owed: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            with self.path.open("rb") as journal:
                for line in _whole_lines(journal):
                    if "done" in line:
                        owed.pop(line["done"], None)
                    else:
                        owed[line["id"]] = line["body"]
        partial = self.path.with_name(self.path.name + ".partial")
        with partial.open("wb") as rewritten:
            for entry_id, body in owed.items():
                rewritten.write(_line({"id": entry_id, "body": body}))
        os.replace(partial, self.path)  # whole or not at all: the old file stands until then
        with self._lock:
            self._file = self.path.open("ab")
            self._size = self._file.tell()
            self._owed = set(owed)
        return list(owed.items())

    def record(self, entry_id: str, body: dict[str, Any]) -> None:
        """Write the entry; it is on file (for any later process) when this returns."""
        self._write(_line({"id": entry_id, "body": body}), owed=entry_id)

    def done(self, entry_id: str) -> None:
        """The entry was delivered: no later process delivers it again."""
        self._write(_line({"done": entry_id}), delivered=entry_id)

    def owed(self) -> int:
        """How many entries are recorded and not done."""
        with self._lock:
            return len(self._owed)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _write(self, line: bytes, owed: str | None = None, delivered: str | None = None) -> None:
        with self._lock:
            if self._file is None:
                raise ValueError(f"the delivery journal {self.path.name} is not open")
            if owed is not None:
                self._owed.add(owed)
            if delivered is not None:
                self._owed.discard(delivered)
            if delivered is not None and not self._owed and self._size >= self._compact_bytes:
                self._file.truncate(0)  # nothing owed: nothing to keep (append mode writes at the end)
                self._size = 0
                return
            self._file.write(line)
            self._file.flush()
            self._size += len(line)


def _line(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode() + b"\n"


def _whole_lines(journal: io.BufferedReader):
    """Each whole line's JSON; stops at a torn one (the last, cut when the process died)."""
    for raw in journal:
        if not raw.endswith(b"\n"):
            return
        try:
            yield json.loads(raw)
        except ValueError:
            return
