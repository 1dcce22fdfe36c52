"""``python -m local_stack invoke``: sam local invoke's flags and output, without Docker."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from local_stack.commands.invoke import (
    add_invoke_arguments,
    function_spec,
    invoke_command,
    invoke_once,
    parse_overrides,
    print_as_sam_does,
)
from local_stack.errors import UsageError
from tests.conftest import EVENTS_DIR, load_event


def run(capsys, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    add_invoke_arguments(parser)
    code = invoke_command(parser.parse_args(list(argv)))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_result_is_on_stdout_and_the_report_on_stderr(capsys):
    code, out, err = run(capsys, "FilterInferencesFunction", "-e", str(EVENTS_DIR / "filter_inferences.json"))

    assert code == 0
    assert json.loads(out) == load_event("filter_inferences.json")  # the filter passes it on
    lines = err.splitlines()
    assert lines[0] == "START Version: $LATEST" and "END" in lines
    report = lines[-1].split("\t")
    assert report[0] == "REPORT" and report[4] == "Memory Size: 256 MB"
    assert report[2].startswith("Duration: ") and report[5].startswith("Max Memory Used: ")
    assert any('"ColdStart"' in line for line in lines)  # the function's own EMF line, as its log


def test_a_function_error_is_the_runtimes_answer_and_exit_code_1(capsys):
    event = str(EVENTS_DIR / "filter_inferences_low_confidence.json")
    code, out, _ = run(capsys, "FilterInferencesFunction", "-e", event)

    assert code == 1
    assert json.loads(out)["errorType"] == "ThresholdConfidenceNotMet"


@pytest.mark.parametrize(
    "form", ["ConfidenceThreshold=0.5", "ParameterKey=ConfidenceThreshold,ParameterValue=0.5"]
)
def test_parameter_overrides_reach_the_functions_environment(capsys, form):
    event = str(EVENTS_DIR / "filter_inferences_low_confidence.json")
    code, out, _ = run(capsys, "FilterInferencesFunction", "-e", event, "--parameter-overrides", form)

    assert code == 0 and json.loads(out)["label"] == "motorcycle"


def test_env_vars_override_as_sam_reads_them(capsys, tmp_path):
    env_vars = tmp_path / "env.json"
    env_vars.write_text(json.dumps({"FilterInferencesFunction": {"CONFIDENCE_THRESHOLD": 0.5}}))
    event = str(EVENTS_DIR / "filter_inferences_low_confidence.json")

    code, _, _ = run(capsys, "FilterInferencesFunction", "-e", event, "--env-vars", str(env_vars))

    assert code == 0


def test_the_template_decides_the_environment(template):
    spec = function_spec(template, "ClassifyImageFunction", {"EndpointName": "mine"}, None)
    assert spec.environment["ENDPOINT_NAME"] == "mine"
    assert spec.environment["POWERTOOLS_SERVICE_NAME"] == "vehicle-classifier"
    assert spec.timeout_seconds == template.function_timeout("ClassifyImageFunction")


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        (lambda t: function_spec(t, "NoSuchFunction", {}, None), "not a function of template.yaml"),
        (
            lambda t: function_spec(t, "FilterInferencesFunction", {"ConfidenceThreshold": "2"}, None),
            "ConfidenceThreshold",
        ),
        (lambda t: parse_overrides("Threshold"), "expected Key=Value"),
    ],
    ids=["unknown function", "parameter out of range", "malformed override"],
)
def test_bad_input_is_a_usage_error(template, problem, message):
    with pytest.raises(UsageError, match=message):
        problem(template)


def test_a_cold_start_that_fails_is_the_init_error(template):
    spec = function_spec(template, "FilterInferencesFunction", {}, None)
    broken = spec.__class__(
        spec.code_dir, {**spec.environment, "CONFIDENCE_THRESHOLD": "high"}, spec.timeout_seconds
    )
    done = invoke_once("FilterInferencesFunction", broken, {})
    assert done.errored and json.loads(done.payload)["errorType"] == "InvalidConfiguration"
    err = io.StringIO()
    print_as_sam_does(done, 256, out=io.StringIO(), err=err)
    assert err.getvalue().startswith("START")
