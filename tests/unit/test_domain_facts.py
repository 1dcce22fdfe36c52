"""Each domain fact has one source, scones_core/project.py, and every copy of it agrees.

The Lambdas deploy as separate packages, so they keep copies of the classes and of the
probability check; template.yaml keeps the default threshold. These tests prove the copies equal.
"""

import json
import math

import pytest

import monitoring
from monitoring import capture_records
from monitoring.exceptions import InvalidRecord
from scones_core.project import CLASS_NAMES, DEFAULT_CONFIDENCE_THRESHOLD
from training_job import local_model
from training_job.local_model import metrics


def test_the_classes_are_imported_from_the_source_outside_the_lambdas():
    # `is`, not `==`: an import, not a second tuple that happens to be equal today
    assert capture_records.CLASS_NAMES is CLASS_NAMES
    assert local_model.CLASS_NAMES is CLASS_NAMES


def test_the_lambdas_copies_of_the_classes_equal_the_source(functions):
    assert functions["ClassifyImage"].inference.CLASS_NAMES == CLASS_NAMES
    assert len(CLASS_NAMES) == functions["FilterInferences"].event.NUMBER_OF_CLASSES


def test_the_templates_default_threshold_is_the_source(template):
    assert template.body["Parameters"]["ConfidenceThreshold"]["Default"] == DEFAULT_CONFIDENCE_THRESHOLD


def test_reports_and_evaluations_default_to_the_source_threshold():
    assert monitoring.DEFAULT_THRESHOLD == metrics.DEFAULT_THRESHOLD == DEFAULT_CONFIDENCE_THRESHOLD


# ---------------------------------------------------------------- "two probabilities in 0..1"

# (case, value, accepted). Monitoring first unwraps the capture formats SageMaker may write
# ({"predictions": [...]}, a batch of one); that is decoding, not the check, so it is not here.
PROBABILITY_CASES = [
    ("valid pair", [0.9712, 0.0288], True),
    ("certain motorcycle", [0.0, 1.0], True),
    ("ints", [1, 0], True),
    ("sum off by float rounding", [0.9, 0.1009], True),
    ("sum off by more than rounding", [0.9, 0.102], False),
    ("sum far below 1", [0.4, 0.4], False),
    ("sum far above 1", [0.7, 0.7], False),
    ("one value", [0.9], False),
    ("three values", [0.9, 0.05, 0.05], False),
    ("empty list", [], False),
    ("negative", [1.2, -0.2], False),
    ("just below 0", [1.0, -1e-9], False),
    ("above 1", [1.5, -0.5], False),
    ("just above 1", [1.0000001, 0.0], False),
    ("NaN", [math.nan, 0.5], False),
    ("infinity", [math.inf, 0.0], False),
    ("minus infinity", [-math.inf, 1.0], False),
    ("int too large for a float", [10**400, 0], False),
    ("strings", ["0.9", "0.1"], False),
    ("null", [0.9, None], False),
    ("bools", [True, False], False),
    ("not a list: a string", "0.9,0.1", False),
    ("not a list: a number", 0.9, False),
    ("not a list: an object", {"bicycle": 0.9, "motorcycle": 0.1}, False),
]


def _json(value) -> str:
    return json.dumps(value)  # NaN and the infinities as Python's json writes and reads them


@pytest.fixture(params=["ClassifyImage", "FilterInferences", "monitoring"])
def probability_check(request, functions):
    """(parse, refusal): one copy of the check, as its caller reaches it, and what it raises."""
    if request.param == "ClassifyImage":
        classify = functions["ClassifyImage"]
        return (
            lambda value: classify.inference.parse_inferences(_json(value).encode(), endpoint_name="e"),
            classify.exceptions.EndpointError,
        )
    if request.param == "FilterInferences":
        filter_fn = functions["FilterInferences"]
        return (
            lambda value: filter_fn.event.Classification.from_event({"inferences": value}).inferences,
            filter_fn.exceptions.InvalidEvent,
        )
    payload = capture_records.CapturedPayload
    return (
        lambda value: capture_records.parse_probabilities(payload("application/json", "JSON", _json(value))),
        InvalidRecord,
    )


@pytest.mark.parametrize(
    ("value", "accepted"),
    [pytest.param(value, accepted, id=case) for case, value, accepted in PROBABILITY_CASES],
)
def test_every_copy_accepts_and_refuses_the_same_probabilities(probability_check, value, accepted):
    parse, refusal = probability_check
    if accepted:
        assert list(parse(value)) == [float(p) for p in value]
    else:
        with pytest.raises(refusal):
            parse(value)


def test_every_copy_allows_the_same_rounding(functions):
    assert (
        functions["ClassifyImage"].inference.SUM_TOLERANCE
        == functions["FilterInferences"].event.SUM_TOLERANCE
        == capture_records.SUM_TOLERANCE
    )


def test_the_stack_name_is_samconfigs_everywhere():
    """The README's AWS commands name the stack; they run verbatim against AWS and `up` only if
    samconfig.toml, the Makefile, training_job and the local stack agree on it."""
    import re
    import tomllib

    from local_stack.settings import REPO_ROOT, STACK_NAME
    from scones_core.project import DEFAULT_STACK_NAME

    samconfig = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text())
    assert samconfig["default"]["global"]["parameters"]["stack_name"] == DEFAULT_STACK_NAME == STACK_NAME
    makefile = re.search(r"^STACK_NAME \?= (\S+)$", (REPO_ROOT / "Makefile").read_text(), re.M)
    assert makefile and makefile.group(1) == DEFAULT_STACK_NAME
    assert f"--stack-name {DEFAULT_STACK_NAME}" in (REPO_ROOT / "README.md").read_text()
