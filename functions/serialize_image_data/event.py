"""The typed input of SerializeImageData."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from exceptions import InvalidEvent

# S3's rules for general purpose bucket names; an ARN or a path is not a bucket name
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
MAX_KEY_BYTES = 1024


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
        if not _BUCKET_NAME.fullmatch(bucket) or ".." in bucket:
            raise InvalidEvent(
                f"'s3_bucket' must be an S3 bucket name (3-63 lower-case letters, digits, dots and "
                f"hyphens), got {bucket[:100]!r}"
            )
        key = _required_string(event, "s3_key")
        if len(key.encode()) > MAX_KEY_BYTES:
            raise InvalidEvent(f"'s3_key' is {len(key.encode())} bytes; S3 keys are at most {MAX_KEY_BYTES}")
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
        raise InvalidEvent(f"'{key}' must be a non-empty string, got {repr(value)[:100]}")
    return value
