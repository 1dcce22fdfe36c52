"""The reviewed data set's layout and formats, as ``python -m review decide`` writes it and
``training_job stage`` and ``monitoring report --reviewed`` read it: ``<prefix>images/<review id><ext>``,
``<prefix>reviewed.lst`` (a ``.lst``, paths relative to ``images/``) and ``<prefix>verdicts.jsonl``,
one JSON object per review.

The strict ``parse_lst`` serves training's channels, which this project writes whole. The reviewed
set's ``.lst`` grows one verdict at a time, and an older version of ``review`` wrote a key's text
into it (a tab in ``photo.p<TAB>ng`` made a line of four fields): ``parse_reviewed_lst`` reads it
leniently, each line it cannot read skipped and reported by number and text (``SkippedLine``), and
keeps that line as it was, so a writer that rewrites the file loses nothing."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any

from scones_core.aws import parse_s3_uri
from scones_core.lst import LstEntry, LstFormatError, parse_lst
from scones_core.stack_outputs import read_stack

LST_NAME = "reviewed.lst"
VERDICTS_NAME = "verdicts.jsonl"
IMAGES = "images"


@dataclass(frozen=True)
class SkippedLine:
    """A line of the reviewed set that no reader can use: its number (from 1), its text, why."""

    name: str  # the file's name in the set: reviewed.lst or verdicts.jsonl
    number: int
    text: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name} line {self.number} skipped ({self.reason}): {self.text!r}"


@dataclass(frozen=True)
class ReviewedLst:
    """The reviewed ``.lst``, line for line: an ``LstEntry``, or a line no reader can use, kept as it
    was (a writer puts it back where it was) and named in ``skipped``."""

    lines: tuple[LstEntry | str, ...]
    skipped: tuple[SkippedLine, ...]

    @property
    def entries(self) -> list[LstEntry]:
        return [line for line in self.lines if isinstance(line, LstEntry)]


def is_safe_image_name(name: str) -> bool:
    """A name in ``images/`` that no reader can split or follow elsewhere: not empty, no leading
    dot, no separator (``/``, ``\\``), no whitespace and no control character."""
    return (
        bool(name)
        and not name.startswith(".")
        and not any(ch in "/\\" or ch.isspace() or unicodedata.category(ch).startswith("C") for ch in name)
    )


def parse_reviewed_lst(text: str) -> ReviewedLst:
    """The reviewed ``.lst`` read leniently: blank lines dropped, a line that is not
    ``index<TAB>label<TAB>name`` (``name`` safe, see ``is_safe_image_name``) kept apart and named."""
    lines: list[LstEntry | str] = []
    skipped: list[SkippedLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            [entry] = parse_lst(raw)
            if not is_safe_image_name(entry.path):
                raise LstFormatError(f"line 1: unsafe image name {entry.path!r}")
        except LstFormatError as error:
            lines.append(raw)
            skipped.append(SkippedLine(LST_NAME, number, raw, str(error).removeprefix("line 1: ")))
        else:
            lines.append(entry)
    return ReviewedLst(tuple(lines), tuple(skipped))


def format_reviewed_lst(lines: tuple[LstEntry | str, ...] | list[LstEntry | str]) -> str:
    return "".join(
        f"{line.index}\t{line.label}\t{line.path}\n" if isinstance(line, LstEntry) else line + "\n"
        for line in lines
    )


def parse_verdicts(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def parse_verdicts_kept(text: str) -> tuple[list[dict | str], list[SkippedLine]]:
    """``verdicts.jsonl`` line for line, for a writer: a record, or a line that is no JSON object,
    kept as it was and named."""
    lines: list[dict | str] = []
    skipped: list[SkippedLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError as error:
            record = None
            reason = f"not JSON: {error}"
        else:
            reason = "not a record with an id"
        if isinstance(record, dict) and "id" in record:
            lines.append(record)
        else:
            lines.append(raw)
            skipped.append(SkippedLine(VERDICTS_NAME, number, raw, reason))
    return lines, skipped


def format_verdicts(records: list[dict] | list[dict | str]) -> str:
    return "".join((json.dumps(r, sort_keys=True) if isinstance(r, dict) else r) + "\n" for r in records)


def read_object(s3: Any, bucket: str, key: str) -> tuple[str | None, str | None]:
    """The object's text and ETag, or (None, None) when it is not there yet (nobody has given a
    verdict): the ETag is what a conditional write names in ``IfMatch``."""
    from botocore.exceptions import ClientError

    try:
        answer = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None, None
        raise
    return answer["Body"].read().decode(), answer["ETag"]


def read_text(s3: Any, bucket: str, key: str) -> str | None:
    """The object's text, or None when it is not there yet (nobody has given a verdict)."""
    return read_object(s3, bucket, key)[0]


def read_entries(s3: Any, bucket: str, prefix: str) -> list[LstEntry]:
    """The .lst's entries, strictly (LstFormatError on any bad line)."""
    return parse_lst(read_text(s3, bucket, prefix + LST_NAME) or "")


def read_reviewed_lst(s3: Any, bucket: str, prefix: str) -> ReviewedLst:
    """The .lst leniently: its entries, and the lines skipped (``parse_reviewed_lst``)."""
    return parse_reviewed_lst(read_text(s3, bucket, prefix + LST_NAME) or "")


def read_verdicts(s3: Any, bucket: str, prefix: str) -> list[dict]:
    return parse_verdicts(read_text(s3, bucket, prefix + VERDICTS_NAME) or "")


def reviewed_location(cloudformation: Any, stack_name: str) -> str:
    """The set's s3:// URI, from the stack's ``ReviewedDataLocation`` Output (StackLookupError
    when the stack or the Output is missing: each caller says what to do instead)."""
    return read_stack(cloudformation, stack_name).reviewed_data_location


def reviewed_prefix(uri: str) -> tuple[str, str]:
    """`s3://bucket/reviewed` -> ('bucket', 'reviewed/'): the set is a folder."""
    bucket, key = parse_s3_uri(uri)
    folder = key.strip("/")
    return bucket, (folder + "/" if folder else "")
