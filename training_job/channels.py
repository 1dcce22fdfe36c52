"""Lay out the four channels on disk, from the CIFAR archive or from an image folder.

The tree under `out_dir` is exactly what `staging.sync_directory` uploads::

    train/<name>.png             validation/<name>.png
    train_lst/train.lst          validation_lst/validation.lst

and, with the reviewed data set merged in (``add_reviewed``), ``train/reviewed/<review id>.png``.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import shutil
from dataclasses import dataclass
from pathlib import Path

from scones_core.lst import LstEntry, LstFormatError, format_lst, read_lst
from scones_core.project import CLASS_NAMES, TRAIN, VALIDATION
from training_job import cifar
from training_job.exceptions import DatasetError
from training_job.local_model.data import stratified_split

# The .lst format and the validation split are the local model's own (training_job.local_model.data),
# so `stage --from-dir` holds out exactly the images `train-local` holds out for the same seed, and the
# built-in algorithm and the local CNN are scored on the same validation images.


@dataclass(frozen=True)
class ChannelCounts:
    train: int
    validation: int


def _reset(out_dir: Path) -> None:
    for channel in (TRAIN, VALIDATION, f"{TRAIN}_lst", f"{VALIDATION}_lst"):
        shutil.rmtree(out_dir / channel, ignore_errors=True)
        (out_dir / channel).mkdir(parents=True)


def lst_path(out_dir: Path, channel: str) -> Path:
    return out_dir / f"{channel}_lst" / f"{channel}.lst"


def write_lst(path: Path, entries: list[LstEntry]) -> Path:
    """`index<TAB>label<TAB>relative path` per line, as the algorithm's .lst channels expect."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_lst(entries), encoding="utf-8")
    return path


def _read_lst(path: Path) -> list[LstEntry]:
    try:
        return read_lst(path)
    except LstFormatError as error:
        raise DatasetError(f"{path}: {error}") from error


def from_cifar_archive(archive: Path, out_dir: Path) -> ChannelCounts:
    """CIFAR's train split -> train channel; CIFAR's test split -> validation channel."""
    _reset(out_dir)
    counts = {}
    for channel, split in ((TRAIN, "train"), (VALIDATION, "test")):
        entries = []
        for image in cifar.read_split(archive, split):
            target = out_dir / channel / image.filename
            if target.exists():
                raise DatasetError(f"two images named {image.filename} in CIFAR's {split} split")
            target.write_bytes(cifar.to_png(image))
            entries.append(LstEntry(image.index, image.label, image.filename))
        if not entries:
            raise DatasetError(f"no bicycles or motorcycles in CIFAR's {split} split of {archive}")
        write_lst(lst_path(out_dir, channel), entries)
        counts[channel] = len(entries)
    return ChannelCounts(counts[TRAIN], counts[VALIDATION])


def _existing_validation(source: Path) -> tuple[list[LstEntry], Path] | None:
    for name in (VALIDATION, "test"):
        if (source / f"{name}.lst").is_file() and (source / name).is_dir():
            return _read_lst(source / f"{name}.lst"), source / name
    return None


def from_image_dir(
    source: Path, out_dir: Path, *, validation_fraction: float = 0.2, seed: int = 0
) -> ChannelCounts:
    """`source/train.lst` + `source/train/*.png` (the layout of ../shared/data/...).

    A `validation.lst` (or `test.lst`) with its folder beside them is used as is; otherwise a
    stratified validation split is carved out of the training images, the same for the same seed.
    """
    train_lst, train_images = source / f"{TRAIN}.lst", source / TRAIN
    if not train_lst.is_file() or not train_images.is_dir():
        raise DatasetError(f"{source} must hold {TRAIN}.lst and a {TRAIN}/ folder of images")
    entries = _read_lst(train_lst)
    existing = _existing_validation(source)
    if existing:
        train, (validation, validation_images) = entries, existing
    else:
        if not 0 < validation_fraction < 1:
            raise DatasetError(f"validation fraction must be between 0 and 1, got {validation_fraction}")
        train, validation = stratified_split(entries, validation_fraction, seed)
        validation_images = train_images

    _reset(out_dir)
    for channel, part, images in ((TRAIN, train, train_images), (VALIDATION, validation, validation_images)):
        for entry in part:
            image = images / entry.path
            if not image.is_file():
                raise DatasetError(f"{image} is listed in the .lst but does not exist")
            target = out_dir / channel / entry.path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(image, target)
        write_lst(lst_path(out_dir, channel), part)
    return ChannelCounts(len(train), len(validation))


# --- the reviewed data set, merged into the train channel ----------------------------------
#
# Reviewed photos go into the train channel only. The validation channel stays the held-out
# split the model versions are compared on (validation:accuracy, early stopping): photos picked
# because the current model found them hard would make that number harder for every next model
# and no longer comparable, and held out there they would teach nothing.

#: Reviewed photos sit in train/reviewed/, listed as reviewed/<review id><ext>: their names never
#: meet the base set's, and a later merge knows its own lines by the folder.
REVIEWED_FOLDER = "reviewed"
#: What the algorithm reads in image format (image/png, image/jpeg); anything else becomes a PNG.
TRAINABLE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class ReviewedPhoto:
    """One line of the reviewed set's .lst and its image's bytes."""

    entry: LstEntry  # path relative to the reviewed set's images/
    body: bytes

    @property
    def md5(self) -> str:
        return content_md5(self.body)


@dataclass(frozen=True)
class ReviewedMerge:
    """The train .lst with the reviewed photos in it, and what happened to each reviewed photo."""

    train: list[LstEntry]
    added: list[tuple[LstEntry, ReviewedPhoto]]  # (the train channel's line, the photo)
    added_per_class: dict[str, int]
    duplicates: int = 0  # the same bytes as a later line of the reviewed set (the later verdict wins)
    already_in_train: int = 0
    in_validation: int = 0  # kept out of train: validation:accuracy would count it as seen
    replaced: int = 0  # lines of an earlier merge, dropped and merged again


def content_md5(body: bytes) -> str:
    """What a photo is known by across the sets: its bytes' MD5, the ETag S3 gives a single PUT."""
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def training_name(reviewed_path: str) -> str:
    """The train channel's path for a reviewed image: under ``reviewed/``, a PNG unless it is one
    of the formats the algorithm reads."""
    stem, suffix = posixpath.splitext(reviewed_path)
    suffix = suffix.lower() if suffix.lower() in TRAINABLE_SUFFIXES else ".png"
    return f"{REVIEWED_FOLDER}/{stem}{suffix}"


def trainable_bytes(path: str, body: bytes) -> bytes:
    """``body`` as is for a PNG or JPEG; other formats (WebP, GIF) as a PNG of their first frame,
    transparency flattened onto white as the workflow does."""
    if posixpath.splitext(path)[1].lower() in TRAINABLE_SUFFIXES:
        return body
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(body)) as image:
            rgba = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise DatasetError(f"reviewed image {path} is not an image Pillow reads: {error}") from error
    flat = Image.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    flat.save(out, format="PNG")
    return out.getvalue()


def merge_reviewed(
    train: list[LstEntry],
    train_md5: dict[str, str],
    validation_md5: set[str],
    reviewed: list[ReviewedPhoto],
) -> ReviewedMerge:
    """The train .lst with each reviewed photo once, numbered after the base set's last index.

    ``train`` may hold an earlier merge (lines under ``reviewed/``): those are dropped and the
    current reviewed set merged again, so a rerun never doubles a line and a changed verdict
    reaches the channel. One entry per photo: among reviewed copies of the same bytes the
    latest line wins; a photo already in the base train set, or in validation, is not added.
    """
    base = [entry for entry in train if not entry.path.startswith(f"{REVIEWED_FOLDER}/")]
    base_md5 = {train_md5[entry.path] for entry in base if entry.path in train_md5}
    latest: dict[str, ReviewedPhoto] = {}
    for photo in reviewed:  # in .lst order: a later line replaces an earlier one with the same bytes
        latest.pop(photo.md5, None)
        latest[photo.md5] = photo
    kept = sorted(latest.values(), key=lambda photo: photo.entry.index)
    next_index = max((entry.index for entry in base), default=-1) + 1
    added: list[tuple[LstEntry, ReviewedPhoto]] = []
    in_validation = already_in_train = 0
    for photo in kept:
        if photo.md5 in validation_md5:
            in_validation += 1
        elif photo.md5 in base_md5:
            already_in_train += 1
        else:
            line = LstEntry(next_index + len(added), photo.entry.label, training_name(photo.entry.path))
            added.append((line, photo))
    return ReviewedMerge(
        train=[*base, *(line for line, _ in added)],
        added=added,
        added_per_class={
            name: sum(1 for line, _ in added if line.label == label) for label, name in enumerate(CLASS_NAMES)
        },
        duplicates=len(reviewed) - len(kept),
        already_in_train=already_in_train,
        in_validation=in_validation,
        replaced=len(train) - len(base),
    )


def add_reviewed(out_dir: Path, reviewed: list[ReviewedPhoto]) -> ReviewedMerge:
    """Merge the reviewed photos into the train channel laid out under ``out_dir``: their images
    into ``train/reviewed/``, their lines into the train .lst."""
    train = _read_lst(lst_path(out_dir, TRAIN))
    train_md5 = {
        entry.path: content_md5((out_dir / TRAIN / entry.path).read_bytes())
        for entry in train
        if (out_dir / TRAIN / entry.path).is_file()
    }
    validation_md5 = {
        content_md5(path.read_bytes()) for path in (out_dir / VALIDATION).rglob("*") if path.is_file()
    }
    merge = merge_reviewed(train, train_md5, validation_md5, reviewed)
    shutil.rmtree(out_dir / TRAIN / REVIEWED_FOLDER, ignore_errors=True)
    for line, photo in merge.added:
        target = out_dir / TRAIN / line.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(trainable_bytes(photo.entry.path, photo.body))
    write_lst(lst_path(out_dir, TRAIN), merge.train)
    return merge
