"""The K least confident inputs, kept in a bounded heap and decoded back into images.

Only records that would enter the heap are decoded, and only heap members hold their image
bytes, so memory is K images whatever the record count.
"""

from __future__ import annotations

import heapq
import io
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, UnidentifiedImageError

from monitoring.capture_records import CaptureRecord, decode_payload
from monitoring.exceptions import InvalidImage

THUMBNAIL_SIZE = 96


@dataclass(frozen=True, slots=True)
class GalleryItem:
    confidence: float
    label: str
    probabilities: tuple[float, ...]
    event_id: str | None
    inference_id: str | None
    inference_time: datetime
    source_file: str
    image_bytes: bytes


class LeastConfident:
    """Keeps the ``size`` records with the lowest confidence (earliest first on ties)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._heap: list[tuple[float, int, GalleryItem]] = []  # max-heap via (-confidence, -seq)
        self._seq = 0

    def would_keep(self, confidence: float) -> bool:
        return self.size > 0 and (len(self._heap) < self.size or confidence < -self._heap[0][0])

    def offer(self, record: CaptureRecord, source_file: str) -> bool:
        """Keep the record if it is among the least confident; False when its image is undecodable."""
        self._seq += 1
        confidence = record.confidence
        if not self.would_keep(confidence):
            return True
        try:
            image_bytes = decode_image_bytes(record)
        except InvalidImage:
            return False
        item = GalleryItem(
            confidence=confidence,
            label=record.label,
            probabilities=record.probabilities,
            event_id=record.event_id,
            inference_id=record.inference_id,
            inference_time=record.inference_time,
            source_file=source_file,
            image_bytes=image_bytes,
        )
        entry = (-confidence, -self._seq, item)
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, entry)
        else:
            heapq.heapreplace(self._heap, entry)
        return True

    def items(self) -> list[GalleryItem]:
        """Least confident first."""
        return [item for _, _, item in sorted(self._heap, key=lambda e: (-e[0], -e[1]))]


def decode_image_bytes(record: CaptureRecord) -> bytes:
    """The captured input body, checked to be an image Pillow can open."""
    payload = record.endpoint_input
    if payload is None:
        raise InvalidImage("no endpointInput was captured")
    try:
        raw = decode_payload(payload)
    except ValueError as exc:
        raise InvalidImage(str(exc)) from None
    return checked_image(raw)


def checked_image(raw: bytes) -> bytes:
    """``raw``, checked to be an image Pillow can open (InvalidImage otherwise)."""
    try:
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
    except (ValueError, OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise InvalidImage(str(exc)) from None
    return raw


def is_image(raw: bytes) -> bool:
    try:
        checked_image(raw)
    except InvalidImage:
        return False
    return True


def thumbnail(image_bytes: bytes, size: int = THUMBNAIL_SIZE) -> Image.Image:
    """RGB, scaled to fit ``size`` (a 32x32 CIFAR image becomes 96x96, nearest neighbour)."""
    with Image.open(io.BytesIO(image_bytes)) as image:
        rgb = image.convert("RGB")
    factor = size / max(rgb.size)
    new_size = (max(1, round(rgb.width * factor)), max(1, round(rgb.height * factor)))
    return rgb.resize(new_size, Image.Resampling.NEAREST)


def thumbnail_png(image_bytes: bytes, size: int = THUMBNAIL_SIZE) -> bytes:
    buffer = io.BytesIO()
    thumbnail(image_bytes, size).save(buffer, format="PNG")
    return buffer.getvalue()
