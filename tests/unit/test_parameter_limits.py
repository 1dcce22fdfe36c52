"""No allowed setting breaks a limit (issue 25, item 4): every parameter walked at its edges, just
inside accepted and just outside refused, by the local deploy's checks (the template's own
constraints and its Rules, as CloudFormation evaluates them before it creates anything); and the
Rule's bound recomputed from the ASL's Retry."""

from __future__ import annotations

import math

import pytest

from local_stack.aws.template import Template
from local_stack.errors import ParameterValidationError, TemplateRuleFailed
from tests.unit.asl_render import asl_with_placeholders

TEMPLATE = Template.load()
PARAMETERS = TEMPLATE.body["Parameters"]
# Step Functions: an Express execution runs at most 5 minutes
# (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html)
EXPRESS_SECONDS = 300
OTHER_STATES_SECONDS = 30  # what the Rule leaves a photo's other states (cold starts included)

# parameters with no numeric range: (accepted, refused) at their edges
EDGES = {
    "EndpointName": (["a", "a" * 63, "a-b"], ["", "a" * 64, "-a", "a-", "A"]),
    "LowConfidenceAction": (["Fail", "Review"], ["review", ""]),
    "UploadPrefix": (["incoming/", "a/b/"], ["incoming", "/incoming/", "a//b/"]),
    "LogLevel": (["DEBUG", "INFO", "WARNING", "ERROR"], ["TRACE"]),
    "LogRetentionInDays": (["1", "3653"], ["2", "3654"]),
    "AlarmEmail": (["", "ops@example.com"], []),  # free text: SNS checks the address
    "EnableOpenTelemetry": (["true", "false"], ["yes"]),
    "OpenTelemetryLayerArn": (
        ["arn:aws:lambda:eu-west-1:901920570463:layer:AWSOpenTelemetryDistroPython:1"],
        ["arn:aws:lambda:eu-west-1:9019205704:layer:x:1", "arn:aws:lambda:eu-west-1:901920570463:layer:x"],
    ),
    "CaptureMode": (["Endpoint", "Function"], ["function", "Lambda", ""]),
    "WorkflowType": (["Standard", "Express"], ["express", "EXPRESS", ""]),
    "CaptureDestination": (
        ["", "s3://abc", "s3://my-bucket/data-capture", "s3://my.bucket/a/b"],
        ["s3://ab", "s3://my-bucket/", "s3://My-Bucket", "https://my-bucket/x", "s3://my-bucket//x"],
    ),
    "CaptureKmsKeyArn": (
        ["", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
        [
            "alias/capture",
            "arn:aws:kms:eu-west-1:12345678901:key/x",
            "arn:aws:kms:eu-west-1:123456789012:alias/x",
        ],
    ),
}


def _step(spec: dict) -> float:
    bounds = [spec.get("MinValue"), spec.get("MaxValue"), spec.get("Default")]
    return 0.01 if any(isinstance(b, float) for b in bounds) or spec.get("MaxValue") == 1 else 1


def _text(number: float) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)


def _accepts(name: str, value: str) -> bool:
    try:
        TEMPLATE.check_parameters(
            {"EndpointName": "e", name: value} if name != "EndpointName" else {name: value}
        )
    except ParameterValidationError:
        return False
    return True


def _endpoint_timeout_limit() -> int:
    """The largest EndpointTimeoutSeconds whose retry budget fits an Express child, from the ASL."""
    retry = next(
        r
        for r in asl_with_placeholders()["States"]["ClassifyImage"]["Retry"]
        if "EndpointUnavailable" in r["ErrorEquals"]
    )
    attempts = 1 + retry["MaxAttempts"]
    waits = sum(
        min(retry["IntervalSeconds"] * retry["BackoffRate"] ** n, retry.get("MaxDelaySeconds", math.inf))
        for n in range(retry["MaxAttempts"])
    )
    connect = 5  # functions/classify_image/endpoint.py CONNECT_TIMEOUT_SECONDS
    return math.floor((EXPRESS_SECONDS - OTHER_STATES_SECONDS - waits) / attempts - connect)


def _effective_range(name: str, spec: dict) -> tuple[float, float | None]:
    low, high = spec.get("MinValue"), spec.get("MaxValue")
    if name == "EndpointTimeoutSeconds":
        high = _endpoint_timeout_limit()  # the Rule's, tighter than the parameter's own 60
    return low, high


RANGED = sorted(name for name, spec in PARAMETERS.items() if "MinValue" in spec or "MaxValue" in spec)


def test_every_parameter_is_walked():
    assert set(RANGED) | set(EDGES) == set(PARAMETERS)


@pytest.mark.parametrize("name", RANGED)
def test_a_ranged_parameter_is_accepted_at_its_edges_and_refused_just_beyond(name):
    spec = PARAMETERS[name]
    low, high = _effective_range(name, spec)
    step = _step(spec)

    assert _accepts(name, _text(low)) and not _accepts(name, _text(round(low - step, 2)))
    if high is not None:
        assert _accepts(name, _text(high)) and not _accepts(name, _text(round(high + step, 2)))


@pytest.mark.parametrize("name", sorted(EDGES))
def test_a_listed_or_patterned_parameter_is_accepted_inside_and_refused_outside(name):
    accepted, refused = EDGES[name]

    assert [value for value in accepted if not _accepts(name, value)] == []
    assert [value for value in refused if _accepts(name, value)] == []


def test_the_express_rule_bound_is_the_one_the_asls_retries_give():
    rule = TEMPLATE.body["Rules"]["ExpressChildOutlastsTheEndpointsRetries"]
    (assertion,) = rule["Assertions"]
    allowed = [int(value) for value in assertion["Assert"]["Fn::Contains"][0]]

    assert allowed == list(range(1, _endpoint_timeout_limit() + 1)) == list(range(1, 47))


def test_a_rule_refuses_by_name_with_its_description():
    with pytest.raises(TemplateRuleFailed, match="EndpointTimeoutSeconds must be whole seconds") as refused:
        TEMPLATE.check_parameters({"EndpointName": "e", "EndpointTimeoutSeconds": "60"})  # allowed before

    assert refused.value.parameter == "ExpressChildOutlastsTheEndpointsRetries"


@pytest.mark.parametrize(
    ("name", "limit", "why"),
    [
        ("BatchMaxConcurrency", 10_000, "Distributed Map's MaxConcurrency at most"),
        ("BatchSize", 20, "a child's photos with every retry inside an Express child's 5 minutes"),
        ("MaxImageSide", 384, "the largest JPEG at this side, base64, inside a 256 KiB state payload"),
        ("ReviewTimeoutSeconds", 604_800, "a review's message kept 14 days; the execution 8 days"),
    ],
)
def test_the_documented_limits_are_the_parameters_own(name, limit, why):
    assert PARAMETERS[name]["MaxValue"] == limit, why
