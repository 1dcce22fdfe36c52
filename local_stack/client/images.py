"""The images a run classifies: a folder's files with their expected labels from a ``.lst``,
uploaded to the stack's bucket."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack.errors import UsageError
from scones_core.project import CLASS_NAMES


@dataclass(frozen=True)
class ImageToRun:
    path: Path
    expected: str | None


def find_images(
    images_dir: Path, lst: Path | None = None, limit: int | None = None
) -> tuple[list[ImageToRun], list[str]]:
    """The files to run (every regular file but .lst ones: non-images fail by name in the
    workflow) with their expected labels, and warnings about the .lst."""
    if not images_dir.is_dir():
        problem = (
            "a file, not a folder: name the folder that holds it" if images_dir.exists() else "no such folder"
        )
        raise UsageError(f"--images {images_dir}: {problem}")
    files = sorted(
        p for p in images_dir.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix != ".lst"
    )
    if not files:
        raise UsageError(f"--images {images_dir}: the folder holds no files")
    expected: dict[str, str] = {}
    warnings: list[str] = []
    if lst is not None:
        expected, missing = read_lst(lst, images_dir)
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            warnings.append(
                f"{len(missing)} file(s) named in {lst} are not in {images_dir}, skipped: {shown}"
            )
    images = [ImageToRun(path, expected.get(path.name)) for path in files]
    return (images[:limit] if limit else images), warnings


def read_lst(lst: Path, images_dir: Path) -> tuple[dict[str, str], list[str]]:
    """``index<TAB>label<TAB>path`` lines: expected class by file name, and the missing files."""
    if not lst.is_file():
        raise UsageError(f"--lst {lst}: no such file")
    expected, missing = {}, []
    for number, line in enumerate(lst.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[1].strip() not in ("0", "1"):
            raise UsageError(f"{lst}:{number}: expected 'index<TAB>label(0|1)<TAB>path', got {line!r}")
        name = Path(parts[2].strip()).name
        if not (images_dir / name).is_file():
            missing.append(name)
        expected[name] = CLASS_NAMES[int(parts[1])]
    return expected, missing


def upload_images(s3: Any, bucket: str, images: list[ImageToRun], prefix: str = "images") -> dict[str, str]:
    keys = {}
    for image in images:
        key = f"{prefix}/{image.path.name}"
        s3.put_object(Bucket=bucket, Key=key, Body=image.path.read_bytes())
        keys[image.path.name] = key
    return keys
