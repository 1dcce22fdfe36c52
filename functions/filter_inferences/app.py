"""FilterInferences: let confident answers through, refuse the others by raising."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from confidence_filter import filter_inference, parse_threshold
from event import Classification
from exceptions import ThresholdConfidenceNotMet

CONFIDENCE_THRESHOLD = parse_threshold(os.environ.get("CONFIDENCE_THRESHOLD"))

logger = Logger()
metrics = Metrics()


def filter_inferences(classification: Classification, threshold: float = CONFIDENCE_THRESHOLD) -> dict:
    metrics.add_metric(name="InferenceConfidence", unit=MetricUnit.NoUnit, value=classification.confidence)
    try:
        passed = filter_inference(classification, threshold)
    except ThresholdConfidenceNotMet:
        metrics.add_metric(name="ThresholdConfidenceNotMet", unit=MetricUnit.Count, value=1)
        logger.info("confidence below threshold", extra={"confidence": classification.confidence})
        raise
    metrics.add_metric(name="ConfidentInferences", unit=MetricUnit.Count, value=1)
    return passed


@logger.inject_lambda_context(correlation_id_path="execution.id")
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return filter_inferences(Classification.from_event(event))
