"""`stage`: put the four channels in S3, uploading only what changed."""

from __future__ import annotations

import base64
import hashlib
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training_job import channels, cifar
from training_job.aws import s3_uri
from training_job.exceptions import TrainingJobCommandError
from training_job.project import CHANNELS, CIFAR_ARCHIVE_NAME, CIFAR_MD5, CIFAR_URL

_CONTENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".lst": "text/plain"}


@dataclass
class SyncResult:
    uploaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # in S3 under the channels, not on disk
    deleted: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StageResult:
    counts: channels.ChannelCounts
    sync: SyncResult
    uris: dict[str, str]


def object_key(prefix: str, relative: str) -> str:
    return f"{prefix.strip('/')}/{relative}" if prefix.strip("/") else relative


def list_objects(s3: Any, bucket: str, prefix: str) -> dict[str, tuple[int, str]]:
    """key -> (size, ETag without quotes) for every object under `prefix` (ListObjectsV2)."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = (item["Size"], item["ETag"].strip('"'))
    return found


def _local_files(local_dir: Path) -> dict[str, Path]:
    files = {}
    for channel in CHANNELS:
        for path in sorted((local_dir / channel).rglob("*")):
            if path.is_file():
                files[path.relative_to(local_dir).as_posix()] = path
    return files


def _put(s3: Any, bucket: str, key: str, body: bytes, md5: bytes, suffix: str) -> str:
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=body,
        ContentMD5=base64.b64encode(md5).decode(),
        ContentType=_CONTENT_TYPES.get(suffix, "application/octet-stream"),
    )
    return key


def sync_directory(
    s3: Any,
    local_dir: Path,
    bucket: str,
    prefix: str,
    *,
    delete: bool = False,
    workers: int = 16,
    progress: bool = True,
) -> SyncResult:
    """Upload the channel files whose size or MD5 differ from the object in S3.

    Each file goes up with one PutObject (they are small), so the object's ETag is its MD5
    and a rerun compares without downloading anything.
    """
    from tqdm import tqdm

    remote = {}
    for channel in CHANNELS:
        remote |= list_objects(s3, bucket, object_key(prefix, channel) + "/")
    result = SyncResult()
    todo = []
    for relative, path in _local_files(local_dir).items():
        key = object_key(prefix, relative)
        body = path.read_bytes()
        md5 = hashlib.md5(body, usedforsecurity=False).digest()
        if remote.pop(key, None) == (len(body), md5.hex()):
            result.unchanged.append(key)
        else:
            todo.append((key, body, md5, path.suffix.lower()))
    result.stale = sorted(remote)

    with (
        tqdm(total=len(todo), unit="file", desc=f"upload to s3://{bucket}", disable=not progress) as bar,
        ThreadPoolExecutor(max_workers=max(1, workers)) as pool,
    ):
        futures = [pool.submit(_put, s3, bucket, *job) for job in todo]
        for future in as_completed(futures):
            result.uploaded.append(future.result())
            bar.update()
    result.uploaded.sort()

    if delete and result.stale:
        for start in range(0, len(result.stale), 1000):
            batch = result.stale[start : start + 1000]
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
        result.deleted = list(result.stale)
    return result


def check_bucket(s3: Any, bucket: str) -> None:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        raise TrainingJobCommandError(
            f"cannot use bucket {bucket!r} ({code or error}); create it first: aws s3 mb s3://{bucket}"
        ) from error


def stage(
    session: Any,
    bucket: str,
    prefix: str,
    work_dir: Path,
    *,
    from_dir: Path | None = None,
    source_url: str = CIFAR_URL,
    source_md5: str = CIFAR_MD5,
    validation_fraction: float = 0.2,
    seed: int = 0,
    delete: bool = False,
    progress: bool = True,
) -> StageResult:
    """Build the channels (from the archive or `from_dir`) under `work_dir`, then sync them."""
    s3 = session.client("s3")
    check_bucket(s3, bucket)
    out_dir = work_dir / "channels"
    if from_dir is not None:
        counts = channels.from_image_dir(
            from_dir, out_dir, validation_fraction=validation_fraction, seed=seed
        )
    else:
        archive = cifar.download(source_url, work_dir / CIFAR_ARCHIVE_NAME, source_md5, progress=progress)
        counts = channels.from_cifar_archive(archive, out_dir)
    sync = sync_directory(s3, out_dir, bucket, prefix, delete=delete, progress=progress)
    uris = {channel: s3_uri(bucket, prefix, channel) + "/" for channel in CHANNELS}
    return StageResult(counts, sync, uris)
