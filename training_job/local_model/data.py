"""Carve the validation split and load the images of ``.lst`` entries (the format itself is
scones_core.lst). Numpy and Pillow only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scones_core.lst import LstEntry
from training_job.local_model.preprocess import UndecodableImage, decode_image


@dataclass
class LoadedImages:
    """Images that decoded, with their entries, and the entries that did not."""

    images: np.ndarray  # float32 [n, 3, 32, 32], RGB 0..255
    labels: np.ndarray  # int64 [n]
    entries: list[LstEntry]
    missing: list[str] = field(default_factory=list)
    undecodable: list[str] = field(default_factory=list)


def stratified_split(
    entries: Sequence[LstEntry], val_fraction: float, seed: int
) -> tuple[list[LstEntry], list[LstEntry]]:
    """Split into (train, validation), the same share of each class in validation.

    Deterministic for a seed whatever the order of ``entries``: each class is sorted by path
    before a seeded permutation picks ``round(n_class * val_fraction)`` of it. Both lists come
    back sorted by path.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    train: list[LstEntry] = []
    validation: list[LstEntry] = []
    for label in sorted({entry.label for entry in entries}):
        members = sorted((e for e in entries if e.label == label), key=lambda e: (e.path, e.index))
        order = rng.permutation(len(members))
        n_val = round(len(members) * val_fraction)
        validation.extend(members[i] for i in order[:n_val])
        train.extend(members[i] for i in order[n_val:])
    key = lambda e: (e.path, e.index)  # noqa: E731
    return sorted(train, key=key), sorted(validation, key=key)


def load_images(images_dir: Path | str, entries: Sequence[LstEntry]) -> LoadedImages:
    """Decode each entry's image; missing and undecodable files are listed, not raised."""
    root = Path(images_dir)
    arrays, labels, kept = [], [], []
    missing, undecodable = [], []
    for entry in entries:
        file = root / entry.path
        try:
            data = file.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            missing.append(entry.path)
            continue
        try:
            arrays.append(decode_image(data))
        except UndecodableImage:
            undecodable.append(entry.path)
            continue
        labels.append(entry.label)
        kept.append(entry)
    images = np.stack(arrays) if arrays else np.zeros((0, 3, 32, 32), dtype=np.float32)
    return LoadedImages(
        images=images.astype(np.float32, copy=False),
        labels=np.asarray(labels, dtype=np.int64),
        entries=kept,
        missing=missing,
        undecodable=undecodable,
    )
