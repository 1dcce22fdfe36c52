"""Where capture files come from: a local folder (recursively) or ``s3://bucket/prefix``.

SageMaker writes ``<DestinationS3Uri>/<EndpointName>/<VariantName>/yyyy/mm/dd/hh/<file>.jsonl``;
any folder or prefix above or inside that layout works, since every ``*.jsonl`` below it is read.
S3 goes through boto3, so ``AWS_ENDPOINT_URL_S3`` points it at the local stack's S3.
Files are listed first (names and sizes only, for the progress bar) and read line by line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from monitoring.exceptions import CaptureSourceError

CAPTURE_SUFFIX = ".jsonl"
_S3_CHUNK = 256 * 1024


@dataclass(frozen=True, slots=True)
class CaptureFile:
    name: str  # a path or an s3:// URI, as shown to people
    size: int
    location: str  # the local path or the S3 key


class CaptureSource(Protocol):
    description: str

    def list_files(self) -> list[CaptureFile]: ...

    def iter_lines(self, capture_file: CaptureFile) -> Iterator[bytes]: ...


class LocalCaptureSource:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = str(root)

    def list_files(self) -> list[CaptureFile]:
        if self.root.is_file():
            paths = [self.root]
        elif self.root.is_dir():
            paths = sorted(p for p in self.root.rglob(f"*{CAPTURE_SUFFIX}") if p.is_file())
        else:
            raise CaptureSourceError(f"capture folder not found: {self.root}")
        return [CaptureFile(name=str(p), size=_size(p), location=str(p)) for p in paths]

    def iter_lines(self, capture_file: CaptureFile) -> Iterator[bytes]:
        with open(capture_file.location, "rb") as handle:
            yield from handle


class S3CaptureSource:
    def __init__(self, bucket: str, prefix: str, client: object | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.description = f"s3://{bucket}/{prefix}"
        self._client = client

    @property
    def client(self):  # created on first use, so building a source never touches AWS
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def list_files(self) -> list[CaptureFile]:
        from botocore.exceptions import BotoCoreError, ClientError

        files: list[CaptureFile] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    if item["Key"].endswith(CAPTURE_SUFFIX):
                        files.append(
                            CaptureFile(
                                name=f"s3://{self.bucket}/{item['Key']}",
                                size=int(item.get("Size", 0)),
                                location=item["Key"],
                            )
                        )
        except (BotoCoreError, ClientError) as exc:
            raise CaptureSourceError(f"cannot list {self.description}: {exc}") from None
        return sorted(files, key=lambda f: f.location)

    def iter_lines(self, capture_file: CaptureFile) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=capture_file.location)["Body"]
        try:
            yield from body.iter_lines(chunk_size=_S3_CHUNK)
        finally:
            body.close()


def open_source(spec: str, s3_client: object | None = None) -> CaptureSource:
    """``s3://bucket/prefix`` -> :class:`S3CaptureSource`; anything else is a local path."""
    if spec.startswith("s3://"):
        bucket, prefix = parse_s3_uri(spec)
        return S3CaptureSource(bucket, prefix, client=s3_client)
    return LocalCaptureSource(Path(spec).expanduser())


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` -> ``("bucket", "a/b/")``: a prefix is read as a folder."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise CaptureSourceError(f"not an s3://bucket/prefix URI: {uri!r}")
    if prefix and not prefix.endswith("/") and not prefix.endswith(CAPTURE_SUFFIX):
        prefix += "/"
    return bucket, prefix


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
