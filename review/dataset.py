"""The reviewed data set in S3: ``<prefix>images/<review id><ext>`` and ``<prefix>reviewed.lst``, a
``.lst`` as ``training_job stage`` writes it (``index<TAB>label<TAB>path``, the path relative to
``images/``). Writing one verdict twice leaves one entry (the path is the review's id); a later
verdict on the same photo replaces the earlier label."""

from __future__ import annotations

import posixpath
from typing import Any

from botocore.exceptions import ClientError

from review.verdicts import LABELS, PendingReview
from training_job.local_model.data import LstEntry, format_lst, parse_lst

LST_NAME = "reviewed.lst"
IMAGES = "images"


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


def read_entries(s3: Any, bucket: str, prefix: str) -> list[LstEntry]:
    try:
        body = s3.get_object(Bucket=bucket, Key=prefix + LST_NAME)["Body"].read().decode()
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return []
        raise
    return parse_lst(body)


def add_verdict(s3: Any, bucket: str, prefix: str, review: PendingReview, verdict: str) -> str:
    """Copy the photo into the set and list it with the reviewer's label; its key."""
    name = image_name(review)
    key = f"{prefix}{IMAGES}/{name}"
    s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": review.s3_bucket, "Key": review.s3_key})
    # read-modify-write: two reviewers deciding in the same instant could lose one line (the
    # image stays); the review queue hands each photo to one reviewer at a time
    entries = with_entry(read_entries(s3, bucket, prefix), name, LABELS.index(verdict))
    s3.put_object(
        Bucket=bucket, Key=prefix + LST_NAME, Body=format_lst(entries).encode(), ContentType="text/plain"
    )
    return key
