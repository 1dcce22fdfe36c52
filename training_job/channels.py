"""Lay out the four channels on disk, from the CIFAR archive or from an image folder.

The tree under `out_dir` is exactly what `staging.sync_directory` uploads::

    train/<name>.png             validation/<name>.png
    train_lst/train.lst          validation_lst/validation.lst
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from training_job import cifar
from training_job.exceptions import DatasetError
from training_job.local_model.data import LstEntry, LstFormatError, format_lst, read_lst, stratified_split
from training_job.project import TRAIN, VALIDATION

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
