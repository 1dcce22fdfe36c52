"""`python -m training_job cost`: the ASL's path walked, a configuration's lines, the break-even,
and the docs' tables equal to what the command renders (issue 26, item 5)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from training_job import costs
from training_job.cost_measurements import event_bytes, report_durations_ms, summarize_durations
from training_job.state_machine_path import (
    ANSWERED,
    REFUSED,
    UnsupportedStateError,
    load_definition,
    walk,
)

REPO_ROOT = Path(__file__).resolve().parents[3]


def _inputs(**changes) -> costs.CostInputs:
    prices = json.loads(costs.PRICES_FILE.read_text())["prices"]
    fields = {
        "prices": prices,
        "functions_ms": {"SerializeImageData": 100.0, "ClassifyImage": 50.0, "FilterInferences": 10.0},
        "memory_mb": {"SerializeImageData": 1024, "ClassifyImage": 256, "FilterInferences": 256},
        "function_log_bytes": 4000.0,
        "state_machine_log_bytes": 6000.0,
        "express_state_machine_log_bytes": 15000.0,
        "transitions_answered": 5,
        "transitions_refused": 8,
        "kms_keys": 1,
        "dashboards": 1,
        "alarm_metrics": 10,
    }
    return costs.CostInputs(**{**fields, **changes})


def _line(lines, item):
    return next(line for line in lines if line.item == item)


def test_the_asl_path_of_an_answered_and_a_refused_photo():
    definition = load_definition(costs.ASL_FILE, {"LowConfidenceAction": "Fail"})
    answered, refused = walk(definition, ANSWERED), walk(definition, REFUSED)
    assert answered[-1] == "FilterInferences" and "ClassifyImage" in answered
    assert refused[: len(answered)] == answered
    assert refused[-1] == "ThresholdConfidenceNotMet"
    assert costs.path_transitions() == (len(answered), len(refused))


def test_a_pass_state_added_to_the_path_is_one_transition_more(tmp_path):
    definition = load_definition(costs.ASL_FILE, {"LowConfidenceAction": "Fail"})
    before = len(walk(definition, ANSWERED))
    states = definition["States"]
    start = definition["StartAt"]
    states["Stamp"] = {"Type": "Pass", "Result": {"at": "now"}, "ResultPath": "$.stamp", "Next": start}
    definition["StartAt"] = "Stamp"
    assert len(walk(definition, ANSWERED)) == before + 1


def test_a_review_path_follows_the_verdict_it_is_given():
    from training_job.state_machine_path import Outcome

    definition = load_definition(costs.ASL_FILE, {"LowConfidenceAction": "Review"})
    reviewed = Outcome(
        error="ThresholdConfidenceNotMet",
        raised_in="FilterInferences",
        results={"RequestReview": {"label": "bicycle"}},
    )
    path = walk(definition, reviewed)
    assert path[-3:] == ["RequestReview", "CheckVerdict", "ReviewerDecided"]


def test_a_state_the_walk_cannot_model_is_named():
    definition = {"StartAt": "Fan", "States": {"Fan": {"Type": "Map", "End": True}}}
    with pytest.raises(UnsupportedStateError, match="Fan"):
        walk(definition, ANSWERED)


def test_template_facts_read_memory_and_the_fixed_resources():
    facts = costs.template_facts()
    assert facts["memory_mb"]["SerializeImageData"] == 1536
    assert facts["memory_mb"]["FilterInferences"] == 256  # the Globals' MemorySize
    assert facts["kms_keys"] >= 1 and facts["dashboards"] == 1
    assert facts["alarm_metrics"] >= 15


def test_instance_month_line_by_line():
    config = costs.CostConfig(photos_per_day=1000, refused_share=0.5, photo_bytes=100_000)
    lines = costs.month_lines(config, _inputs())
    photos = 1000 * 730 / 24
    assert _line(lines, "SageMaker endpoint (instances)").usd == pytest.approx(0.115 * 730)
    assert _line(lines, "Step Functions Standard").usd == pytest.approx(photos * 6.5 * 0.000025)
    gb_ms = 100 * 1 + 50 * 0.25 + 10 * 0.25
    assert _line(lines, "Lambda duration (arm64)").usd == pytest.approx(photos * gb_ms / 1000 * 0.0000133334)
    assert _line(lines, "Lambda requests").usd == pytest.approx(photos * 3 * 0.0000002)
    assert _line(lines, "S3 requests").usd == pytest.approx(photos * (0.000005 + 0.0000004))
    assert _line(lines, "CloudWatch Logs ingestion").usd == pytest.approx(photos * 10_000 / 1024**3 * 0.5)
    assert _line(lines, "KMS keys").usd == 1.0
    assert _line(lines, "CloudWatch alarms").usd == pytest.approx(1.0)


def test_serverless_with_function_capture_and_express():
    config = costs.CostConfig(
        photos_per_day=1000,
        endpoint="serverless",
        memory_mb=2048,
        inference_ms=100,
        capture="Function",
        workflow="Express",
        photo_bytes=100_000,
    )
    lines = costs.month_lines(config, _inputs())
    photos = 1000 * 730 / 24
    serverless = _line(lines, "SageMaker Serverless Inference").usd
    compute = photos * 0.1 * 2 * 0.00002
    data = photos * (100_000 + costs.RESPONSE_BYTES) / 1024**3 * 0.016
    assert serverless == pytest.approx(compute + data)
    # 100 + 50 + 20 (capture PUT) + 10 ms = 180 ms, billed as 200 ms at 64 MB
    express = _line(lines, "Step Functions Express").usd
    assert express == pytest.approx(photos * (0.000001 + 0.2 * 64 / 1024 * 0.00001667))
    assert _line(lines, "S3 requests").usd == pytest.approx(photos * (2 * 0.000005 + 0.0000004))


def test_an_express_workflow_is_billed_for_the_history_it_logs():
    # Express keeps its history only in its log group (level ALL with execution data): the photo's
    # base64 is there several times, so its workflow bytes are its own measurement, not Standard's
    inputs = _inputs(state_machine_log_bytes=6000.0, express_state_machine_log_bytes=15000.0)
    ingestion = {
        workflow: _line(
            costs.month_lines(costs.CostConfig(photos_per_day=1000, workflow=workflow), inputs),
            "CloudWatch Logs ingestion",
        )
        for workflow in ("Standard", "Express")
    }
    assert ingestion["Express"].usd / ingestion["Standard"].usd == pytest.approx(19000 / 10000)
    assert "Express workflow 15.0 KB" in ingestion["Express"].detail


def test_provisioned_concurrency_is_billed_all_month():
    idle = costs.CostConfig(
        photos_per_day=0, endpoint="serverless", memory_mb=1024, provisioned_concurrency=2
    )
    line = _line(costs.month_lines(idle, _inputs()), "SageMaker Serverless Inference")
    assert line.usd == pytest.approx(2 * 1 * 730 * 3600 * 0.0000048)


def test_break_even_is_where_the_two_totals_meet():
    config = costs.CostConfig(photos_per_day=0)
    inputs = _inputs()
    even = costs.break_even(config, inputs)
    assert even is not None and even > 0
    at = replace(config, photos_per_day=even)
    instance = costs.total(costs.month_lines(replace(at, endpoint="instance"), inputs))
    serverless = costs.total(costs.month_lines(replace(at, endpoint="serverless"), inputs))
    assert instance == pytest.approx(serverless)
    below = replace(config, photos_per_day=even / 2)
    assert costs.total(costs.month_lines(replace(below, endpoint="serverless"), inputs)) < costs.total(
        costs.month_lines(replace(below, endpoint="instance"), inputs)
    )


def test_no_break_even_when_serverless_costs_nothing_a_photo():
    prices = json.loads(costs.PRICES_FILE.read_text())["prices"]
    free = {
        **prices,
        "sagemaker_serverless_gb_second": {"value": 0},
        "sagemaker_serverless_data_gb": {"value": 0},
    }
    assert costs.break_even(costs.CostConfig(photos_per_day=0), _inputs(prices=free)) is None


def test_per_thousand_photos_of_no_photos_is_infinite():
    assert math.isinf(costs.per_thousand_photos(costs.CostConfig(photos_per_day=0), _inputs()))


def test_report_lines_give_durations_and_bytes():
    messages = [
        "START RequestId: a Version: $LATEST",
        "REPORT RequestId: a\tDuration: 12.50 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\t"
        "Max Memory Used: 80 MB\tInit Duration: 300.00 ms",
        "REPORT RequestId: b\tDuration: 7.50 ms\tBilled Duration: 8 ms\tMemory Size: 256 MB\t"
        "Max Memory Used: 80 MB",
    ]
    assert report_durations_ms(messages) == [12.5, 7.5]
    assert summarize_durations([12.5, 7.5])["median_ms"] == 10.0
    assert event_bytes(["ab", "é"]) == 2 + 26 + 2 + 26


def test_the_measurements_file_says_when_and_how():
    measurements = json.loads(costs.MEASUREMENTS_FILE.read_text())
    assert measurements["measured_on"] and "--measure-from-logs" in measurements["command"]
    prices = json.loads(costs.PRICES_FILE.read_text())
    assert prices["as_of"] and prices["region"] == "us-east-1"
    for name, entry in prices["prices"].items():
        assert entry["source"].startswith("https://aws.amazon.com/"), name
        assert entry["confirmed"], name


@pytest.mark.parametrize("doc", ["README.md", "docs/costs.md"])
def test_the_docs_cost_tables_are_what_the_command_renders(doc):
    text = (REPO_ROOT / doc).read_text()
    held = costs.embedded(text)
    assert held is not None, f"{doc}: no {costs.MARKDOWN_BEGIN} ... {costs.MARKDOWN_END}"
    assert held == costs.markdown(costs.load_inputs()), (
        f"{doc} is out of date: paste `python -m training_job cost --markdown` between the markers"
    )
