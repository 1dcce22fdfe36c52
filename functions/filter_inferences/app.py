"""FilterInferences: let confident answers through, refuse the others by raising."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
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
        # every refusal (LowConfidenceShareAlarm, the dashboard), and once more by context: only
        # a "photo" refusal fails an execution, which UnexpectedExecutionFailuresAlarm subtracts
        metrics.add_metric(name="ThresholdConfidenceNotMet", unit=MetricUnit.Count, value=1)
        if classification.context is not None:
            count_refusal_in(classification.context)
        logger.info("confidence below threshold", extra={"confidence": classification.confidence})
        raise
    metrics.add_metric(name="ConfidentInferences", unit=MetricUnit.Count, value=1)
    return passed


def count_refusal_in(context: str) -> None:
    """ThresholdConfidenceNotMet with the dimensions service and context, in an EMF document of
    its own (a document's metrics share one dimension set)."""
    with single_metric(
        name="ThresholdConfidenceNotMet",
        unit=MetricUnit.Count,
        value=1,
        namespace=metrics.namespace,
        default_dimensions={**metrics.default_dimensions, "service": metrics.service, "context": context},
    ):
        pass  # written when the block ends


@logger.inject_lambda_context(correlation_id_path="execution.id")
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return filter_inferences(Classification.from_event(event))
