"""The reviewed data set in S3: ``<prefix>images/<review id><ext>`` and ``<prefix>reviewed.lst``, a
``.lst`` as ``training_job stage`` writes it (``index<TAB>label<TAB>path``, the path relative to
``images/``), and ``<prefix>verdicts.jsonl``, one JSON object per review: the model's answer beside
the reviewer's (``monitoring report --reviewed`` reads it).

**Every verdict kept, in every interleaving.** Both files are shared by every reviewer, so each is
changed by read, change, *conditional* write: PutObject with ``IfMatch=<the ETag read>`` (or
``IfNoneMatch='*'`` while the file does not exist), which S3 refuses with 412 PreconditionFailed
when another writer got there first (409 ConditionalRequestConflict while a conflicting write is in
flight); the loser reads again and retries, a bounded number of times with jittered backoff, then
``ReviewedSetBusy``. We chose this over one object per verdict assembled by its readers because:

- a review is decided once, and "first verdict wins" needs a conditional write anyway
  (``IfNoneMatch`` on something per review), so conditional writes are needed either way;
- the set stays the two files that every reader already reads (``training_job stage``, ``monitoring
  report``, an ``aws s3 sync`` copy; the ``.lst`` is im2rec's format as is): no listing of thousands
  of small objects per report or staging, no second layout to assemble and keep compatible;
- reviewers decide a few photos a minute: the whole-file rewrite stays small, and contention (eight
  reviewers at the same instant, measured in tests/integration/test_concurrent_verdicts.py) ends
  within a few retries.

**Decided once.** ``verdicts.jsonl`` is the arbiter and is written first: the first record of a
review stands; the same verdict again changes nothing (so a decide that died half-way can be run
again and completes the rest), a different one is refused with ``VerdictAlreadyGiven`` before
anything is written or answered. The ``.lst`` is written after the record and after the image copy.

**Names hold no separator.** An image is named ``<review id><ext>``, ``ext`` from the image's real
format (its first bytes, else the Content-Type S3 gives), never from the key's text."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from review.exceptions import ReviewedSetBusy, UnsafeImageName, VerdictAlreadyGiven
from review.verdicts import LABELS, PendingReview
from scones_core.lst import LstEntry
from scones_core.reviewed_dataset import (
    IMAGES,
    LST_NAME,
    VERDICTS_NAME,
    format_reviewed_lst,
    format_verdicts,
    is_safe_image_name,
    parse_reviewed_lst,
    parse_verdicts_kept,
    read_entries,
    read_object,
    read_verdicts,
)

__all__ = ["add_verdict", "image_name", "read_entries", "read_verdicts"]

logger = logging.getLogger(__name__)

#: conditional writes tried per file before ReviewedSetBusy (eight writers at once need at most 8)
WRITE_ATTEMPTS = 40
#: the backoff before retry n is uniform in [0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**n)]
BACKOFF_BASE_S = 0.01
BACKOFF_CAP_S = 0.5
#: what S3 answers a conditional PutObject that lost: the ETag moved (412), a write in flight
#: (409), or an IfMatch on an object deleted meanwhile (404)
LOST_WRITE_ERRORS = ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey")

# the image formats' signatures (first bytes), then the Content-Types S3 may give
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF87a", ".gif"),
    (b"GIF89a", ".gif"),
    (b"BM", ".bmp"),
    (b"II*\x00", ".tif"),
    (b"MM\x00*", ".tif"),
)
_CONTENT_TYPES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/heif": ".heif",
}
UNKNOWN_FORMAT = ".img"
HEAD_BYTES = 32


def extension_of(head: bytes, content_type: str | None) -> str:
    """The image's extension from its first bytes, else its Content-Type, else ``.img``: always
    one of a fixed few, whatever the key says."""
    for signature, extension in _SIGNATURES:
        if head.startswith(signature):
            return extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1"):
        return ".heic"
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return _CONTENT_TYPES.get(media_type, UNKNOWN_FORMAT)


def image_extension(s3: Any, review: PendingReview) -> str:
    """The photo's real format: its first bytes read with a ranged GetObject."""
    try:
        answer = s3.get_object(Bucket=review.s3_bucket, Key=review.s3_key, Range=f"bytes=0-{HEAD_BYTES - 1}")
    except ClientError as error:
        if error.response["Error"]["Code"] != "InvalidRange":  # an empty object
            raise
        return UNKNOWN_FORMAT
    return extension_of(answer["Body"].read(), answer.get("ContentType"))


def image_name(review: PendingReview, extension: str) -> str:
    name = f"{review.id}{extension}"
    if not is_safe_image_name(name):
        raise UnsafeImageName(
            f"review id {review.id!r} cannot name a file of the reviewed set (separator, whitespace "
            "or control character): nothing was written"
        )
    return name


def with_entry(lines: Sequence[LstEntry | str], path: str, label: int) -> list[LstEntry | str]:
    """``lines`` with ``path`` labelled ``label``: replaced in place, or appended with the next index
    (lines no reader can use are kept where they were)."""
    lines = list(lines)
    for number, line in enumerate(lines):
        if isinstance(line, LstEntry) and line.path == path:
            return [*lines[:number], LstEntry(line.index, label, path), *lines[number + 1 :]]
    return [*lines, LstEntry(max((_index_of(line) for line in lines), default=-1) + 1, label, path)]


def _index_of(line: LstEntry | str) -> int:
    """A line's index; a skipped line's too where it starts with one (no index is given twice)."""
    if isinstance(line, LstEntry):
        return line.index
    first = line.split("\t", 1)[0].strip()
    return int(first) if first.isdigit() else -1


def verdict_record(review: PendingReview, verdict: str, image: str | None, decided_at: datetime) -> dict:
    """One line of ``verdicts.jsonl``: what the model answered, what the person said, and when."""
    return {
        "id": review.id,
        "execution_id": review.execution_id,
        "s3_uri": review.s3_uri,
        "image": image,  # in images/; None for neither
        "model_label": review.label,
        "confidence": review.confidence,
        "inferences": list(review.inferences),
        "verdict": verdict,
        "decided_at": decided_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def with_verdict(lines: list[dict | str], record: dict) -> list[dict | str] | None:
    """``lines`` with ``record`` appended; None when the review has that verdict already (nothing to
    write; the first time is kept). Another verdict on the same review: VerdictAlreadyGiven."""
    for line in lines:
        if isinstance(line, dict) and line["id"] == record["id"]:
            if line.get("verdict") == record["verdict"]:
                return None
            raise VerdictAlreadyGiven(
                f"review {record['id']} was decided {line.get('verdict')!r} at {line.get('decided_at')}: "
                f"{record['verdict']!r} refused, nothing changed (the first verdict stands)"
            )
    return [*lines, record]


def conditional_update(
    s3: Any, bucket: str, key: str, change: Callable[[str], str | None], content_type: str
) -> bool:
    """Read ``key``, ``change`` its text (None: nothing to write), write it back only if nobody wrote
    it meanwhile (IfMatch the ETag read, IfNoneMatch '*' while absent); a lost write reads again.
    True when this call wrote. ``change`` may raise: nothing is written then."""
    for attempt in range(WRITE_ATTEMPTS):
        text, etag = read_object(s3, bucket, key)
        new = change(text or "")
        if new is None or new == text:
            return False
        condition = {"IfMatch": etag} if etag is not None else {"IfNoneMatch": "*"}
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=new.encode(), ContentType=content_type, **condition)
        except ClientError as error:
            if error.response["Error"]["Code"] not in LOST_WRITE_ERRORS:
                raise
            time.sleep(random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt)))
            continue
        return True
    raise ReviewedSetBusy(
        f"s3://{bucket}/{key}: {WRITE_ATTEMPTS} conditional writes lost to other reviewers; decide again"
    )


def add_verdict(
    s3: Any,
    bucket: str,
    prefix: str,
    review: PendingReview,
    verdict: str,
    decided_at: datetime | None = None,
) -> str | None:
    """Record the verdict, once: ``verdicts.jsonl`` gains the review's record (the model's answer
    beside the reviewer's); a label also copies the photo into the set and lists it with that label
    (its key is returned; ``neither``: None). The same verdict again writes nothing new and finishes
    what a decide that died half-way left; another verdict raises VerdictAlreadyGiven."""
    name = image_name(review, image_extension(s3, review)) if verdict in LABELS else None
    record = verdict_record(review, verdict, name, decided_at or datetime.now(UTC))

    def add_record(text: str) -> str | None:
        lines, skipped = parse_verdicts_kept(text)
        for line in skipped:
            logger.warning("review: s3://%s/%s%s", bucket, prefix, line)
        updated = with_verdict(lines, record)
        return None if updated is None else format_verdicts(updated)

    conditional_update(s3, bucket, prefix + VERDICTS_NAME, add_record, "application/x-ndjson")
    if name is None:
        return None
    key = f"{prefix}{IMAGES}/{name}"
    label = LABELS.index(verdict)
    copied = False

    def add_line(text: str) -> str | None:
        nonlocal copied
        lst = parse_reviewed_lst(text)
        for line in lst.skipped:
            logger.warning("review: s3://%s/%s%s", bucket, prefix, line)
        updated = with_entry(lst.lines, name, label)
        if updated == list(lst.lines):
            return None
        if not copied:  # the .lst is written last: a listed photo was copied already
            s3.copy_object(
                Bucket=bucket, Key=key, CopySource={"Bucket": review.s3_bucket, "Key": review.s3_key}
            )
            copied = True
        return format_reviewed_lst(updated)

    conditional_update(s3, bucket, prefix + LST_NAME, add_line, "text/plain")
    return key
