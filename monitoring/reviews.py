"""The reviews section of the report: what people said about the photos the model was unsure of.

Two sources, each for what it can tell:

- **the reviewed data set** that ``python -m review decide`` writes (review/dataset.py):
  ``verdicts.jsonl`` holds one record per review decided, the model's label and confidence beside
  the reviewer's verdict. Completed reviews, agreement per class and the corrected photos come
  from it alone. ``reviewed.lst`` lines without a record (written before the records existed)
  are counted as labels and nothing more: their model answer is not known.
- **the capture**: the answers below the threshold. Under ``LowConfidenceAction Review`` each one
  asked a person for a review, so that count stands for the reviews requested; it is exact when
  the capture holds every call (100 % sampling), the report's threshold is the stack's, and the
  stack ran ``Review`` the whole time (under ``Fail`` the same answers were refused).

The capture knows no execution and the verdicts no capture event, so the two are not joined: the
verdicts are all those in the set, whatever the time the capture covers (their first and last
times are shown beside it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitoring.exceptions import ReviewedSetError
from scones_core.project import CLASS_NAMES

logger = logging.getLogger(__name__)
#: corrected photos listed in summary.json and on the page, the most confident first
CORRECTED_LISTED = 50
_RECORD_KEYS = ("id", "model_label", "confidence", "verdict", "decided_at")


@dataclass(frozen=True)
class ReviewedSet:
    location: str
    verdicts: list[dict]
    labels: list[int]  # the .lst's labels, one per photo in the set
    # the .lst's lines no reader can use (an older review wrote a key's tab into one), each named:
    # skipped, never a traceback
    skipped: tuple[str, ...] = ()


def reviewed_location(cloudformation: Any, stack_name: str) -> str:
    """The set's s3:// URI, from the stack's ``ReviewedDataLocation`` Output."""
    from scones_core.reviewed_dataset import reviewed_location as stack_reviewed_location
    from scones_core.stack_outputs import MissingStackOutput, StackLookupError

    try:
        return stack_reviewed_location(cloudformation, stack_name)
    except MissingStackOutput as error:
        raise ReviewedSetError(f"{error}: pass --reviewed s3://...") from None
    except StackLookupError as error:
        raise ReviewedSetError(f"cannot find the reviewed data set: {error}") from None


def read_reviewed_set(spec: str, s3_client: Any | None = None) -> ReviewedSet:
    """``s3://bucket/prefix`` or a local copy of it (``aws s3 sync``): its records and labels."""
    from scones_core.reviewed_dataset import LST_NAME, VERDICTS_NAME, parse_reviewed_lst, parse_verdicts

    if spec.startswith("s3://"):
        verdicts_text, lst_text = _read_s3(spec, (VERDICTS_NAME, LST_NAME), s3_client)
    else:
        verdicts_text, lst_text = _read_folder(Path(spec).expanduser(), (VERDICTS_NAME, LST_NAME))
    try:
        verdicts = parse_verdicts(verdicts_text)
    except ValueError as error:  # json's errors are ValueErrors
        raise ReviewedSetError(f"the reviewed data set at {spec} is malformed: {error}") from None
    lst = parse_reviewed_lst(lst_text)
    labels = [entry.label for entry in lst.entries]
    for line in lst.skipped:
        logger.warning("monitoring: the reviewed data set at %s: %s", spec, line)
    for number, record in enumerate(verdicts, 1):
        missing = [key for key in _RECORD_KEYS if not isinstance(record, dict) or key not in record]
        if missing:
            raise ReviewedSetError(f"{spec}{VERDICTS_NAME} line {number} lacks {', '.join(missing)}")
    return ReviewedSet(spec, verdicts, labels, tuple(str(line) for line in lst.skipped))


def _read_s3(spec: str, names: tuple[str, ...], s3_client: Any | None) -> list[str]:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, prefix = spec.removeprefix("s3://").partition("/")
    prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
    if s3_client is None:
        import boto3

        s3_client = boto3.client("s3")
    texts = []
    for name in names:
        try:
            texts.append(s3_client.get_object(Bucket=bucket, Key=prefix + name)["Body"].read().decode())
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("NoSuchKey", "404"):
                raise ReviewedSetError(f"cannot read s3://{bucket}/{prefix}{name}: {error}") from None
            texts.append("")  # no verdict yet
        except BotoCoreError as error:
            raise ReviewedSetError(f"cannot read s3://{bucket}/{prefix}{name}: {error}") from None
    return texts


def _read_folder(folder: Path, names: tuple[str, ...]) -> list[str]:
    if not folder.is_dir():
        raise ReviewedSetError(f"reviewed data set folder not found: {folder}")
    return [(folder / name).read_text() if (folder / name).is_file() else "" for name in names]


def confidence_range(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"min": None, "mean": None, "max": None}
    return {"min": min(values), "mean": sum(values) / len(values), "max": max(values)}


def agreement(verdicts: list[dict]) -> dict:
    """How often the reviewer's verdict was the model's label, overall and per the model's class;
    ``neither`` counts as disagreeing, as the ReviewerAgreed metric counts it."""

    def share(records: list[dict]) -> dict:
        agreed = sum(1 for r in records if r["verdict"] == r["model_label"])
        return {
            "reviewed": len(records),
            "agreed": agreed,
            "share": agreed / len(records) if records else None,
        }

    return {
        "overall": share(verdicts),
        "per_class": {name: share([r for r in verdicts if r["model_label"] == name]) for name in CLASS_NAMES},
    }


def corrected_photo(record: dict) -> dict:
    keys = ("id", "s3_uri", "model_label", "confidence", "verdict", "decided_at")
    return {key: record.get(key) for key in keys}


def reviews_summary(reviewed: ReviewedSet, below_threshold: int, threshold: float) -> dict:
    """summary.json's ``reviews`` object."""
    verdicts = reviewed.verdicts
    corrected = [r for r in verdicts if r["verdict"] in CLASS_NAMES and r["verdict"] != r["model_label"]]
    rejected = [r for r in verdicts if r["verdict"] not in CLASS_NAMES]
    recorded_labels = sum(1 for r in verdicts if r["verdict"] in CLASS_NAMES)
    times = sorted(str(r["decided_at"]) for r in verdicts)
    return {
        "location": reviewed.location,
        "requested": {
            "count": below_threshold,
            "source": f"capture: answers below the threshold {threshold:g}, each a review under "
            "LowConfidenceAction Review",
        },
        "completed": len(verdicts),
        "decided": {"first": times[0] if times else None, "last": times[-1] if times else None},
        "verdicts": {
            name: sum(1 for r in verdicts if r["verdict"] == name) for name in (*CLASS_NAMES, "neither")
        },
        "labels_in_set": dict(
            zip(CLASS_NAMES, (reviewed.labels.count(i) for i in range(len(CLASS_NAMES))), strict=True)
        ),
        "labels_without_record": max(0, len(reviewed.labels) - recorded_labels),
        "skipped_lines": list(reviewed.skipped),
        "agreement": agreement(verdicts),
        "corrected": {
            "count": len(corrected),
            "confidence": confidence_range([float(r["confidence"]) for r in corrected]),
            "photos": [
                corrected_photo(r)
                for r in sorted(corrected, key=lambda r: -float(r["confidence"]))[:CORRECTED_LISTED]
            ],
        },
        "rejected": {
            "count": len(rejected),
            "confidence": confidence_range([float(r["confidence"]) for r in rejected]),
        },
    }


def one_line(reviews: dict) -> str:
    """stderr's line: requested, completed, agreement, corrected."""
    overall = reviews["agreement"]["overall"]
    agreed = "n/a" if overall["share"] is None else f"{overall['share']:.0%}"
    skipped = len(reviews.get("skipped_lines", ()))
    return (
        f"reviews: {reviews['requested']['count']} requested (capture), {reviews['completed']} completed, "
        f"reviewer agreed with the model {agreed}, {reviews['corrected']['count']} corrected "
        + (f", {skipped} unreadable line(s) of the set skipped (summary.json names them) " if skipped else "")
        + f"({reviews['location']})"
    )
