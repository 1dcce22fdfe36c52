"""The reviewed data set's layout and formats, as ``python -m review decide`` writes it and
``training_job stage`` and ``monitoring report --reviewed`` read it: ``<prefix>images/<review id><ext>``,
``<prefix>reviewed.lst`` (a ``.lst``, paths relative to ``images/``) and ``<prefix>verdicts.jsonl``,
one JSON object per review."""

from __future__ import annotations

import json
from typing import Any

from scones_core.aws import parse_s3_uri
from scones_core.lst import LstEntry, parse_lst
from scones_core.stack_outputs import read_stack

LST_NAME = "reviewed.lst"
VERDICTS_NAME = "verdicts.jsonl"
IMAGES = "images"


def parse_verdicts(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def format_verdicts(records: list[dict]) -> str:
    return "".join(json.dumps(record, sort_keys=True) + "\n" for record in records)


def read_text(s3: Any, bucket: str, key: str) -> str | None:
    """The object's text, or None when it is not there yet (nobody has given a verdict)."""
    from botocore.exceptions import ClientError

    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise


def read_entries(s3: Any, bucket: str, prefix: str) -> list[LstEntry]:
    return parse_lst(read_text(s3, bucket, prefix + LST_NAME) or "")


def read_verdicts(s3: Any, bucket: str, prefix: str) -> list[dict]:
    return parse_verdicts(read_text(s3, bucket, prefix + VERDICTS_NAME) or "")


def reviewed_location(cloudformation: Any, stack_name: str) -> str:
    """The set's s3:// URI, from the stack's ``ReviewedDataLocation`` Output (StackLookupError
    when the stack or the Output is missing: each caller says what to do instead)."""
    return read_stack(cloudformation, stack_name).reviewed_data_location


def reviewed_prefix(uri: str) -> tuple[str, str]:
    """`s3://bucket/reviewed` -> ('bucket', 'reviewed/'): the set is a folder."""
    bucket, key = parse_s3_uri(uri)
    folder = key.strip("/")
    return bucket, (folder + "/" if folder else "")
