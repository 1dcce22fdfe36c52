"""ClassifyImage: send the image to the SageMaker endpoint and attach its answer."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from capture import CapturedInference, CaptureSettings, parse_capture_settings, put_capture, sampled_capture
from endpoint import invoke_endpoint, parse_endpoint_name
from event import SerializedImage
from exceptions import EndpointError, EndpointThrottled, EndpointUnavailable
from inference import label_of, parse_inferences

ENDPOINT_NAME = parse_endpoint_name(os.environ.get("ENDPOINT_NAME"))
# CaptureMode Function: this function writes the data capture (None: the endpoint does)
CAPTURE = parse_capture_settings(
    os.environ.get("CAPTURE_MODE"),
    os.environ.get("CAPTURE_DESTINATION"),
    os.environ.get("CAPTURE_SAMPLING_PERCENTAGE"),
    os.environ.get("CAPTURE_KMS_KEY_ARN"),
)

logger = Logger()
metrics = Metrics()


def classify_image(
    image: SerializedImage, endpoint_name: str = ENDPOINT_NAME, capture: CaptureSettings | None = CAPTURE
) -> dict:
    started = time.perf_counter()
    try:
        answer = invoke_endpoint(endpoint_name, image.image, image.content_type)
        inferences = parse_inferences(answer.body, endpoint_name=endpoint_name)
    except (EndpointError, EndpointThrottled, EndpointUnavailable) as error:
        metrics.add_metric(name="EndpointErrors", unit=MetricUnit.Count, value=1)
        logger.warning("endpoint call failed", extra={"error": type(error).__name__, "detail": str(error)})
        raise
    metrics.add_metric(
        name="EndpointLatency", unit=MetricUnit.Milliseconds, value=(time.perf_counter() - started) * 1000
    )
    if capture is not None:
        keep_capture(
            CapturedInference(
                endpoint_name,
                answer.variant,
                image.image,
                image.content_type,
                answer.body,
                answer.content_type,
                datetime.now(UTC),
            ),
            capture,
        )
    label, confidence = label_of(inferences)
    # One metric per class (two fixed names) rather than a label dimension, which Powertools
    # would also put on the latency and error metrics of this invocation.
    metrics.add_metric(name=f"ImagesClassified{label.title()}", unit=MetricUnit.Count, value=1)
    logger.info("image classified", extra={"label": label, "confidence": confidence})
    # The image stays in S3 and in the data capture: what follows this step (and the execution's
    # output) carries the answer, not the base64 image in every history event.
    answered = {key: value for key, value in image.event.items() if key != "image_data"}
    return {**answered, "inferences": inferences, "label": label, "confidence": confidence}


def keep_capture(inference: CapturedInference, capture: CaptureSettings) -> None:
    """Write the capture file before the answer leaves (an environment may be ended any time
    after); one S3 cannot take goes to the log whole, and the photo is answered all the same."""
    captured = sampled_capture(inference, capture)
    if captured is None:
        return
    key, body = captured
    try:
        put_capture(capture, key, body)
    except (BotoCoreError, ClientError) as error:
        metrics.add_metric(name="CaptureWriteErrors", unit=MetricUnit.Count, value=1)
        logger.error(
            "capture not written",
            extra={
                "error": str(error),
                "bucket": capture.bucket,
                "key": key,
                "capture_record": body.decode(),
            },
        )


@logger.inject_lambda_context(correlation_id_path="execution.id")
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return classify_image(SerializedImage.from_event(event))
