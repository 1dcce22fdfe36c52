"""The typed input of SummarizeBatch: the batch's own input (its bucket, prefix and optional
manifest of expected labels), to check before any photo is listed (``"action": "check"``), and
where the Distributed Map wrote its results, to summarize them (``"action": "summarize"``, the
default)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exceptions import InvalidEvent

CHECK, SUMMARIZE = "check", "summarize"


def action_of(event: Any) -> str:
    """What the state machine asks: check the input, or summarize the results."""
    action = event.get("action", SUMMARIZE) if isinstance(event, dict) else SUMMARIZE
    if action not in (CHECK, SUMMARIZE):
        raise InvalidEvent(f"'action' must be {CHECK!r} or {SUMMARIZE!r}, got {action!r}")
    return action


@dataclass(frozen=True)
class BatchInput:
    """The batch's execution input, as CheckBatchInput let it through."""

    bucket: str
    prefix: str
    manifest_key: str | None = None

    @classmethod
    def from_event(cls, event: Any) -> BatchInput:
        if not isinstance(event, dict):
            raise InvalidEvent(f"event must be a JSON object, got {type(event).__name__}")
        batch_input = _required(event, "input", dict)
        manifest_key = batch_input.get("manifest_key")
        if manifest_key is not None and not isinstance(manifest_key, str):
            raise InvalidEvent("'input.manifest_key' must be a string")
        return cls(
            bucket=_required(batch_input, "s3_bucket", str),
            prefix=_required(batch_input, "prefix", str),
            manifest_key=manifest_key,
        )


@dataclass(frozen=True)
class BatchRun:
    bucket: str
    prefix: str
    results_key: str  # <ResultWriter prefix>/<map run id>/manifest.json
    map_run_arn: str
    manifest_key: str | None = None

    @property
    def summary_key(self) -> str:
        """summary.json, beside the run's manifest.json."""
        return self.results_key.rpartition("/")[0] + "/summary.json"

    @classmethod
    def from_event(cls, event: Any) -> BatchRun:
        batch = BatchInput.from_event(event)
        return cls(
            bucket=batch.bucket,
            prefix=batch.prefix,
            results_key=_required(event, "results_key", str),
            map_run_arn=_required(event, "map_run_arn", str),
            manifest_key=batch.manifest_key,
        )


def _required(mapping: dict, key: str, kind: type) -> Any:
    if key not in mapping:
        raise InvalidEvent(f"missing required key {key!r}")
    if not isinstance(mapping[key], kind):
        raise InvalidEvent(f"{key!r} must be a {kind.__name__}, got {type(mapping[key]).__name__}")
    return mapping[key]
