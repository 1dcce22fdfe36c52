"""`stage`: put the four channels in S3, uploading only what changed; with the reviewed data set
(the photos people labelled, `python -m review`) merged into the train channel, on disk before the
upload (`stage --include-reviewed`) or in S3 where the channels already are (`train --include-reviewed`)."""

from __future__ import annotations

import base64
import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scones_core.aws import s3_uri
from scones_core.lst import LstEntry, LstFormatError, format_lst, parse_lst
from scones_core.project import CHANNELS, CIFAR_ARCHIVE_NAME, CIFAR_MD5, CIFAR_URL, TRAIN, VALIDATION
from training_job import channels, cifar
from training_job.exceptions import DatasetError, NotStagedError, TrainingJobCommandError

logger = logging.getLogger(__name__)

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
    reviewed: channels.ReviewedMerge | None = None  # with --include-reviewed


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
    reviewed_uri: str | None = None,
) -> StageResult:
    """Build the channels (from the archive or `from_dir`) under `work_dir`, merge the reviewed
    data set at `reviewed_uri` into train (if given), then sync them."""
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
    merge = None
    if reviewed_uri is not None:
        merge = channels.add_reviewed(out_dir, read_reviewed(s3, reviewed_uri))
        counts = channels.ChannelCounts(len(merge.train), counts.validation)
    sync = sync_directory(s3, out_dir, bucket, prefix, delete=delete, progress=progress)
    uris = {channel: s3_uri(bucket, prefix, channel) + "/" for channel in CHANNELS}
    return StageResult(counts, sync, uris, merge)


# --- the reviewed data set -------------------------------------------------------------------


def reviewed_location(cloudformation: Any, stack_name: str) -> str:
    """The reviewed data set's s3:// URI, from the stack's `ReviewedDataLocation` Output."""
    from scones_core.reviewed_dataset import reviewed_location as stack_reviewed_location
    from scones_core.stack_outputs import MissingStackOutput, StackLookupError

    try:
        return stack_reviewed_location(cloudformation, stack_name)
    except MissingStackOutput as error:
        raise DatasetError(
            f"{error} (an older template); name the set with --reviewed s3://BUCKET/reviewed/"
        ) from error
    except StackLookupError as error:
        raise DatasetError(
            f"cannot find the reviewed data set: {error}; name it with --reviewed s3://BUCKET/reviewed/"
        ) from error


def read_reviewed(s3: Any, uri: str, *, workers: int = 16) -> list[channels.ReviewedPhoto]:
    """Every line of the reviewed set's .lst with its image's bytes, in .lst order; an empty list
    when the set has no .lst yet (nobody has given a verdict). Lines that are no ``.lst`` entry
    with a safe name are logged by number and text, and skipped."""
    from scones_core.reviewed_dataset import IMAGES, read_reviewed_lst, reviewed_prefix

    bucket, prefix = reviewed_prefix(uri)
    # leniently: a line no reader can use (an older review wrote a key's tab into one) is named
    # and skipped, never the end of staging
    lst = read_reviewed_lst(s3, bucket, prefix)
    for line in lst.skipped:
        logger.warning("training_job: the reviewed data set at %s: %s", uri, line)
    entries = lst.entries

    def fetch(entry: LstEntry) -> channels.ReviewedPhoto:
        from botocore.exceptions import ClientError

        key = f"{prefix}{IMAGES}/{entry.path}"
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                raise DatasetError(
                    f"s3://{bucket}/{key} is listed in the reviewed .lst but does not exist"
                ) from None
            raise
        return channels.ReviewedPhoto(entry, body)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(fetch, entries))


def _staged_lst(s3: Any, bucket: str, key: str) -> list[LstEntry]:
    from botocore.exceptions import ClientError

    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    except ClientError as error:
        raise NotStagedError(
            f"no s3://{bucket}/{key} ({error.response['Error'].get('Code')}); "
            "run: python -m training_job stage first"
        ) from error
    try:
        return parse_lst(body)
    except LstFormatError as error:
        raise DatasetError(f"s3://{bucket}/{key}: {error}") from error


def _md5s(objects: dict[str, tuple[int, str]]) -> dict[str, str]:
    """key -> MD5 for objects uploaded in one PUT (a multipart ETag, with a '-', is no MD5)."""
    return {key: etag for key, (_, etag) in objects.items() if "-" not in etag}


def merge_reviewed_into_staged(
    s3: Any, bucket: str, prefix: str, reviewed_uri: str
) -> channels.ReviewedMerge:
    """`train --include-reviewed`: the reviewed photos into the train channel already staged in S3
    (images under train/reviewed/, lines into train_lst/train.lst), compared by the objects'
    ETags, which are the MD5s `stage`'s single PUTs give them. Uploads only what changed."""
    train_root = object_key(prefix, TRAIN) + "/"
    lst_key = object_key(prefix, f"{TRAIN}_lst/{TRAIN}.lst")
    train = _staged_lst(s3, bucket, lst_key)
    train_objects = _md5s(list_objects(s3, bucket, train_root))
    validation_md5 = set(_md5s(list_objects(s3, bucket, object_key(prefix, VALIDATION) + "/")).values())
    train_md5 = {
        e.path: train_objects[train_root + e.path] for e in train if train_root + e.path in train_objects
    }
    merge = channels.merge_reviewed(train, train_md5, validation_md5, read_reviewed(s3, reviewed_uri))
    for line, photo in merge.added:
        body = channels.trainable_bytes(photo.entry.path, photo.body)
        md5 = hashlib.md5(body, usedforsecurity=False)
        if train_objects.get(train_root + line.path) != md5.hexdigest():
            _put(s3, bucket, train_root + line.path, body, md5.digest(), Path(line.path).suffix.lower())
    text = format_lst(merge.train).encode()
    if text != format_lst(train).encode():
        _put(s3, bucket, lst_key, text, hashlib.md5(text, usedforsecurity=False).digest(), ".lst")
    return merge
