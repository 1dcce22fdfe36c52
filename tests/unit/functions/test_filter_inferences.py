"""FilterInferences on the events/ files and at the threshold's edges."""

import json

import pytest

from tests.conftest import load_event


@pytest.fixture
def filter_fn(functions):
    return functions["FilterInferences"]


def test_threshold_comes_from_the_template_default(filter_fn):
    assert filter_fn.app.CONFIDENCE_THRESHOLD == 0.93


def test_confident_sample_event_passes_unchanged(filter_fn, lambda_context):
    event = load_event("filter_inferences.json")
    assert filter_fn.app.lambda_handler(event, lambda_context) == event


def test_low_confidence_sample_event_raises_with_confidence_and_threshold(filter_fn, lambda_context):
    with pytest.raises(
        filter_fn.exceptions.ThresholdConfidenceNotMet,
        match=r"confidence 0\.5863 is below the threshold 0\.9300 \(inferences \[0\.4137, 0\.5863\]\)",
    ):
        filter_fn.app.lambda_handler(load_event("filter_inferences_low_confidence.json"), lambda_context)


@pytest.mark.parametrize(
    ("inferences", "passes"),
    [
        ([0.93, 0.07], True),
        ([0.07, 0.93], True),
        ([0.9299, 0.0701], False),
        ([1, 0], True),
        ([0.5, 0.5], False),
    ],
)
def test_confidence_is_the_highest_probability_and_the_threshold_is_inclusive(filter_fn, inferences, passes):
    classification = filter_fn.event.Classification.from_event({"inferences": inferences})
    if passes:
        assert filter_fn.confidence_filter.filter_inference(classification, 0.93) == {
            "inferences": inferences
        }
    else:
        with pytest.raises(filter_fn.exceptions.ThresholdConfidenceNotMet):
            filter_fn.confidence_filter.filter_inference(classification, 0.93)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "missing required key 'inferences'"),
        ({"inferences": "0.9,0.1"}, "'inferences' must be \\[p_bicycle, p_motorcycle\\]"),
        ({"inferences": [0.9]}, "two probabilities in 0..1 summing to 1, got \\[0.9\\]"),
        ({"inferences": [0.9, None]}, "got \\[0.9, None\\]"),
        ({"inferences": [1.2, -0.2]}, "got \\[1.2, -0.2\\]"),
        ("not an object", "event must be a JSON object, got str"),
    ],
)
def test_bad_events_raise_invalid_event(filter_fn, lambda_context, event, message):
    with pytest.raises(filter_fn.exceptions.InvalidEvent, match=message):
        filter_fn.app.lambda_handler(event, lambda_context)


@pytest.mark.parametrize("raw", [None, "", "high", "1.5", "-0.1", "nan"])
def test_a_threshold_outside_0_to_1_is_a_configuration_error(filter_fn, raw):
    with pytest.raises(
        filter_fn.exceptions.InvalidConfiguration, match="CONFIDENCE_THRESHOLD must be a number"
    ):
        filter_fn.confidence_filter.parse_threshold(raw)


@pytest.mark.parametrize(("raw", "value"), [("0", 0.0), ("0.93", 0.93), ("1", 1.0)])
def test_thresholds_in_range_parse(filter_fn, raw, value):
    assert filter_fn.confidence_filter.parse_threshold(raw) == value


# -- UnexpectedExecutionFailuresAlarm counts only unexpected failures (issue 25) --------------


def _emf_sum(documents: list[dict], stat: dict) -> float:
    """What CloudWatch sums for one MetricStat from EMF documents: a datapoint belongs to the
    metric whose dimension set is exactly the one asked for, with the same values."""
    metric = stat["Metric"]
    wanted = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
    total = 0.0
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            names = {m["Name"] for m in directive["Metrics"]}
            if directive["Namespace"] != metric["Namespace"] or metric["MetricName"] not in names:
                continue
            for dimension_set in directive["Dimensions"]:
                if set(dimension_set) == set(wanted) and all(document[k] == v for k, v in wanted.items()):
                    values = document[metric["MetricName"]]
                    total += sum(values) if isinstance(values, list) else values
    return total


def _refuse(filter_fn, lambda_context, context: str | None) -> None:
    event = {"inferences": [0.6, 0.4], "s3_key": "images/a.png"}
    if context is not None:
        event["execution"] = {"id": "arn:aws:states:::execution:m:e", "context": context}
    with pytest.raises(filter_fn.exceptions.ThresholdConfidenceNotMet):
        filter_fn.app.lambda_handler(event, lambda_context)


def test_a_batchs_and_reviews_refusals_no_longer_hide_a_classify_image_failure(
    filter_fn, lambda_context, capsys, template
):
    # five minutes: one one-photo refusal (its execution fails), one execution failed by the
    # endpoint (ClassifyImage's EndpointUnavailable), and refusals that fail no execution
    _refuse(filter_fn, lambda_context, "photo")
    for context in ("batch", "batch", "batch", "review", "review"):
        _refuse(filter_fn, lambda_context, context)
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    executions_failed = 2  # AWS/States ExecutionsFailed of ClassifyImage: the refusal and the endpoint's

    alarm = template.body["Resources"]["UnexpectedExecutionFailuresAlarm"]["Properties"]
    queries = {query["Id"]: query for query in alarm["Metrics"]}
    assert queries["failed"]["MetricStat"]["Metric"]["MetricName"] == "ExecutionsFailed"
    assert queries["unexpected"]["Expression"] == "FILL(failed, 0) - FILL(refused, 0)"
    refused = _emf_sum(documents, queries["refused"]["MetricStat"])
    unexpected = executions_failed - refused

    assert (refused, unexpected) == (1, 1)  # the endpoint's failure stays counted
    assert unexpected > 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"  # at threshold 0
    # the refusal share still sees every refusal
    share = template.body["Resources"]["LowConfidenceShareAlarm"]["Properties"]["Metrics"]
    every_refusal = next(q for q in share if q["Id"] == "refused")["MetricStat"]
    assert _emf_sum(documents, every_refusal) == 6


def test_a_context_the_state_machines_never_write_is_an_invalid_event(filter_fn, lambda_context):
    event = {"inferences": [0.97, 0.03], "execution": {"id": "e", "context": "nightly"}}

    with pytest.raises(filter_fn.exceptions.InvalidEvent, match=r"'execution\.context' must be one of"):
        filter_fn.app.lambda_handler(event, lambda_context)
