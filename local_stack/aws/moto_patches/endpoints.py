"""DescribeEndpoint answered in the shape SageMaker gives it (in the ``server`` group: the local
SageMaker is the stack's own moto server).

What moto 5.2.5 answers, measured: ``ProductionVariants[]`` carries ``CurrentInstanceCount`` and
``DesiredInstanceCount`` (or ``Current``/``DesiredServerlessConfig``) from the endpoint config, but
``CurrentWeight``/``DesiredWeight`` only where the config gave ``InitialVariantWeight``; and
``DataCaptureConfig`` is the endpoint config's request shape cut to the members the answer shares
(``EnableCapture``, ``DestinationS3Uri``), or ``{}`` where the config had none.

What SageMaker answers (DescribeEndpoint,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html): each
``ProductionVariantSummary`` with its weight (``InitialVariantWeight`` defaults to 1.0:
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariant.html), and a
``DataCaptureConfigSummary`` (``EnableCapture``, ``CaptureStatus`` Started or Stopped,
``CurrentSamplingPercentage``, ``DestinationS3Uri``:
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DataCaptureConfigSummary.html)
only for an endpoint whose config captures. A client that checks "InService with data capture
on" (``CaptureStatus``) or reads the sampling, as a pre-traffic check does, reads it here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from local_stack.aws.moto_patches.patch import Patch

DEFAULT_VARIANT_WEIGHT = 1.0


def described_endpoint(described: dict[str, Any], data_capture_config: dict[str, Any]) -> dict[str, Any]:
    """moto's DescribeEndpoint answer (``described``) as SageMaker gives it, from the endpoint
    config's ``DataCaptureConfig`` request (``data_capture_config``); a new dict."""
    answer = dict(described)
    answer["ProductionVariants"] = [
        {"CurrentWeight": DEFAULT_VARIANT_WEIGHT, "DesiredWeight": DEFAULT_VARIANT_WEIGHT, **variant}
        for variant in described.get("ProductionVariants") or []
    ]
    answer.pop("DataCaptureConfig", None)
    if data_capture_config:
        enabled = bool(data_capture_config.get("EnableCapture", True))
        summary = {
            "EnableCapture": enabled,
            "CaptureStatus": "Started" if enabled else "Stopped",
            "CurrentSamplingPercentage": int(data_capture_config.get("InitialSamplingPercentage", 0)),
            "DestinationS3Uri": data_capture_config.get("DestinationS3Uri", ""),
        }
        if data_capture_config.get("KmsKeyId"):
            summary["KmsKeyId"] = data_capture_config["KmsKeyId"]
        answer["DataCaptureConfig"] = summary
    return answer


def _describe_endpoint_as_sagemaker(describe_endpoint: Callable) -> Callable:
    def describe(self: Any, endpoint_name: str) -> dict[str, Any]:
        described = describe_endpoint(self, endpoint_name)  # raises moto's ValidationError if absent
        return described_endpoint(described, self.endpoints[endpoint_name].data_capture_config or {})

    return describe


PATCHES = (
    Patch(
        "moto.sagemaker.models:SageMakerModelBackend.describe_endpoint",
        ("self", "endpoint_name"),
        _describe_endpoint_as_sagemaker,
    ),
)
