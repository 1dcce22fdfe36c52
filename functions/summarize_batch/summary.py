"""A batch's summary from its results, as plain data in and out (no AWS here).

What the Distributed Map writes (ResultWriter): ``manifest.json`` lists result files by status;
each file is a JSON array of child executions. A SUCCEEDED child's ``Output`` is the JSON of
its photos' results, one per photo, each ``{"item": <the listed object>, "answer": {label,
confidence, inferences}}`` or ``{"item": ..., "error": <name>, "cause": <one line>}`` (a refusal
or a bad file: the photo's result; ``FolderMarker`` for a key ending in ``/`` of 0 bytes, which
the child skips and the summary counts apart, not as a photo). A FAILED child's ``Input`` holds
its photos (``{"Items": [...], "BatchInput": ...}``) and ``Error`` what failed them all.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from exceptions import InvalidManifest, InvalidResults

# the model's classes, in the order of its probabilities (a .lst names them by index)
LABELS = ("bicycle", "motorcycle")
REFUSED = "ThresholdConfidenceNotMet"
# what the batch's item processor records for a folder marker: no photo, counted apart
FOLDER_MARKER = "FolderMarker"
RESULT_STATUSES = ("SUCCEEDED", "FAILED", "PENDING")


@dataclass(frozen=True)
class PhotoOutcome:
    key: str
    label: str | None = None  # the answer, when there is one
    confidence: float | None = None
    error: str | None = None  # ThresholdConfidenceNotMet for a refusal

    @property
    def refused(self) -> bool:
        return self.error == REFUSED

    @property
    def folder_marker(self) -> bool:
        return self.error == FOLDER_MARKER


def is_folder_marker(item: Mapping) -> bool:
    """A "folder" as the S3 console makes one: a key ending in ``/``, 0 bytes (as the batch's
    IsFolderMarker state decides)."""
    return str(item.get("Key", "")).endswith("/") and item.get("Size") == 0


def result_file_keys(manifest: Mapping) -> dict[str, list[str]]:
    """``{status: [key, ...]}`` from a run's manifest.json."""
    try:
        files = manifest["ResultFiles"]
        return {status: [entry["Key"] for entry in files.get(status, [])] for status in RESULT_STATUSES}
    except (KeyError, TypeError, AttributeError) as error:
        raise InvalidResults(f"manifest.json has no ResultFiles with Keys ({error!r})") from None


def outcomes_of_succeeded(children: Iterable[Mapping]) -> list[PhotoOutcome]:
    """Each photo of each SUCCEEDED child."""
    outcomes = []
    for child in children:
        for result in _json_field(child, "Output"):
            key = result["item"]["Key"]
            if "answer" in result:
                answer = result["answer"]
                outcomes.append(PhotoOutcome(key, label=answer["label"], confidence=answer["confidence"]))
            else:
                outcomes.append(PhotoOutcome(key, error=result["error"]))
    return outcomes


def outcomes_of_failed(children: Iterable[Mapping]) -> list[PhotoOutcome]:
    """Each photo of each FAILED (or PENDING) child, with the child's error (a folder marker
    among its items stays a folder marker: it was never a photo to fail)."""
    outcomes = []
    for child in children:
        error = child.get("Error") or child.get("Status", "Failed")
        for item in _json_field(child, "Input")["Items"]:
            skipped = is_folder_marker(item)
            outcomes.append(PhotoOutcome(item["Key"], error=FOLDER_MARKER if skipped else error))
    return outcomes


def _json_field(child: Mapping, name: str):
    try:
        return json.loads(child[name])
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidResults(f"a child execution's {name} is not JSON ({error!r})") from None


def expected_labels(text: str, *, manifest_key: str, prefix: str) -> dict[str, str]:
    """``{key: expected label}`` from a manifest: a ``.lst`` (index<TAB>class<TAB>path, the path
    under ``prefix``, the class 0 bicycle or 1 motorcycle) or a CSV with the header ``Key,label``
    (the full key; the label a class name or index). A row without a label is left out."""
    if manifest_key.endswith(".lst"):
        rows = [line.split("\t") for line in text.splitlines() if line.strip()]
        if any(len(row) != 3 for row in rows):
            raise InvalidManifest(f"{manifest_key}: each line must be index<TAB>class<TAB>path")
        return {prefix + path.strip(): _label(label, manifest_key) for _, label, path in rows}
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"Key", "label"} <= set(reader.fieldnames):
        raise InvalidManifest(f"{manifest_key}: the CSV's header must name Key and label")
    return {row["Key"]: _label(row["label"], manifest_key) for row in reader if (row["label"] or "").strip()}


def _label(value: str, manifest_key: str) -> str:
    value = value.strip()
    if value in LABELS:
        return value
    if value.isdigit() and int(value) < len(LABELS):
        return LABELS[int(value)]
    raise InvalidManifest(f"{manifest_key}: {value!r} is no label (bicycle, motorcycle, 0 or 1)")


def checked_expected_labels(text: str, *, manifest_key: str, prefix: str) -> dict[str, str]:
    """``expected_labels``, refused by name (InvalidManifest) when it names no photo under the
    prefix: a batch that can compute no accuracy is a mistake worth finding before it runs."""
    expected = expected_labels(text, manifest_key=manifest_key, prefix=prefix)
    if not expected:
        raise InvalidManifest(f"{manifest_key}: names no photo with a label")
    if not any(key.startswith(prefix) for key in expected):
        raise InvalidManifest(f"{manifest_key}: none of its {len(expected)} keys lies under {prefix}")
    return expected


def summarize(outcomes: list[PhotoOutcome], expected: Mapping[str, str] | None = None) -> dict:
    """Counts per label, refusals, errors by name, and the folder markers skipped (apart: no
    photo); with ``expected``, accuracy (right answers among the labelled photos answered),
    coverage (answered among the labelled) and the confusion matrix ``{expected: {answer,
    "refused" or "error": n}}``."""
    markers = sum(o.folder_marker for o in outcomes)
    outcomes = [o for o in outcomes if not o.folder_marker]
    answered = [o for o in outcomes if o.label is not None]
    summary: dict = {
        "photos": len(outcomes),
        "answered": len(answered),
        "labels": {label: sum(o.label == label for o in answered) for label in LABELS},
        "refused": sum(o.refused for o in outcomes),
        "errors": dict(sorted(Counter(o.error for o in outcomes if o.error and not o.refused).items())),
        "folder_markers": markers,
    }
    if expected is not None:
        summary["expected"] = _against_expected(outcomes, expected)
    return summary


def _against_expected(outcomes: list[PhotoOutcome], expected: Mapping[str, str]) -> dict:
    labelled = [o for o in outcomes if o.key in expected]
    answered = [o for o in labelled if o.label is not None]
    right = sum(o.label == expected[o.key] for o in answered)
    columns = (*LABELS, "refused", "error")
    matrix = {label: dict.fromkeys(columns, 0) for label in LABELS}
    for outcome in labelled:
        column = outcome.label or ("refused" if outcome.refused else "error")
        matrix[expected[outcome.key]][column] += 1
    seen = {o.key for o in outcomes}
    return {
        "labelled": len(labelled),
        "accuracy": round(right / len(answered), 4) if answered else None,
        "coverage": round(len(answered) / len(labelled), 4) if labelled else None,
        "confusion_matrix": matrix,
        "not_in_batch": sum(key not in seen for key in expected),
    }
