"""ClassifyImage: send the image to the SageMaker endpoint and attach its answer."""

from __future__ import annotations

import os
import time

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from endpoint import invoke_endpoint, parse_endpoint_name
from event import SerializedImage
from exceptions import EndpointError, EndpointThrottled, EndpointUnavailable
from inference import label_of, parse_inferences

ENDPOINT_NAME = parse_endpoint_name(os.environ.get("ENDPOINT_NAME"))

logger = Logger()
metrics = Metrics()


def classify_image(image: SerializedImage, endpoint_name: str = ENDPOINT_NAME) -> dict:
    started = time.perf_counter()
    try:
        inferences = parse_inferences(
            invoke_endpoint(endpoint_name, image.image, image.content_type), endpoint_name=endpoint_name
        )
    except (EndpointError, EndpointThrottled, EndpointUnavailable) as error:
        metrics.add_metric(name="EndpointErrors", unit=MetricUnit.Count, value=1)
        logger.warning("endpoint call failed", extra={"error": type(error).__name__, "detail": str(error)})
        raise
    metrics.add_metric(
        name="EndpointLatency", unit=MetricUnit.Milliseconds, value=(time.perf_counter() - started) * 1000
    )
    label, confidence = label_of(inferences)
    # One metric per class (two fixed names) rather than a label dimension, which Powertools
    # would also put on the latency and error metrics of this invocation.
    metrics.add_metric(name=f"ImagesClassified{label.title()}", unit=MetricUnit.Count, value=1)
    logger.info("image classified", extra={"label": label, "confidence": confidence})
    # The image stays in S3 and in the endpoint's data capture: what follows this step (and the
    # execution's output) carries the answer, not the base64 image in every history event.
    answered = {key: value for key, value in image.event.items() if key != "image_data"}
    return {**answered, "inferences": inferences, "label": label, "confidence": confidence}


@logger.inject_lambda_context(correlation_id_path="execution.id")
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return classify_image(SerializedImage.from_event(event))
