"""The typed input of SerializeImageData."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exceptions import InvalidEvent


@dataclass(frozen=True)
class ImageLocation:
    s3_bucket: str
    s3_key: str
    execution: dict | None = None

    @classmethod
    def from_event(cls, event: Any) -> ImageLocation:
        """Accept ``{"s3_bucket", "s3_key"}``; the seed project's ``image_data: ""`` and
        ``inferences: []`` may ride along and are ignored."""
        if not isinstance(event, dict):
            raise InvalidEvent(f"event must be a JSON object, got {type(event).__name__}")
        bucket = _required_string(event, "s3_bucket")
        key = _required_string(event, "s3_key")
        # {"id": <execution ARN>}, added by the state machine as the logs' correlation id
        execution = event.get("execution")
        if execution is not None and not isinstance(execution, dict):
            raise InvalidEvent(f"'execution' must be an object, got {type(execution).__name__}")
        return cls(s3_bucket=bucket, s3_key=key, execution=execution)


def _required_string(event: dict, key: str) -> str:
    if key not in event:
        raise InvalidEvent(f"missing required key '{key}'")
    value = event[key]
    if not isinstance(value, str) or not value:
        raise InvalidEvent(f"'{key}' must be a non-empty string, got {value!r}")
    return value
