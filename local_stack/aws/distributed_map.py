"""What moto 5.2.5's interpreter lacks of a Distributed Map, as plain data and functions; the
patches in ``aws.moto_patches.map_runs`` apply them where moto's internals run the Map.

Measured (tests/unit/test_moto_patches.py keeps each finding): moto's ASL grammar knows neither
``ItemBatcher`` (``MaxItemsPerBatch`` or ``MaxItemsPerBatchPath``) nor ``"ExecutionType":
"EXPRESS"`` (CreateStateMachine fails to parse), nor an integer ``ToleratedFailurePercentage``
(its Path forms, ``MaxConcurrencyPath`` and ``ToleratedFailurePercentagePath``, it parses); it
ignores the tolerance (a child that fails is dropped and the Map succeeds); its ResultWriter
writes a manifest.json with no result files; its ItemReader lists only the first 1,000 objects;
and both reach S3 on the moto server's own port, not on ``AWS_ENDPOINT_URL_S3``, where the local
stack's S3 runs.

So, before moto parses a definition, ``local_definition`` runs Express children as Standard ones
(moto runs both alike, in threads: only the 5-minute limit and the bill differ), takes each
``ItemBatcher`` out to be applied by ``batches``, and writes the tolerance as a float. Each
child's end is kept (``ChildResult``; a failed one as ``FailedChild``), ``failure_tolerated``
decides the Map's fate as AWS does, and ``result_files`` writes what AWS's ResultWriter writes.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# AWS writes a result file per status; we never split one (AWS does at 5 GB)
RESULT_STATUSES = ("FAILED", "PENDING", "SUCCEEDED")


@dataclass(frozen=True)
class ItemBatcher:
    """An ItemBatcher's items per batch: ``MaxItemsPerBatch``, or ``MaxItemsPerBatchPath``, a
    reference path into the Map's input that must select a positive integer
    (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html)."""

    max_items: int | None
    batch_input: Mapping[str, Any] | None = None
    max_items_path: str | None = None

    def resolved(self, state_input: Any) -> ItemBatcher:
        """This batcher with ``max_items`` read from ``state_input`` where a path gives it; a
        path that selects no positive integer is ``InvalidItemBatcher`` (States.Runtime on AWS)."""
        if self.max_items_path is None:
            return self
        try:
            value = _dotted(self.max_items_path, state_input)
        except (KeyError, TypeError) as error:
            raise InvalidItemBatcher(
                f"The MaxItemsPerBatchPath field refers to no value: {self.max_items_path}"
            ) from error
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value < 1:
            raise InvalidItemBatcher(
                f'The MaxItemsPerBatchPath field refers to value "{json.dumps(value)}" which is not a '
                f"valid positive integer: {self.max_items_path}"
            )
        return ItemBatcher(int(value), self.batch_input)


class InvalidItemBatcher(ValueError):
    """MaxItemsPerBatchPath selects no positive integer."""


@dataclass(frozen=True)
class FailedChild:
    """A child execution that failed: its error and cause, as AWS writes them in FAILED_0.json."""

    error: str
    cause: str = ""


@dataclass(frozen=True)
class ChildResult:
    """One child execution of a Map Run: its input, and its output or failure."""

    input: Any
    output: Any
    started: datetime.datetime
    stopped: datetime.datetime

    @property
    def failed(self) -> bool:
        return isinstance(self.output, FailedChild)


def local_definition(text: str) -> tuple[str, dict[str, ItemBatcher]]:
    """``text`` as moto can parse it, and the ItemBatcher of each Map state that had one (by
    state name). A text that needs nothing, or is no JSON, comes back as it is."""
    try:
        definition = json.loads(text)
    except ValueError:
        return text, {}
    batchers: dict[str, ItemBatcher] = {}
    changed = False
    for name, state in _states(definition):
        if state.get("Type") != "Map":
            continue
        config = state.get("ItemProcessor", {}).get("ProcessorConfig", {})
        if config.get("ExecutionType") == "EXPRESS":
            config["ExecutionType"], changed = "STANDARD", True
        if "ItemBatcher" in state:
            batcher = state.pop("ItemBatcher")
            batchers[name], changed = (
                ItemBatcher(
                    int(batcher["MaxItemsPerBatch"]) if "MaxItemsPerBatch" in batcher else None,
                    batcher.get("BatchInput"),
                    batcher.get("MaxItemsPerBatchPath"),
                ),
                True,
            )
        tolerance = state.get("ToleratedFailurePercentage")
        if isinstance(tolerance, int) and not isinstance(tolerance, bool):
            state["ToleratedFailurePercentage"], changed = float(tolerance), True
    return (json.dumps(definition) if changed else text), batchers


def _states(block: Mapping) -> Iterator[tuple[str, dict]]:
    """Every state of a definition, nested ones (Parallel branches, Map processors) included."""
    for name, state in block.get("States", {}).items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from _states(state[key])


def batches(items: Sequence[Any], batcher: ItemBatcher, batch_input: Any = None) -> list[dict]:
    """The child inputs AWS builds with an ItemBatcher: ``{"Items": [...], "BatchInput": ...}``."""
    if batcher.max_items is None or batcher.max_items < 1:
        raise ValueError(f"MaxItemsPerBatch must be at least 1, got {batcher.max_items}")
    size = batcher.max_items
    return [
        {
            "Items": list(items[start : start + size]),
            **({"BatchInput": batch_input} if batch_input is not None else {}),
        }
        for start in range(0, len(items), size)
    ]


def evaluated_payload(template: Any, state_input: Any) -> Any:
    """A payload template (``BatchInput``) with its ``"key.$": "$.path"`` fields read from the
    state's input (plain dotted paths only: what this project's definitions use)."""
    if isinstance(template, dict):
        evaluated = {}
        for key, value in template.items():
            if key.endswith(".$"):
                evaluated[key[:-2]] = _dotted(value, state_input)
            else:
                evaluated[key] = evaluated_payload(value, state_input)
        return evaluated
    if isinstance(template, list):
        return [evaluated_payload(value, state_input) for value in template]
    return template


def _dotted(path: str, value: Any) -> Any:
    if path != "$" and not path.startswith("$."):
        raise ValueError(f"only $.a.b paths are supported in a BatchInput here, got {path!r}")
    for part in path[2:].split(".") if path != "$" else ():
        value = value[part]
    return value


def items_in(child_input: Any, batched: bool) -> int:
    """How many items a child processed (AWS counts a batch's failure once per item)."""
    return len(child_input["Items"]) if batched else 1


# how a child ended, as DescribeMapRun counts it (a ProgressCounter's attribute)
SUCCEEDED, FAILED, TIMED_OUT, ABORTED = "succeeded", "failed", "timed_out", "aborted"


def count_started(record: Any, items: int) -> None:
    """A child execution of ``items`` items has started: DescribeMapRun's ``executionCounts``
    count it once, its ``itemCounts`` once per item (AWS counts the photos of a batch)."""
    for counter, amount in ((record.execution_counter, 1), (record.item_counter, items)):
        counter.total.count(amount)
        counter.running.count(amount)


def count_ended(record: Any, items: int, outcome: str) -> None:
    """That child has ended in ``outcome``: no longer running, counted where it ended (and as
    a result written, when it succeeded: the ResultWriter writes every one)."""
    for counter, amount in ((record.execution_counter, 1), (record.item_counter, items)):
        counter.running.offset(-amount)
        getattr(counter, outcome).count(amount)
        if outcome == SUCCEEDED:
            counter.results_written.count(amount)


def failure_tolerated(failed: int, total: int, *, count: int, percentage: float) -> bool:
    """Whether ``failed`` of ``total`` items stays within ToleratedFailureCount or
    ToleratedFailurePercentage (either one tolerates; with neither, no failure is tolerated)."""
    if failed == 0:
        return True
    return failed <= count or (total > 0 and 100.0 * failed / total <= percentage)


def tolerance_exceeded_cause(failed: int, total: int, percentage: float) -> str:
    return (
        f"The specified tolerated failure threshold was exceeded: {failed} of {total} items failed "
        f"(ToleratedFailurePercentage {percentage:g})"
    )


def child_execution_arn(map_run_arn: str, name: str) -> str:
    """``arn:...:execution:<machine>/<label>:<name>`` from ``arn:...:mapRun:<machine>/<label>:<id>``."""
    return map_run_arn.replace(":mapRun:", ":execution:", 1).rsplit(":", 1)[0] + f":{name}"


def result_entry(result: ChildResult, map_run_arn: str, state_machine_arn: str) -> dict:
    """One child execution as AWS writes it in a result file."""
    name = str(uuid.uuid4())
    entry = {
        "ExecutionArn": child_execution_arn(map_run_arn, name),
        "Input": json.dumps(result.input),
        "InputDetails": {"Included": True},
        "Name": name,
        "RedriveCount": 0,
        "RedriveStatus": "NOT_REDRIVABLE",
        "StartDate": result.started.isoformat(),
        "StateMachineArn": state_machine_arn,
        "StopDate": result.stopped.isoformat(),
    }
    if result.failed:
        return {**entry, "Cause": result.output.cause, "Error": result.output.error, "Status": "FAILED"}
    return {
        **entry,
        "Output": json.dumps(result.output),
        "OutputDetails": {"Included": True},
        "Status": "SUCCEEDED",
    }


def result_files(
    results: Sequence[ChildResult], *, bucket: str, prefix: str, map_run_arn: str, state_machine_arn: str
) -> tuple[str, dict[str, bytes]]:
    """``(manifest key, {key: body})``: what AWS's ResultWriter puts under
    ``<prefix>/<map run id>/``: ``SUCCEEDED_0.json`` and ``FAILED_0.json`` (each only when it has
    an entry), and ``manifest.json`` listing them."""
    folder = (
        f"{prefix.rstrip('/')}/{map_run_arn.rsplit(':', 1)[-1]}/"
        if prefix
        else f"{map_run_arn.rsplit(':', 1)[-1]}/"
    )
    files: dict[str, bytes] = {}
    listed: dict[str, list[dict]] = {status: [] for status in RESULT_STATUSES}
    for status in ("SUCCEEDED", "FAILED"):
        entries = [
            result_entry(r, map_run_arn, state_machine_arn)
            for r in results
            if r.failed == (status == "FAILED")
        ]
        if entries:
            key = f"{folder}{status}_0.json"
            files[key] = json.dumps(entries).encode()
            listed[status].append({"Key": key, "Size": len(files[key])})
    manifest_key = f"{folder}manifest.json"
    manifest = {"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": listed}
    files[manifest_key] = json.dumps(manifest, indent=2).encode()
    return manifest_key, files
