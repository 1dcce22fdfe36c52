"""SerializeImageData: read the image named by the event from S3 and return it base64-encoded."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from event import ImageLocation
from image_data import encode_image, sniff_content_type
from image_store import read_image

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@tracer.capture_method
def serialize_image(location: ImageLocation) -> dict:
    name = f"s3://{location.s3_bucket}/{location.s3_key}"
    data = read_image(location.s3_bucket, location.s3_key)
    content_type = sniff_content_type(data, name=name)
    metrics.add_metric(name="ImageBytes", unit=MetricUnit.Bytes, value=len(data))
    logger.info("image serialized", extra={"image": name, "bytes": len(data), "content_type": content_type})
    serialized = {
        "s3_bucket": location.s3_bucket,
        "s3_key": location.s3_key,
        "image_data": encode_image(data),
        "content_type": content_type,
    }
    if location.execution:
        serialized["execution"] = location.execution
    return serialized


@logger.inject_lambda_context(correlation_id_path="execution.id")
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return serialize_image(ImageLocation.from_event(event))
