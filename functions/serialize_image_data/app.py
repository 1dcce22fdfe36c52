"""SerializeImageData: read the photo named by the event from S3, normalise it to the small RGB
image the model needs, and return it base64-encoded."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from config import parse_max_image_side, parse_max_upload_bytes
from event import ImageLocation
from image_data import check_size, encode_image
from image_store import read_image
from normalise import normalise_image

MAX_IMAGE_SIDE = parse_max_image_side(os.environ.get("MAX_IMAGE_SIDE"))
MAX_UPLOAD_BYTES = parse_max_upload_bytes(os.environ.get("MAX_UPLOAD_BYTES"))

logger = Logger()
metrics = Metrics()


def serialize_image(location: ImageLocation) -> dict:
    name = f"s3://{location.s3_bucket}/{location.s3_key}"
    data = read_image(location.s3_bucket, location.s3_key, max_bytes=MAX_UPLOAD_BYTES)
    metrics.add_metric(name="ImageBytes", unit=MetricUnit.Bytes, value=len(data))
    image = normalise_image(data, name=name, max_side=MAX_IMAGE_SIDE)
    check_size(len(image.data), name=name)
    logger.info(
        "image serialized",
        extra={
            "image": name,
            "bytes": len(data),
            "format": image.source_format,
            "size": "x".join(map(str, image.source_size)),
            "sent_bytes": len(image.data),
            "sent_size": "x".join(map(str, image.size)),
            "content_type": image.content_type,
            "passed_through": image.passed_through,
        },
    )
    serialized = {
        "s3_bucket": location.s3_bucket,
        "s3_key": location.s3_key,
        "image_data": encode_image(image.data),
        "content_type": image.content_type,
    }
    if location.execution:
        serialized["execution"] = location.execution
    return serialized


@logger.inject_lambda_context(correlation_id_path="execution.id")
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return serialize_image(ImageLocation.from_event(event))
