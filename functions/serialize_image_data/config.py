"""The settings template.yaml gives SerializeImageData, parsed once at cold start. A function
deployed without one, or with a value out of range, fails its cold start with
InvalidConfiguration, as ClassifyImage and FilterInferences do."""

from __future__ import annotations

import re

from exceptions import InvalidConfiguration

# The bounds are template.yaml's MinValue/MaxValue (tests/unit/functions test that they agree).
# 32: the models' input is 32x32, and less would starve them. 384: even pure noise, JPEG's worst
# case, encodes to 133 KB at quality 90 there (177 KB as base64), inside the 248 KiB a state
# payload leaves the image; at 512 it is 236 KB and would not fit.
MIN_IMAGE_SIDE = 32
MAX_IMAGE_SIDE = 384
# 1 KiB: no photo is smaller. 100 MiB: the body is held in memory while it is decoded; the
# function's MemorySize (1536 MB) leaves room for it beside the largest decode.
MIN_UPLOAD_BYTES = 1024
MAX_UPLOAD_BYTES = 100 * 1024 * 1024

_WHOLE_NUMBER = re.compile(r"[0-9]+")


def parse_max_image_side(raw: str | None) -> int:
    """MAX_IMAGE_SIDE: the longest side, in pixels, of the image sent to the endpoint."""
    return _whole_number("MAX_IMAGE_SIDE", raw, MIN_IMAGE_SIDE, MAX_IMAGE_SIDE, "pixels")


def parse_max_upload_bytes(raw: str | None) -> int:
    """MAX_UPLOAD_BYTES: the largest object SerializeImageData downloads."""
    return _whole_number("MAX_UPLOAD_BYTES", raw, MIN_UPLOAD_BYTES, MAX_UPLOAD_BYTES, "bytes")


def _whole_number(variable: str, raw: str | None, low: int, high: int, unit: str) -> int:
    if raw is None or not _WHOLE_NUMBER.fullmatch(raw) or not low <= int(raw) <= high:
        raise InvalidConfiguration(
            f"{variable} must be a whole number of {unit} in {low}..{high}, got {raw!r}"
        )
    return int(raw)
