"""The typed input of ClassifyImage: the output of SerializeImageData."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from exceptions import InvalidEvent

SUPPORTED_CONTENT_TYPES = ("image/png", "image/jpeg")


@dataclass(frozen=True)
class SerializedImage:
    image: bytes
    content_type: str
    event: dict

    @classmethod
    def from_event(cls, event: Any) -> SerializedImage:
        if not isinstance(event, dict):
            raise InvalidEvent(f"event must be a JSON object, got {type(event).__name__}")
        for key in ("image_data", "content_type"):
            if key not in event:
                raise InvalidEvent(f"missing required key '{key}'")
            if not isinstance(event[key], str) or not event[key]:
                raise InvalidEvent(f"'{key}' must be a non-empty string, got {event[key]!r:.80}")
        if event["content_type"] not in SUPPORTED_CONTENT_TYPES:
            raise InvalidEvent(
                f"'content_type' must be one of {', '.join(SUPPORTED_CONTENT_TYPES)}, "
                f"got {event['content_type']!r}"
            )
        try:
            image = base64.b64decode(event["image_data"], validate=True)
        except (binascii.Error, ValueError) as error:
            raise InvalidEvent(f"'image_data' is not valid base64: {error}") from error
        return cls(image=image, content_type=event["content_type"], event=event)
