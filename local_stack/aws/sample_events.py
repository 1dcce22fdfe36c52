"""The objects the sample events name (``events/*.json``: ``s3_bucket`` and ``s3_key``), put
into the local S3 so that every event runs as is: with ``local_stack invoke``, ``aws lambda
invoke --payload fileb://events/<x>.json`` or ``sam local invoke --env-vars env.json``
against ``up``. Each object is the committed sample of the same file name."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

from local_stack.errors import SampleObjectMissing
from local_stack.settings import EVENTS_DIR, SAMPLES_DIR


def objects_named_by_events(
    events_dir: Path = EVENTS_DIR, samples_dir: Path = SAMPLES_DIR
) -> dict[str, Path]:
    """``{"s3://bucket/key": sample file}`` for every event that names both a bucket and a key."""
    objects = {}
    for event_file in sorted(events_dir.glob("*.json")):
        event = json.loads(event_file.read_text())
        if not isinstance(event, dict) or not {"s3_bucket", "s3_key"} <= event.keys():
            continue
        sample = samples_dir / PurePosixPath(event["s3_key"]).name
        if not sample.is_file():
            raise SampleObjectMissing(
                f"{event_file.name} names s3://{event['s3_bucket']}/{event['s3_key']}, "
                f"but {sample.name} is not in {samples_dir}"
            )
        objects[f"s3://{event['s3_bucket']}/{event['s3_key']}"] = sample
    return objects


def put_objects_named_by_events(s3: Any, create_bucket: Any, objects: dict[str, Path]) -> list[str]:
    """Create each bucket (``create_bucket(s3, name)``) and put each object; the URIs put."""
    for bucket in sorted({uri.removeprefix("s3://").split("/", 1)[0] for uri in objects}):
        create_bucket(s3, bucket)
    for uri, sample in objects.items():
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        s3.put_object(Bucket=bucket, Key=key, Body=sample.read_bytes())
    return list(objects)
