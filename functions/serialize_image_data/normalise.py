"""Turn whatever photo was uploaded into the small RGB image the model needs.

A phone photo is a 3-8 MB JPEG of 12 MP or more, usually stored sideways with an EXIF
orientation; others are PNG screenshots with transparency, palette GIFs, CMYK or 16-bit scans.
None of them would fit a 256 KiB state payload as it is. Here the image is decoded (PNG, JPEG,
WebP, and GIF's first frame), turned upright, flattened to RGB and shrunk so that its longest
side is at most ``max_side`` pixels, then re-encoded: a few tens of KB whatever was uploaded.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

# The plugins of the four formats we decode are imported by name, which registers them: Image.open
# then never loads Pillow's other plugins (see open_image), and a build that pruned them works.
from PIL import (  # noqa: F401
    GifImagePlugin,
    Image,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    WebPImagePlugin,
)

from exceptions import ImageTooLarge, NotAnImage, UnsupportedImageFormat
from image_data import unsupported_format

# Pillow's names for them. A JPEG with more pictures appended (MPO, as some phones save) opens
# as format "MPO" through the JPEG decoder, and its first picture is read like any JPEG.
DECODED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")

# A decompression bomb (a few KB that claim billions of pixels) is refused from its header,
# before decoding. 64 Mi pixels let every phone's full-resolution mode through (48 MP iPhones:
# 8064x6048; 50 MP Pixels: 8160x6144; 64 MP sensors: 9248x6936) and refuse 108/200 MP modes.
# The costliest decode at that size, a WebP, peaks at about 1 GiB (template.yaml's MemorySize).
MAX_PIXELS = 64 * 1024 * 1024
# Pillow's own guard, for any decode path we did not foresee, at the same number.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

# Re-encoding: PNG while the image is at most this many pixels on its longest side (a CIFAR-
# sized image, a thumbnail): lossless and at most ~12 KB there, where JPEG's 8x8 blocks and
# halved colour resolution would change a large share of what the model sees. Larger images
# go as JPEG at quality 90: a 256-pixel photo is 10-30 KB (59 KB for pure noise, the worst
# case), against 100-200 KB as PNG, and its artefacts vanish when the model shrinks it to 32x32
# (tests/unit/functions/test_normalised_accuracy.py measures what it costs the local model).
PNG_MAX_SIDE = 64
JPEG_QUALITY = 90
# A small PNG or JPEG that is already what we would send (8-bit RGB, or RGBA that is fully
# opaque; upright; within max_side) goes on byte for byte, as it always did: re-encoding it
# would only add a generation of loss. Above this size it is re-encoded all the same, which
# drops metadata (EXIF thumbnails, ICC profiles, text chunks) that the model does not read.
PASSTHROUGH_MAX_BYTES = 64 * 1024
# Transparent pixels are shown on white: that is what a viewer or a web page shows behind a
# cut-out bicycle, and what catalogue photos have. Dropping the alpha instead would reveal
# whatever colour the transparent pixels store, most often black.
BACKGROUND = (255, 255, 255)

_PNG_BIT_DEPTH_OFFSET = 24  # 8-byte signature, IHDR's length and type, width, height
_ORIENTATION = 0x0112
# what Pillow's decoders raise for data they cannot decode (UnidentifiedImageError is an OSError)
_UNDECODABLE = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)


@dataclass(frozen=True)
class NormalisedImage:
    """What is sent (``data``, ``content_type``, ``size``) and what was uploaded, for the log."""

    data: bytes
    content_type: str
    source_format: str
    source_size: tuple[int, int]
    size: tuple[int, int]
    passed_through: bool


def normalise_image(data: bytes, *, name: str, max_side: int) -> NormalisedImage:
    """The image to send to the endpoint: ``data`` itself when it already is one, else a PNG or
    JPEG of at most ``max_side`` pixels on its longest side, upright, RGB."""
    with open_image(data, name=name) as image:
        source_format, source_size = image.format, image.size
        check_pixels(image, name=name)
        decode(image, name=name, max_side=max_side)
        if is_ready(image, data, max_side=max_side):
            content_type = "image/png" if source_format == "PNG" else "image/jpeg"
            return NormalisedImage(data, content_type, source_format, source_size, source_size, True)
        small = to_rgb(ImageOps.exif_transpose(shrink(to_resizable_mode(image), max_side=max_side)))
    encoded, content_type = encode(small)
    return NormalisedImage(encoded, content_type, source_format, source_size, small.size, False)


def open_image(data: bytes, *, name: str) -> Image.Image:
    """Read the header only. Formats we refuse are named from their magic bytes first, so
    Pillow's parsers of other formats never see the data."""
    refused = unsupported_format(data)
    if refused:
        raise UnsupportedImageFormat(
            f"{name} is a {refused} image; only PNG, JPEG, WebP and GIF are classified (a phone "
            "can share or export the photo as JPEG)"
        )
    try:
        with warnings.catch_warnings():
            # More pixels than MAX_PIXELS: check_pixels refuses them with their dimensions.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=DECODED_FORMATS)
    except Image.DecompressionBombError as error:  # over twice MAX_PIXELS: Pillow refuses itself
        raise ImageTooLarge(
            f"{name} has more than twice the {MAX_PIXELS} pixels decoded here: {error}"
        ) from error
    except _UNDECODABLE as error:
        problem = header_problem(data)
        if problem:
            raise NotAnImage(f"{name} is not an image that can be decoded: {problem}") from error
        raise NotAnImage(
            f"{name} is not an image this workflow reads (PNG, JPEG, WebP or GIF): first bytes {data[:8]!r}, "
            f"{len(data)} bytes"
        ) from error


def header_problem(data: bytes) -> str | None:
    """Why the header of ``data``, which starts like one of our formats, cannot be read: for
    any file it cannot open Image.open only says "cannot identify image file"."""
    for image_format in DECODED_FORMATS:
        factory, accept = Image.OPEN[image_format]
        if accept(data[:16]) is True:
            try:
                factory(io.BytesIO(data), "")
            except _UNDECODABLE as error:
                return f"its {image_format} header is broken ({error or type(error).__name__})"
    return None


def check_pixels(image: Image.Image, *, name: str) -> None:
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageTooLarge(
            f"{name} is {width}x{height} pixels, more than the {MAX_PIXELS} decoded here "
            "(a decompression bomb, or a photo larger than any phone's full resolution)"
        )


def decode(image: Image.Image, *, name: str, max_side: int) -> None:
    """Decode the pixels (the first frame of an animation). A JPEG decodes straight at 1/2, 1/4
    or 1/8 scale (libjpeg's DCT scaling) down to twice ``max_side``, so a 12 MP photo never
    exists at full size; twice, so that the final resize still averages enough pixels."""
    image.draft(None, (2 * max_side, 2 * max_side))  # does nothing for the other formats
    try:
        image.load()
    except Image.DecompressionBombError as error:  # a frame larger than the header said
        raise ImageTooLarge(f"{name}: {error}") from error
    except _UNDECODABLE as error:
        raise NotAnImage(f"{name} is a {image.format} image that cannot be decoded: {error}") from error


def is_ready(image: Image.Image, data: bytes, *, max_side: int) -> bool:
    """Whether ``data`` (decoded into ``image``) can go on as it is."""
    if len(data) > PASSTHROUGH_MAX_BYTES or max(image.size) > max_side:
        return False
    if image.getexif().get(_ORIENTATION, 1) != 1:
        return False
    if image.format == "JPEG":
        return image.mode == "RGB"
    if image.format != "PNG" or data[_PNG_BIT_DEPTH_OFFSET] != 8 or "transparency" in image.info:
        return False  # a 16-bit PNG decodes as RGB too, but not every endpoint reads 16 bits
    return image.mode == "RGB" or (image.mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255))


def to_resizable_mode(image: Image.Image) -> Image.Image:
    """L, LA, RGB or RGBA: the modes that resize with filtering (a palette image would resize
    by nearest neighbour) and keep transparency as an alpha band."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit greyscale: convert("L") would clip every value above 255 to white
        return image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    if "transparency" in image.info or image.mode in ("PA", "La", "RGBa"):
        return image.convert("RGBA")  # a palette or colour key made an alpha band
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return image
    if image.mode == "1":
        return image.convert("L")
    return image.convert("RGB")  # P, CMYK, YCbCr, F, ...


def shrink(image: Image.Image, *, max_side: int) -> Image.Image:
    """At most ``max_side`` on the longest side, aspect kept; never enlarged. In place: a copy of
    a 64 MP decode would double the memory it takes."""
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("LA", "RGBA"):
        background = Image.new("RGB", image.size, BACKGROUND)
        background.paste(image.convert("RGB"), mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def encode(image: Image.Image) -> tuple[bytes, str]:
    # Pillow would write the source's ICC profile into a PNG; the model reads no metadata
    image.info.clear()
    out = io.BytesIO()
    if max(image.size) <= PNG_MAX_SIDE:
        image.save(out, "PNG")
        return out.getvalue(), "image/png"
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue(), "image/jpeg"
