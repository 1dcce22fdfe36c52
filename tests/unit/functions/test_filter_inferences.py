"""FilterInferences on the events/ files and at the threshold's edges."""

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
