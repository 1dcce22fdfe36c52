"""Pure rules about the image bytes: how large an upload may be, which formats we refuse by
name, and whether the image sent on fits a state payload."""

from __future__ import annotations

import base64

from exceptions import ImageTooLarge

# Step Functions caps a state's input/output at 256 KiB (UTF-8). The base64 image shares
# it with the keys, the inferences and the lambda:invoke envelope, so keep 8 KiB for those.
MAX_STATE_PAYLOAD_BYTES = 256 * 1024
RESERVED_PAYLOAD_BYTES = 8 * 1024
MAX_BASE64_CHARS = MAX_STATE_PAYLOAD_BYTES - RESERVED_PAYLOAD_BYTES
# Largest raw image whose base64 still fits: base64 turns 3 bytes into 4 characters.
# (SageMaker's own 6 MB request limit is far above this, so the state limit binds.)
MAX_IMAGE_BYTES = MAX_BASE64_CHARS // 4 * 3

# ISO base media files (HEIF, AVIF, MP4) say what they are by the brand after "ftyp". Phones
# save HEIC by default (iPhones since iOS 11); those brands are images we cannot decode, while
# video brands (isom, mp42, qt, ...) stay NotAnImage.
_FTYP_BRANDS = {
    **dict.fromkeys((b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"), "HEIC"),
    **dict.fromkeys((b"mif1", b"mif2", b"msf1"), "HEIF"),
    **dict.fromkeys((b"avif", b"avis"), "AVIF"),
}
# Other image formats a photo may come in, by their magic bytes. They are named here, before
# Pillow looks at the bytes, so that Pillow only ever parses the four formats we decode.
_SIGNATURES = (
    (b"II*\x00", "TIFF"),  # also DNG and most cameras' raw files
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
    (b"8BPS", "PSD"),
)
# "BM" alone starts too much text; a BMP's info header (at offset 14) has one of these sizes.
_BMP_INFO_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}


def unsupported_format(data: bytes) -> str | None:
    """The name of the image format ``data`` is in, when it is one we refuse; else None."""
    if data[4:8] == b"ftyp" and data[8:12] in _FTYP_BRANDS:
        return _FTYP_BRANDS[data[8:12]]
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    if data.startswith(b"BM") and int.from_bytes(data[14:18], "little") in _BMP_INFO_HEADER_SIZES:
        return "BMP"
    return None


def check_upload_size(size: int, *, max_bytes: int, name: str) -> None:
    """Refuse an object larger than MAX_UPLOAD_BYTES before it is downloaded."""
    if size > max_bytes:
        raise ImageTooLarge(
            f"{name} is {size} bytes, more than the {max_bytes} bytes (MAX_UPLOAD_BYTES) this "
            "function downloads"
        )


def check_size(size: int, *, name: str) -> None:
    """The last guard: a normalised image is a few tens of KB and never meets it."""
    if size > MAX_IMAGE_BYTES:
        raise ImageTooLarge(
            f"{name} is {size} bytes; its base64 would exceed the {MAX_BASE64_CHARS}-character budget "
            f"of a 256 KiB Step Functions payload (at most {MAX_IMAGE_BYTES} bytes)"
        )


def encode_image(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
