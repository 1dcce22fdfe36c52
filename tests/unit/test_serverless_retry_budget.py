"""Cold starts inside the retry budget (issue 26, item 3). A serverless endpoint scaled to zero
starts a container on the first request after idle; AWS bounds that start: "The model must
download and the server must respond successfully to /ping within 3 minutes"
(https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-invoke.html). ClassifyImage
retries EndpointUnavailable (its read timeout) by the ASL's Retry, so the attempts and waits at
the EndpointTimeoutSeconds docs/cloud.md gives for a serverless endpoint must outlast that bound,
and still fit the Rule that keeps a batch's Express child within 5 minutes."""

from __future__ import annotations

import math
import re
from pathlib import Path

from local_stack.aws.template import Template
from tests.unit.asl_render import asl_with_placeholders

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVERLESS_COLD_START_BOUND_SECONDS = 180
CONNECT_TIMEOUT_SECONDS = 5  # functions/classify_image/endpoint.py


def _retry_budget(timeout_seconds: int) -> float:
    """Seconds from the first call to the end of the last: every attempt waits its read timeout
    (plus the connect), and the retrier's backoff waits between them."""
    retry = next(
        r
        for r in asl_with_placeholders()["States"]["ClassifyImage"]["Retry"]
        if "EndpointUnavailable" in r["ErrorEquals"]
    )
    waits = sum(
        min(retry["IntervalSeconds"] * retry["BackoffRate"] ** n, retry.get("MaxDelaySeconds", math.inf))
        for n in range(retry["MaxAttempts"])
    )
    return (1 + retry["MaxAttempts"]) * (timeout_seconds + CONNECT_TIMEOUT_SECONDS) + waits


def _recommended_serverless_timeout() -> int:
    text = (REPO_ROOT / "docs" / "cloud.md").read_text()
    return int(re.search(r"CaptureMode=Function EndpointTimeoutSeconds=(\d+)", text).group(1))


def test_the_timeout_docs_give_for_a_serverless_endpoint_outlasts_its_cold_start():
    assert _retry_budget(_recommended_serverless_timeout()) >= SERVERLESS_COLD_START_BOUND_SECONDS


def test_the_default_timeout_would_not_which_is_why_the_docs_give_another():
    default = int(Template.load().body["Parameters"]["EndpointTimeoutSeconds"]["Default"])
    assert _retry_budget(default) < SERVERLESS_COLD_START_BOUND_SECONDS


def test_the_serverless_timeout_is_one_the_template_accepts():
    Template.load().check_parameters(
        {"EndpointName": "e", "EndpointTimeoutSeconds": str(_recommended_serverless_timeout())}
    )
