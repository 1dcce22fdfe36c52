"""Decode an image into the model's input tensor. Pillow and numpy only: the local
endpoint and ``evaluate`` use it, so it must not pull in PyTorch."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SIZE = 32


class UndecodableImage(ValueError):
    """The bytes are not an image Pillow can decode."""


def decode_image(data: bytes) -> np.ndarray:
    """Return the image as float32 ``[3, 32, 32]`` RGB in 0..255.

    RGBA and palette images are flattened to RGB (CIFAR PNGs carry an opaque alpha
    channel); any other size is resized, as the built-in algorithm resizes its input.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            rgb = image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise UndecodableImage(f"not a decodable image ({len(data)} bytes): {error}") from error
    if rgb.size != (IMAGE_SIZE, IMAGE_SIZE):
        rgb = rgb.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1).copy()
