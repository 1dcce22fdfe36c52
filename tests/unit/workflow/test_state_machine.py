"""The ASL executed for real: moto's Step Functions interpreter runs
statemachine/classify_image.asl.json with the template's substitutions; the Lambda tasks run
our handlers in-process (local_stack/aws/lambda_runtime.py); S3 is moto; the endpoint is stubbed
(the fixtures are in conftest.py)."""

import json

from tests.conftest import load_event
from tests.unit.workflow.conftest import BUCKET, endpoint_answer


def test_a_confident_image_succeeds_with_its_label(workflow):
    workflow.endpoint.add_response("invoke_endpoint", endpoint_answer([0.97, 0.03]))

    execution = workflow.run(load_event("workflow_input.json"))

    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert (output["label"], output["confidence"], output["inferences"]) == ("bicycle", 0.97, [0.97, 0.03])
    assert output["s3_key"] == "images/bicycle_s_000035.png"
    # the id the functions log as their correlation id, and the context their metrics carry
    assert output["execution"] == {"id": execution["executionArn"], "context": "photo"}


def test_the_legacy_seed_event_still_runs(workflow):
    workflow.endpoint.add_response("invoke_endpoint", endpoint_answer([0.01, 0.99]))

    execution = workflow.run(load_event("workflow_input_legacy.json"))

    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"])["label"] == "motorcycle"


def test_a_low_confidence_image_fails_with_threshold_confidence_not_met(workflow):
    workflow.endpoint.add_response("invoke_endpoint", endpoint_answer([0.6, 0.4]))

    execution = workflow.run(load_event("workflow_input.json"))

    assert execution["status"] == "FAILED"
    assert execution["error"] == "ThresholdConfidenceNotMet"
    assert "confidence 0.6000 is below the threshold 0.9300" in execution["cause"]


def test_a_missing_object_fails_with_image_not_found(workflow):
    execution = workflow.run({"s3_bucket": BUCKET, "s3_key": "images/gone.png"})

    assert (execution["status"], execution["error"]) == ("FAILED", "ImageNotFound")
    assert "images/gone.png does not exist" in execution["cause"]


def test_a_non_image_fails_with_not_an_image(workflow):
    execution = workflow.run({"s3_bucket": BUCKET, "s3_key": "images/not_an_image.txt"})

    assert (execution["status"], execution["error"]) == ("FAILED", "NotAnImage")


def test_a_missing_key_fails_with_invalid_event(workflow):
    execution = workflow.run(load_event("serialize_image_data_missing_key.json"))

    assert (execution["status"], execution["error"]) == ("FAILED", "InvalidEvent")
    assert "missing required key 's3_key'" in execution["cause"]


def test_an_endpoint_error_is_not_retried(workflow, retry_sleeps):
    workflow.endpoint.add_client_error(
        "invoke_endpoint", service_error_code="ModelError", service_message="bad image", http_status_code=424
    )

    execution = workflow.run(load_event("workflow_input.json"))

    assert (execution["status"], execution["error"]) == ("FAILED", "EndpointError")
    assert "bad image" in execution["cause"]
    assert retry_sleeps == []


def test_a_throttled_endpoint_is_retried_with_backoff_then_succeeds(workflow, retry_sleeps):
    for _ in range(2):
        workflow.endpoint.add_client_error(
            "invoke_endpoint", service_error_code="ThrottlingException", http_status_code=400
        )
    workflow.endpoint.add_response("invoke_endpoint", endpoint_answer([0.02, 0.98]))

    execution = workflow.run(load_event("workflow_input.json"))

    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"])["label"] == "motorcycle"
    # IntervalSeconds 1, BackoffRate 2, full jitter: attempt n waits somewhere in [0, 2**n].
    assert len(retry_sleeps) == 2
    assert all(0 <= slept <= 2**n for n, slept in enumerate(retry_sleeps))
    scheduled = [e for e in workflow.history(execution) if e["type"] == "TaskScheduled"]
    assert len(scheduled) == 3 + 2  # serialize, classify x3, filter


def test_an_endpoint_that_stays_throttled_fails_after_every_retry(workflow, retry_sleeps):
    for _ in range(5):  # the first attempt and MaxAttempts 4
        workflow.endpoint.add_client_error(
            "invoke_endpoint", service_error_code="ThrottlingException", http_status_code=400
        )

    execution = workflow.run(load_event("workflow_input.json"))

    assert (execution["status"], execution["error"]) == ("FAILED", "EndpointThrottled")
    assert len(retry_sleeps) == 4
    assert all(0 <= slept <= min(2**n, 10) for n, slept in enumerate(retry_sleeps))  # MaxDelaySeconds 10
