"""Pure rules about the image bytes: what they are, and whether they fit a state payload."""

from __future__ import annotations

import base64

from exceptions import ImageTooLarge, NotAnImage

# Step Functions caps a state's input/output at 256 KiB (UTF-8). The base64 image shares
# it with the keys, the inferences and the lambda:invoke envelope, so keep 8 KiB for those.
MAX_STATE_PAYLOAD_BYTES = 256 * 1024
RESERVED_PAYLOAD_BYTES = 8 * 1024
MAX_BASE64_CHARS = MAX_STATE_PAYLOAD_BYTES - RESERVED_PAYLOAD_BYTES
# Largest raw image whose base64 still fits: base64 turns 3 bytes into 4 characters.
# (SageMaker's own 6 MB request limit is far above this, so the state limit binds.)
MAX_IMAGE_BYTES = MAX_BASE64_CHARS // 4 * 3

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"


def sniff_content_type(data: bytes, *, name: str) -> str:
    """Tell PNG from JPEG by the magic bytes, whatever the key's extension says."""
    if data.startswith(PNG_SIGNATURE):
        return "image/png"
    if data.startswith(JPEG_SIGNATURE):
        return "image/jpeg"
    raise NotAnImage(f"{name} is not a PNG or JPEG image (first bytes {data[:8]!r}, {len(data)} bytes)")


def check_size(size: int, *, name: str) -> None:
    if size > MAX_IMAGE_BYTES:
        raise ImageTooLarge(
            f"{name} is {size} bytes; its base64 would exceed the {MAX_BASE64_CHARS}-character budget "
            f"of a 256 KiB Step Functions payload (at most {MAX_IMAGE_BYTES} bytes)"
        )


def encode_image(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
