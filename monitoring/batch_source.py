"""Where a batch's results come from: ``s3://bucket/batch/results/<map run id>/`` (its folder, or
its ``summary.json`` or ``manifest.json``) or a local copy of that folder (``aws s3 sync``).

S3 goes through boto3's default client, so ``AWS_ENDPOINT_URL_S3`` (or ``AWS_ENDPOINT_URL``) points
it at the local stack's S3. Everything is read before the report writes anything: a missing or
malformed file fails the run by name, and no half report is left behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from monitoring.batch_results import (
    MANIFEST_NAME,
    SUMMARY_NAME,
    PhotoResult,
    check_summary,
    photos_of_failed,
    photos_of_succeeded,
    result_file_names,
)
from monitoring.exceptions import BatchResultsMalformed, BatchResultsNotFound, BatchResultsUnreadable

_NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}
_FILE_NAMES = (SUMMARY_NAME, MANIFEST_NAME)


PhotoReader = Callable[[str | None, str], bytes | None]
"""``(bucket, key) -> bytes``, or None when that photo cannot be read."""


class BatchFolder(Protocol):
    description: str  # the folder, as shown to people
    photos: PhotoReader | None  # reads the batch's photos, where the folder's store holds them

    def read_text(self, name: str) -> str:
        """A file of the folder; BatchResultsNotFound or BatchResultsUnreadable when it cannot be."""
        ...


@dataclass(frozen=True)
class BatchResults:
    location: str
    summary: dict  # summary.json, checked
    photos: list[PhotoResult]  # in key order
    files_read: int  # result files


class LocalBatchFolder:
    """A copy of the folder: the photos themselves are not in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = str(root)
        self.photos = None

    def read_text(self, name: str) -> str:
        path = self.root / name
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise BatchResultsNotFound(f"{path} does not exist") from None
        except (OSError, UnicodeDecodeError) as error:
            raise BatchResultsUnreadable(f"cannot read {path}: {error}") from None


class S3BatchFolder:
    def __init__(self, bucket: str, prefix: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix  # "" or ending in "/"
        self.description = f"s3://{bucket}/{prefix}"
        self._client = client
        self.photos = self.photo

    @property
    def client(self) -> Any:  # created on first use, so opening a folder never touches AWS
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def read_text(self, name: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        uri = f"s3://{self.bucket}/{self.prefix}{name}"
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)["Body"].read()
            return body.decode("utf-8")
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _NOT_FOUND:
                raise BatchResultsNotFound(f"{uri} does not exist ({code})") from None
            raise BatchResultsUnreadable(f"cannot read {uri}: {error}") from None
        except BotoCoreError as error:
            raise BatchResultsUnreadable(f"cannot read {uri}: {error}") from None
        except UnicodeDecodeError as error:
            raise BatchResultsMalformed(f"{uri} is not UTF-8 text ({error.reason})") from None

    def photo(self, bucket: str | None, key: str) -> bytes | None:
        """A photo of the batch (in its own bucket, else the results' one), or None."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_object(Bucket=bucket or self.bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError):
            return None  # gone since, or not ours to read: the report shows it without its picture


def open_batch_folder(spec: str, s3_client: Any | None = None) -> BatchFolder:
    """``s3://bucket/prefix/`` or a local folder; a name ending in ``.json`` (summary.json,
    manifest.json) stands for the folder it lies in."""
    if spec.startswith("s3://"):
        bucket, prefix = parse_batch_uri(spec)
        return S3BatchFolder(bucket, prefix, client=s3_client)
    folder = local_folder(spec)
    if not folder.is_dir():
        raise BatchResultsNotFound(f"batch results folder not found: {folder}")
    return LocalBatchFolder(folder)


def local_folder(spec: str) -> Path:
    """The local folder a ``--batch`` path names (its summary.json's, when it names that)."""
    path = Path(spec).expanduser()
    return path.parent if path.suffix == ".json" else path


def parse_batch_uri(uri: str) -> tuple[str, str]:
    """``s3://b/batch/results/r/summary.json`` and ``s3://b/batch/results/r`` both read as
    ``("b", "batch/results/r/")``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise BatchResultsNotFound(f"not an s3://bucket/prefix URI: {uri!r}")
    if key.endswith(".json"):
        key = key.rpartition("/")[0]
    key = key.strip("/")
    return bucket, f"{key}/" if key else ""


def read_batch(folder: BatchFolder) -> BatchResults:
    """summary.json, then every result file manifest.json lists: each photo's outcome."""
    summary = check_summary(_json(folder, SUMMARY_NAME, _missing_summary))
    names = result_file_names(_json(folder, MANIFEST_NAME))
    photos = [p for name in names["SUCCEEDED"] for p in photos_of_succeeded(_json(folder, name), name)]
    for status in ("FAILED", "PENDING"):
        photos += [p for name in names[status] for p in photos_of_failed(_json(folder, name), name, status)]
    files = sum(len(listed) for listed in names.values())
    return BatchResults(folder.description, summary, sorted(photos, key=lambda p: p.key), files)


def _json(folder: BatchFolder, name: str, explain=None) -> Any:
    try:
        text = folder.read_text(name)
    except BatchResultsNotFound as error:
        raise (explain(folder, error) if explain else error) from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise BatchResultsMalformed(
            f"{folder.description.rstrip('/')}/{name} is not JSON ({error})"
        ) from None


def _missing_summary(folder: BatchFolder, error: BatchResultsNotFound) -> BatchResultsNotFound:
    """Why there is no summary.json: the folder is not a batch's, or its summary was never written."""
    try:
        folder.read_text(MANIFEST_NAME)
    except (BatchResultsNotFound, BatchResultsUnreadable):
        return BatchResultsNotFound(
            f"{error}: not a BatchClassify results folder (s3://<ImageBucket>/batch/results/<map run id>/, "
            f"which holds {SUMMARY_NAME} and {MANIFEST_NAME}, or a copy of it)"
        )
    return BatchResultsNotFound(
        f"{error}, though {MANIFEST_NAME} does: SummarizeBatch has not written it (the batch is "
        "still running, or ended in SummaryFailed or TooManyPhotosFailed)"
    )
