"""The official CIFAR-100 archive: download it, check its MD5, read the two classes we keep."""

from __future__ import annotations

import hashlib
import pickle
import tarfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scones_core.project import CIFAR_FINE_LABELS
from training_job.exceptions import ChecksumMismatchError, DatasetError, DownloadError

_CHUNK = 1 << 20
#: Pickles inside the archive: CIFAR's train split, and its test split (our validation channel).
SPLIT_MEMBERS = {"train": "cifar-100-python/train", "test": "cifar-100-python/test"}


@dataclass(frozen=True)
class CifarImage:
    index: int  # row in CIFAR's own split, kept as the .lst index
    label: int  # 0 = bicycle, 1 = motorcycle
    filename: str
    pixels: bytes  # 3072 bytes: 1024 red, 1024 green, 1024 blue, row-major 32x32


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, destination: Path, expected_md5: str, *, progress: bool = True) -> Path:
    """Fetch `url` (https:// or file://) to `destination`, checking its MD5 on the way.

    An archive already at `destination` with the right MD5 is reused. On a mismatch the file
    is deleted and ChecksumMismatchError raised.
    """
    from tqdm import tqdm

    if destination.exists() and file_md5(destination) == expected_md5:
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # https:// or file://
            total = int(response.headers.get("Content-Length") or 0) or None
            with (
                partial.open("wb") as out,
                tqdm(
                    total=total,
                    unit="B",
                    unit_scale=True,
                    desc=f"download {destination.name}",
                    disable=not progress,
                ) as bar,
            ):
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"could not download {url}: {error}") from error
    actual = digest.hexdigest()
    if actual != expected_md5:
        partial.unlink(missing_ok=True)
        raise ChecksumMismatchError(url, expected_md5, actual)
    partial.replace(destination)
    return destination


def _field(batch: dict, name: str):
    """CIFAR's pickles are read with encoding='bytes', so their keys are bytes."""
    for key in (name.encode(), name):
        if key in batch:
            return batch[key]
    raise DatasetError(f"CIFAR batch has no {name!r} field (keys: {sorted(map(str, batch))})")


def read_split(archive: Path, split: str) -> Iterator[CifarImage]:
    """Yield the bicycles and motorcycles of CIFAR-100's `split` ("train" or "test")."""
    member = SPLIT_MEMBERS[split]
    try:
        with tarfile.open(archive, "r:gz") as tar:
            stream = tar.extractfile(member)
            if stream is None:
                raise KeyError(member)
            # The archive's MD5 was checked before we got here: this is the official pickle.
            batch = pickle.load(stream, encoding="bytes")
    except KeyError as error:
        raise DatasetError(f"{archive} has no {member}") from error
    except (tarfile.TarError, pickle.UnpicklingError, EOFError) as error:
        raise DatasetError(f"cannot read {member} from {archive}: {error}") from error

    labels, data, filenames = _field(batch, "fine_labels"), _field(batch, "data"), _field(batch, "filenames")
    for index, fine_label in enumerate(labels):
        if fine_label not in CIFAR_FINE_LABELS:
            continue
        name = filenames[index]
        pixels = bytes(data[index])
        if len(pixels) != 3072:
            raise DatasetError(f"{member} row {index}: expected 3072 bytes, got {len(pixels)}")
        yield CifarImage(
            index=index,
            label=CIFAR_FINE_LABELS[fine_label],
            filename=name.decode() if isinstance(name, bytes) else str(name),
            pixels=pixels,
        )


def to_png(image: CifarImage) -> bytes:
    """Encode one CIFAR row as a 32x32 RGB PNG (deterministic bytes for the same pixels)."""
    import io

    import numpy as np
    from PIL import Image

    planes = np.frombuffer(image.pixels, dtype=np.uint8).reshape(3, 32, 32)
    buffer = io.BytesIO()
    Image.fromarray(planes.transpose(1, 2, 0), "RGB").save(buffer, format="PNG")
    return buffer.getvalue()
