"""The local model's decoder refuses a decompression bomb from its header, before decoding."""

import io

import pytest
from PIL import Image

from training_job.local_model.preprocess import MAX_PIXELS, UndecodableImage, decode_image


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG")  # 1-bit: a few KB however large
    return buffer.getvalue()


def test_an_image_over_the_pixel_limit_is_refused_by_its_size():
    with pytest.raises(UndecodableImage, match=f"8000x8000 pixels .* more than the {MAX_PIXELS} pixels"):
        decode_image(png(8000, 8000))


def test_pillows_own_bomb_error_is_undecodable_too():
    with pytest.raises(UndecodableImage, match="decompression bomb"):
        decode_image(png(14000, 14000))


def test_a_large_photo_under_the_limit_still_decodes():
    assert decode_image(png(4000, 3000)).shape == (3, 32, 32)
