"""A BatchClassify run's results as typed records, one per photo: pure functions, no I/O.

The run's folder (``s3://<ImageBucket>/batch/results/<map run id>/``) holds what Step Functions'
ResultWriter writes and what SummarizeBatch writes beside it:

- ``manifest.json``: ``{"ResultFiles": {"SUCCEEDED": [{"Key": ..., "Size": ...}], "FAILED": [...],
  "PENDING": [...]}, ...}``;
- ``SUCCEEDED_<n>.json``, ``FAILED_<n>.json``, ``PENDING_<n>.json``: each a JSON array of child
  executions (``Input``, ``Output`` as JSON strings, ``Error``, ``Cause``, ``StartDate``,
  ``StopDate``, ...). A SUCCEEDED child's ``Output`` is its photos' results, each ``{"item":
  <the listed object>, "answer": <the single-photo workflow's output: label, confidence,
  inferences, ...>}`` or ``{"item": ..., "error": <name>, "cause": <one line>}`` (a refusal,
  ``ThresholdConfidenceNotMet``, or a bad file). A FAILED or PENDING child's ``Input`` holds its
  photos (``{"Items": [...], "BatchInput": {"s3_bucket": ...}}``), its ``Error`` what failed them;
- ``summary.json``: ``photos``, ``answered``, ``labels``, ``refused``, ``errors`` and, with a
  manifest of expected labels, ``expected`` (accuracy, coverage, ``confusion_matrix``).

The format is the one ``functions/summarize_batch/summary.py`` reads (a Lambda's module, deployed
alone, so not imported here); ``counts_of`` counts the photos as it does, so the report can say
whether summary.json and the files agree.

A refused photo has no answer, but its cause names the model's probabilities, as FilterInferences
words it (``confidence 0.7056 is below the threshold 0.9300 (inferences [0.29, 0.71])``; on AWS the
cause is Lambda's error JSON with that ``errorMessage``): so refusals are in the plots too, below
the threshold line, as a captured answer below the threshold is.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from monitoring.answers import ArgmaxAnswer
from monitoring.capture_records import CLASS_NAMES, check_probabilities, parse_inference_time
from monitoring.exceptions import BatchResultsMalformed, InvalidRecord
from scones_core.project import FOLDER_MARKER_ERROR, is_folder_marker

REFUSED = "ThresholdConfidenceNotMet"
SUMMARY_NAME = "summary.json"
MANIFEST_NAME = "manifest.json"
RESULT_STATUSES = ("SUCCEEDED", "FAILED", "PENDING")
SUMMARY_COUNTS = ("photos", "answered", "labels", "refused", "errors")
ERRORS_LISTED = 50  # photos that ended in an error, listed in summary.json and on the page

_INFERENCES = re.compile(r"\(inferences (\[[^\]]*\])\)")
_THRESHOLD = re.compile(r"below the threshold ([0-9.]+)")


@dataclass(frozen=True, slots=True)
class PhotoAnswer(ArgmaxAnswer):
    """The model's answer to one photo of a batch: an :class:`monitoring.answers.Answer`, as a
    captured record is."""

    event_id: str  # the photo's S3 key: what names it in the report
    inference_time: datetime  # when its child execution ended (the result files keep no finer time)
    probabilities: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class PhotoResult:
    """One photo's outcome: answered (``error`` None), refused (``ThresholdConfidenceNotMet``) or
    an error by name; ``answer`` holds the probabilities, of a refusal too when its cause names them."""

    key: str
    bucket: str | None  # where the photo is (the batch's s3_bucket), when the file says
    error: str | None
    cause: str | None
    answer: PhotoAnswer | None
    result_file: str

    @property
    def refused(self) -> bool:
        return self.error == REFUSED

    @property
    def label(self) -> str | None:
        """The label the batch answered with; a refusal has none."""
        return self.answer.label if self.answer is not None and self.error is None else None


def result_file_names(manifest: object) -> dict[str, list[str]]:
    """``{status: [file name]}`` from manifest.json's ``ResultFiles``. A name is the key's last
    part: the files lie beside manifest.json, so a copy of the folder reads as the original."""
    try:
        files = manifest["ResultFiles"] if isinstance(manifest, dict) else None
        return {
            status: [str(entry["Key"]).rpartition("/")[2] for entry in files.get(status) or []]
            for status in RESULT_STATUSES
        }
    except (KeyError, TypeError, AttributeError) as error:
        raise BatchResultsMalformed(f"{MANIFEST_NAME} lists no ResultFiles with Keys ({error!r})") from None


def photos_of_succeeded(children: object, file_name: str) -> list[PhotoResult]:
    """Each photo of each child execution in a SUCCEEDED result file."""
    photos = []
    for number, child in enumerate(_children(children, file_name)):
        where = f"{file_name}, child {number}"
        when = _stop_time(child, where)
        bucket = _batch_bucket(_optional_json(child.get("Input")))  # the Output is what counts
        results = _json_field(child, "Output", where)
        if not isinstance(results, list):
            raise BatchResultsMalformed(f"{where}: Output is no list of photo results")
        photos += [
            _photo(row, when, bucket, file_name, where)
            for row in results
            # a folder marker is no photo: the summary counts it apart (folder_markers)
            if not (isinstance(row, dict) and row.get("error") == FOLDER_MARKER_ERROR)
        ]
    return photos


def photos_of_failed(children: object, file_name: str, status: str) -> list[PhotoResult]:
    """Each photo of each FAILED (or PENDING) child execution, with the child's error."""
    photos = []
    for number, child in enumerate(_children(children, file_name)):
        where = f"{file_name}, child {number}"
        child_input = _json_field(child, "Input", where)
        items = child_input.get("Items") if isinstance(child_input, dict) else None
        if not isinstance(items, list):
            raise BatchResultsMalformed(f"{where}: Input has no Items")
        error = str(child.get("Error") or status)
        cause = child.get("Cause") if isinstance(child.get("Cause"), str) else None
        bucket = _batch_bucket(child_input)
        photos += [
            PhotoResult(_key(item, where), bucket, error, cause, None, file_name)
            for item in items
            if not (isinstance(item, dict) and is_folder_marker(item))
        ]
    return photos


def refusal_probabilities(cause: object) -> tuple[float, ...] | None:
    """The probabilities a ThresholdConfidenceNotMet cause names, or None when it names none."""
    match = _INFERENCES.search(error_message(cause))
    if match is None:
        return None
    try:
        return check_probabilities(json.loads(match.group(1)))
    except ValueError:
        return None


def refusal_threshold(cause: object) -> float | None:
    """The threshold a ThresholdConfidenceNotMet cause names (FilterInferences' own)."""
    match = _THRESHOLD.search(error_message(cause))
    try:
        return float(match.group(1)) if match else None
    except ValueError:
        return None


def error_message(cause: object) -> str:
    """A cause's message: AWS writes a Lambda error as its JSON (``errorMessage``), the local
    stack as the message itself."""
    if not isinstance(cause, str):
        return ""
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(parsed, dict) and isinstance(parsed.get("errorMessage"), str):
        return parsed["errorMessage"]
    return cause


def batch_threshold(photos: Iterable[PhotoResult]) -> float | None:
    """The threshold the batch ran with, when its refusals name one and the same one."""
    named = {refusal_threshold(p.cause) for p in photos if p.refused}
    named.discard(None)
    return named.pop() if len(named) == 1 else None


def check_summary(summary: object) -> dict:
    """summary.json as SummarizeBatch writes it, or BatchResultsMalformed naming what it lacks."""
    if not isinstance(summary, dict):
        raise BatchResultsMalformed(f"{SUMMARY_NAME} is no JSON object")
    missing = [key for key in SUMMARY_COUNTS if key not in summary]
    if missing:
        raise BatchResultsMalformed(f"{SUMMARY_NAME} lacks {', '.join(missing)}: no BatchClassify summary")
    if not isinstance(summary["labels"], dict) or not isinstance(summary["errors"], dict):
        raise BatchResultsMalformed(f"{SUMMARY_NAME}: labels and errors must be objects")
    counts = [summary[key] for key in ("photos", "answered", "refused")]
    counts += [*summary["labels"].values(), *summary["errors"].values()]
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
        raise BatchResultsMalformed(f"{SUMMARY_NAME}: its counts must be whole numbers")
    expected = summary.get("expected")
    if expected is not None and not isinstance(expected, dict):
        raise BatchResultsMalformed(f"{SUMMARY_NAME}: expected must be an object")
    return summary


def counts_of(photos: Iterable[PhotoResult]) -> dict:
    """summary.json's counts of these photos, counted as SummarizeBatch counts them."""
    photos = list(photos)
    labels = Counter(p.label for p in photos if p.label is not None)
    return {
        "photos": len(photos),
        "answered": sum(labels.values()),
        "labels": {name: labels[name] for name in CLASS_NAMES},
        "refused": sum(p.refused for p in photos),
        "errors": dict(sorted(Counter(p.error for p in photos if p.error and not p.refused).items())),
    }


def disagreements(summary: Mapping, photos: Iterable[PhotoResult]) -> list[str]:
    """The counts in which summary.json differs from the result files (none, when both are one run's)."""
    counted = counts_of(photos)
    return [
        f"{key}: summary.json {summary.get(key)!r}, result files {counted[key]!r}"
        for key in SUMMARY_COUNTS
        if summary.get(key) != counted[key]
    ]


def _photo(row: object, when: datetime, bucket: str | None, file_name: str, where: str) -> PhotoResult:
    if not isinstance(row, dict):
        raise BatchResultsMalformed(f"{where}: a photo result is no JSON object")
    key = _key(row.get("item"), where)
    if "answer" in row:
        answer = row["answer"]
        inferences = answer.get("inferences") if isinstance(answer, dict) else None
        try:
            probabilities = check_probabilities(inferences)
        except ValueError as error:
            raise BatchResultsMalformed(f"{where}, {key}: the answer's inferences: {error}") from None
        if isinstance(answer.get("s3_bucket"), str):
            bucket = answer["s3_bucket"]
        return PhotoResult(key, bucket, None, None, PhotoAnswer(key, when, probabilities), file_name)
    error = row.get("error")
    if not isinstance(error, str) or not error:
        raise BatchResultsMalformed(f"{where}, {key}: neither an answer nor an error")
    cause = row.get("cause") if isinstance(row.get("cause"), str) else None
    probabilities = refusal_probabilities(cause) if error == REFUSED else None
    answer = PhotoAnswer(key, when, probabilities) if probabilities else None
    return PhotoResult(key, bucket, error, cause, answer, file_name)


def _children(children: object, file_name: str) -> list[dict]:
    if not isinstance(children, list) or not all(isinstance(c, dict) for c in children):
        raise BatchResultsMalformed(f"{file_name} is no JSON array of child executions")
    return children


def _json_field(child: dict, name: str, where: str) -> object:
    try:
        return json.loads(child[name])
    except (KeyError, TypeError, ValueError) as error:
        raise BatchResultsMalformed(f"{where}: its {name} is not JSON ({error!r})") from None


def _optional_json(text: object) -> object:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _stop_time(child: dict, where: str) -> datetime:
    """When the child ended (StopDate; StartDate when it has none)."""
    value = child.get("StopDate") or child.get("StartDate")
    try:
        return parse_inference_time(value)
    except InvalidRecord as error:
        raise BatchResultsMalformed(f"{where}: no StopDate or StartDate ({error.detail})") from None


def _batch_bucket(child_input: object) -> str | None:
    if isinstance(child_input, dict) and isinstance(child_input.get("BatchInput"), dict):
        bucket = child_input["BatchInput"].get("s3_bucket")
        return bucket if isinstance(bucket, str) else None
    return None


def _key(item: object, where: str) -> str:
    if not isinstance(item, dict) or not isinstance(item.get("Key"), str):
        raise BatchResultsMalformed(f"{where}: a photo without its item's Key")
    return item["Key"]


def least_confident(photos: Iterable[PhotoResult], size: int) -> list[PhotoResult]:
    """The ``size`` photos with probabilities whose confidence is lowest (then by key)."""
    scored = [p for p in photos if p.answer is not None]
    return sorted(scored, key=lambda p: (p.answer.confidence, p.key))[:size]


def photo_row(photo: PhotoResult) -> dict:
    """A photo as summary.json lists it."""
    answer = photo.answer
    return {
        "key": photo.key,
        "s3_uri": f"s3://{photo.bucket}/{photo.key}" if photo.bucket else None,
        "outcome": photo.label or ("refused" if photo.refused else photo.error),
        "model_label": answer.label if answer else None,  # what it would have said, refused or not
        "confidence": answer.confidence if answer else None,
        "probabilities": list(answer.probabilities) if answer else None,
        "result_file": photo.result_file,
    }


def batch_section(
    summary: Mapping, photos: list[PhotoResult], location: str, threshold: dict, listed: int = ERRORS_LISTED
) -> dict:
    """The report's ``batch`` object: summary.json's counts (and accuracy, coverage and confusion
    matrix when it has them), whether the result files agree, and the photos that ended in an error."""
    errored = [p for p in photos if p.error and not p.refused]
    section = {
        "location": location,
        "map_run_arn": summary.get("map_run_arn"),
        "results": summary.get("results"),
        "summary": summary.get("summary"),
        **{key: summary[key] for key in SUMMARY_COUNTS},
        "refused_without_probabilities": sum(p.refused and p.answer is None for p in photos),
        "threshold": threshold,
        "disagreements": disagreements(summary, photos),
        "errored_photos": [
            {"key": p.key, "error": p.error, "cause": " ".join((error_message(p.cause) or "").split())[:300]}
            for p in errored[:listed]
        ],
    }
    if summary.get("expected") is not None:
        section["expected"] = summary["expected"]
    return section


def one_line(batch: Mapping) -> str:
    """stderr's line: the batch's counts, and accuracy and coverage when it had expected labels."""
    labels = ", ".join(f"{name} {count}" for name, count in batch["labels"].items())
    errors = ", ".join(f"{name} {count}" for name, count in batch["errors"].items()) or "none"
    expected = batch.get("expected")
    scored = f"; accuracy {expected.get('accuracy')}, coverage {expected.get('coverage')}" if expected else ""
    agree = "" if not batch["disagreements"] else "; summary.json and the result files DISAGREE"
    return (
        f"batch: {batch['photos']} photos, {batch['answered']} answered ({labels}), "
        f"{batch['refused']} refused, errors: {errors}{scored}{agree} ({batch['location']})"
    )
