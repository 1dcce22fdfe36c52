"""The reviewed data set in S3: ``<prefix>images/<review id><ext>`` and ``<prefix>reviewed.lst``, a
``.lst`` as ``training_job stage`` writes it (``index<TAB>label<TAB>path``, the path relative to
``images/``), and ``<prefix>verdicts.jsonl``, one JSON object per review: the model's answer beside
the reviewer's (``monitoring report --reviewed`` reads it). Writing one verdict twice leaves one
entry and the same bytes (the path and the record are the review's id); a later, different verdict
on the same photo replaces the earlier one."""

from __future__ import annotations

import posixpath
from datetime import UTC, datetime
from typing import Any

from review.verdicts import LABELS, PendingReview
from scones_core.lst import LstEntry, format_lst
from scones_core.reviewed_dataset import (
    IMAGES,
    LST_NAME,
    VERDICTS_NAME,
    format_verdicts,
    read_entries,
    read_verdicts,
)


def image_name(review: PendingReview) -> str:
    extension = posixpath.splitext(review.s3_key)[1].lower() or ".png"
    return f"{review.id}{extension}"


def with_entry(entries: list[LstEntry], path: str, label: int) -> list[LstEntry]:
    """``entries`` with ``path`` labelled ``label``: replaced in place, or appended with the next index."""
    for number, entry in enumerate(entries):
        if entry.path == path:
            updated = list(entries)
            updated[number] = LstEntry(entry.index, label, path)
            return updated
    return [*entries, LstEntry(max((e.index for e in entries), default=-1) + 1, label, path)]


def without_entry(entries: list[LstEntry], path: str) -> list[LstEntry]:
    """``entries`` less ``path``: a photo a reviewer called neither is no training data."""
    return [entry for entry in entries if entry.path != path]


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


def with_verdict(records: list[dict], record: dict) -> list[dict]:
    """``records`` with ``record``: the same verdict again changes nothing (its first time is kept),
    another verdict on the same review replaces it in place, a new review is appended."""
    for number, existing in enumerate(records):
        if existing["id"] == record["id"]:
            if existing["verdict"] == record["verdict"]:
                return records
            return [*records[:number], record, *records[number + 1 :]]
    return [*records, record]


def _put_if_changed(s3: Any, bucket: str, key: str, old: str, new: str, content_type: str) -> None:
    # a repeated verdict rewrites nothing: the set's objects (and their versions) stay as they were
    if new != old:
        s3.put_object(Bucket=bucket, Key=key, Body=new.encode(), ContentType=content_type)


def add_verdict(
    s3: Any,
    bucket: str,
    prefix: str,
    review: PendingReview,
    verdict: str,
    decided_at: datetime | None = None,
) -> str | None:
    """Record the verdict: a label copies the photo into the set and lists it with that label (its
    key is returned); ``neither`` takes it out of the .lst (None). Either way ``verdicts.jsonl``
    keeps the model's answer beside the reviewer's."""
    entries = read_entries(s3, bucket, prefix)
    records = read_verdicts(s3, bucket, prefix)
    name = image_name(review)
    key = None
    if verdict in LABELS:
        key = f"{prefix}{IMAGES}/{name}"
        # read-modify-write: two reviewers deciding in the same instant could lose one line (the
        # image stays); the review queue hands each photo to one reviewer at a time
        updated = with_entry(entries, name, LABELS.index(verdict))
        if updated != entries:  # the .lst is written last: a listed photo was copied already
            s3.copy_object(
                Bucket=bucket, Key=key, CopySource={"Bucket": review.s3_bucket, "Key": review.s3_key}
            )
    else:
        updated = without_entry(entries, name)
    record = verdict_record(review, verdict, name if key else None, decided_at or datetime.now(UTC))
    _put_if_changed(
        s3,
        bucket,
        prefix + VERDICTS_NAME,
        format_verdicts(records),
        format_verdicts(with_verdict(records, record)),
        "application/x-ndjson",
    )
    _put_if_changed(s3, bucket, prefix + LST_NAME, format_lst(entries), format_lst(updated), "text/plain")
    return key
