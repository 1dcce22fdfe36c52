"""The typed input of SummarizeBatch: where the Distributed Map wrote its results, and the batch's
own input (its bucket, prefix and optional manifest of expected labels)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exceptions import InvalidEvent


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
        if not isinstance(event, dict):
            raise InvalidEvent(f"event must be a JSON object, got {type(event).__name__}")
        batch_input = _required(event, "input", dict)
        manifest_key = batch_input.get("manifest_key")
        if manifest_key is not None and not isinstance(manifest_key, str):
            raise InvalidEvent("'input.manifest_key' must be a string")
        return cls(
            bucket=_required(batch_input, "s3_bucket", str),
            prefix=_required(batch_input, "prefix", str),
            results_key=_required(event, "results_key", str),
            map_run_arn=_required(event, "map_run_arn", str),
            manifest_key=manifest_key,
        )


def _required(mapping: dict, key: str, kind: type) -> Any:
    if key not in mapping:
        raise InvalidEvent(f"missing required key {key!r}")
    if not isinstance(mapping[key], kind):
        raise InvalidEvent(f"{key!r} must be a {kind.__name__}, got {type(mapping[key]).__name__}")
    return mapping[key]
