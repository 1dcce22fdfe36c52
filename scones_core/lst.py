"""The ``.lst`` format of SageMaker's image-classification algorithm (and im2rec):
``index<TAB>label<TAB>relative path`` per line. Training's channels, the local model and the
reviewed data set all read and write it here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from scones_core.project import CLASS_NAMES


class LstFormatError(ValueError):
    """A ``.lst`` file that is not ``index<TAB>label<TAB>relative path`` per line."""


@dataclass(frozen=True)
class LstEntry:
    index: int
    label: int
    path: str


def parse_lst(text: str, n_classes: int = len(CLASS_NAMES)) -> list[LstEntry]:
    """Parse the text of a ``.lst`` file; blank lines are skipped, anything else malformed raises."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise LstFormatError(
                f"line {number}: expected 'index<TAB>label<TAB>path', got {len(parts)} field(s): {raw!r}"
            )
        index_text, label_text, path = (part.strip() for part in parts)
        try:
            index = int(index_text)
            label_value = float(label_text)  # im2rec writes labels as 1.000000
        except ValueError as error:
            raise LstFormatError(f"line {number}: index and label must be numbers: {raw!r}") from error
        label = int(label_value)
        if label != label_value or not 0 <= label < n_classes:
            raise LstFormatError(f"line {number}: label {label_text!r} is not one of 0..{n_classes - 1}")
        if not path:
            raise LstFormatError(f"line {number}: empty path")
        entries.append(LstEntry(index=index, label=label, path=path))
    return entries


def read_lst(path: Path | str) -> list[LstEntry]:
    return parse_lst(Path(path).read_text(encoding="utf-8"))


def format_lst(entries: Iterable[LstEntry]) -> str:
    return "".join(f"{entry.index}\t{entry.label}\t{entry.path}\n" for entry in entries)
