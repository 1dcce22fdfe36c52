"""Decode an image into the model's input tensor. Pillow and numpy only: the local
endpoint and ``evaluate`` use it, so it must not pull in PyTorch."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SIZE = 32


# A decompression bomb (a small file of huge dimensions) would take gigabytes to decode: 48 MP is
# four times a 12 MP phone photo, and far below Pillow's own bomb limit (2 x 89 MP).
MAX_PIXELS = 48_000_000


class UndecodableImage(ValueError):
    """The bytes are not an image Pillow can decode."""


def decode_image(data: bytes) -> np.ndarray:
    """Return the image as float32 ``[3, 32, 32]`` RGB in 0..255.

    RGBA and palette images are flattened to RGB (CIFAR PNGs carry an opaque alpha
    channel); any other size is resized, as the built-in algorithm resizes its input.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            _check_pixels(image.size, len(data))
            image.load()
            rgb = image.convert("RGB")
    except UndecodableImage:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise UndecodableImage(f"not a decodable image ({len(data)} bytes): {error}") from error
    if rgb.size != (IMAGE_SIZE, IMAGE_SIZE):
        rgb = rgb.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1).copy()


def _check_pixels(size: tuple[int, int], byte_count: int) -> None:
    """Refuse a decompression bomb from its header, before decoding, as a model container would."""
    width, height = size
    if width * height > MAX_PIXELS:
        raise UndecodableImage(
            f"{width}x{height} pixels ({byte_count} bytes) is more than the {MAX_PIXELS} pixels "
            "this model decodes"
        )
