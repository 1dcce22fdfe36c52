"""What a batch found: each photo's outcome read from the result files the Distributed Map wrote
(ResultWriter: manifest.json, SUCCEEDED_0.json, FAILED_0.json), the printed summary and the JSON
file. The counts are the batch's own summary.json; the photos are read here for the table and
``--json`` (summary.json has none)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from local_stack.errors import BatchResultsUnreadable
from scones_core.project import FOLDER_MARKER_ERROR, is_folder_marker

REFUSED = "ThresholdConfidenceNotMet"
# the errored photos the printed summary names (--json has them all)
ERRORS_SHOWN = 10


@dataclass(frozen=True)
class PhotoResult:
    image: str  # the key under the batch's prefix (the file name, for an uploaded folder)
    key: str
    expected: str | None
    label: str | None  # the answer, when there is one
    confidence: float | None
    error: str | None  # ThresholdConfidenceNotMet for a refusal
    cause: str | None


def read_photo_results(s3: Any, summary: dict, prefix: str, expected: dict[str, str]) -> list[PhotoResult]:
    """Every photo's outcome, in key order, from the run that ``summary`` names."""
    bucket, manifest_key = _bucket_and_key(summary["results"])
    manifest = _read_json(s3, bucket, manifest_key)
    try:
        files = {status: [f["Key"] for f in entries] for status, entries in manifest["ResultFiles"].items()}
    except (KeyError, TypeError, AttributeError) as error:
        raise BatchResultsUnreadable(
            f"s3://{bucket}/{manifest_key} lists no result files ({error!r})"
        ) from None
    rows: list[dict] = []
    for key in files.get("SUCCEEDED", []):
        rows += [
            result
            for child in _read_json(s3, bucket, key)
            for result in json.loads(child["Output"])
            if result.get("error") != FOLDER_MARKER_ERROR  # no photo: the summary counts it apart
        ]
    for status in ("FAILED", "PENDING"):
        for key in files.get(status, []):
            rows += [
                {"item": item, "error": child.get("Error") or status, "cause": child.get("Cause")}
                for child in _read_json(s3, bucket, key)
                for item in json.loads(child["Input"])["Items"]
                if not is_folder_marker(item)
            ]
    return sorted((photo_result(row, prefix, expected) for row in rows), key=lambda r: r.key)


def photo_result(row: dict, prefix: str, expected: dict[str, str]) -> PhotoResult:
    """One photo's result as the batch's item processor writes it (PhotoAnswered or
    PhotoNotAnswered), or a photo of a failed child with the child's error."""
    key = row["item"]["Key"]
    image = key.removeprefix(prefix)
    answer = row.get("answer")
    if answer is not None:
        return PhotoResult(image, key, expected.get(image), answer["label"], answer["confidence"], None, None)
    return PhotoResult(image, key, expected.get(image), None, None, row["error"], row.get("cause"))


def counts_agree(summary: dict, photos: list[PhotoResult]) -> bool:
    """Whether the photos read agree with summary.json's counts (both come from the same files)."""
    errors = Counter(p.error for p in photos if p.error and p.error != REFUSED)
    return (
        summary["photos"] == len(photos)
        and summary["answered"] == sum(p.label is not None for p in photos)
        and summary["refused"] == sum(p.error == REFUSED for p in photos)
        and summary["errors"] == dict(errors)
    )


def print_summary(summary: dict, photos: list[PhotoResult], timing: dict, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    labels = ", ".join(f"{label} {count}" for label, count in summary["labels"].items())
    errors = ", ".join(f"{name} {count}" for name, count in summary["errors"].items()) or "none"
    print(
        f"photos {summary['photos']}  answered {summary['answered']} ({labels})  "
        f"refused {summary['refused']}  errors: {errors}\n"
        f"{timing['photos_per_second']} photos/s  {timing['wall_seconds']} s  "
        f"{timing['child_executions']} child executions",
        file=out,
    )
    expected = summary.get("expected")
    if expected:
        print(
            f"accuracy of answered {expected['accuracy']}  coverage {expected['coverage']}  "
            f"labelled {expected['labelled']}  named in the manifest but not in the batch "
            f"{expected['not_in_batch']}",
            file=out,
        )
        _print_matrix(expected["confusion_matrix"], out)
    errored = [p for p in photos if p.error and p.error != REFUSED]
    for photo in errored[:ERRORS_SHOWN]:
        print(f"error: {photo.image}  {photo.error}  {' '.join((photo.cause or '').split())[:100]}", file=out)
    if len(errored) > ERRORS_SHOWN:
        print(f"error: ... {len(errored) - ERRORS_SHOWN} more (--json has them all)", file=out)
    print(f"summary: {summary['summary']}", file=out)


def _print_matrix(matrix: dict[str, dict[str, int]], out: TextIO) -> None:
    columns = list(next(iter(matrix.values())))
    rows = [["expected \\ answer", *columns]] + [
        [expected, *(str(counts[c]) for c in columns)] for expected, counts in matrix.items()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), file=out
        )


def write_json(path: Path, summary: dict, timing: dict, photos: list[PhotoResult]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"summary": {**summary, **timing}, "photos": [asdict(p) for p in photos]}
    path.write_text(json.dumps(document, indent=2) + "\n")


def _bucket_and_key(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _read_json(s3: Any, bucket: str, key: str) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except (ClientError, BotoCoreError, ValueError) as error:
        raise BatchResultsUnreadable(f"s3://{bucket}/{key}: {error}") from error
