"""The error surface of the whole workflow: every way in which an execution can fail, driven
through the real ASL, ends in an error we name, with a cause a person can read (the one-line
message, never a stack trace), retried only where retrying can help."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from local_stack.aws import lambda_runtime
from tests.conftest import EVENTS_DIR, load_event
from tests.unit.asl_render import rendered_asl
from tests.unit.workflow.conftest import BUCKET, endpoint_answer

ASL = rendered_asl()
# the names an execution may end with: every Fail state's own, and those its ErrorPath passes on
NAMED_ERRORS = {state["Error"] for state in ASL["States"].values() if "Error" in state} | {
    "Runtime.ExitError",
    "Runtime.OutOfMemory",
    "Sandbox.Timedout",
    "Lambda.Unknown",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
IMAGE = load_event("workflow_input.json")


def assert_named_for_people(execution: dict) -> None:
    assert execution["status"] == "FAILED", execution
    assert execution["error"] in NAMED_ERRORS
    cause = execution["cause"]
    assert cause and "\n" not in cause.strip(), cause
    for trace in ("Traceback", 'File "', "stackTrace", "errorType"):
        assert trace not in cause, cause


INPUTS = [
    ([1], "InvalidEvent", "must be a JSON object with string keys s3_bucket and s3_key"),
    ("s", "InvalidEvent", "must be a JSON object"),
    (42, "InvalidEvent", "must be a JSON object"),
    (None, "InvalidEvent", "must be a JSON object"),
    ({}, "InvalidEvent", "must be a JSON object"),
    ({"s3_bucket": 1, "s3_key": "a.png"}, "InvalidEvent", "'s3_bucket' must be a non-empty string, got 1"),
    ({"s3_bucket": BUCKET}, "InvalidEvent", "missing required key 's3_key'"),
    ({"s3_bucket": "bad bucket/name", "s3_key": "a.png"}, "InvalidEvent", "must be an S3 bucket name"),
    ({"s3_bucket": "arn:aws:s3:::b", "s3_key": "a.png"}, "InvalidEvent", "must be an S3 bucket name"),
    ({"s3_bucket": BUCKET, "s3_key": "k" * 1025}, "InvalidEvent", "S3 keys are at most 1024"),
    ({"s3_bucket": BUCKET, "s3_key": "images/gone.png"}, "ImageNotFound", "images/gone.png does not exist"),
    ({"s3_bucket": "no-such-bucket", "s3_key": "a.png"}, "ImageNotFound", "does not exist (NoSuchBucket)"),
    (
        {"s3_bucket": BUCKET, "s3_key": "images/not_an_image.txt"},
        "NotAnImage",
        "is not an image this workflow reads (PNG, JPEG, WebP or GIF)",
    ),
]


@pytest.mark.parametrize(("execution_input", "error", "says"), INPUTS, ids=[repr(i[0])[:40] for i in INPUTS])
def test_a_bad_input_ends_in_its_named_error(workflow, execution_input, error, says):
    execution = workflow.run(execution_input)

    assert_named_for_people(execution)
    assert execution["error"] == error and says in execution["cause"]


def test_an_image_too_large_to_download(workflow, monkeypatch):
    monkeypatch.setattr(workflow.function("SerializeImageData").app, "MAX_UPLOAD_BYTES", 100 * 1024)
    workflow.put("images/huge.png", b"\x89PNG\r\n\x1a\n" + bytes(200 * 1024))

    execution = workflow.run({"s3_bucket": BUCKET, "s3_key": "images/huge.png"})

    assert_named_for_people(execution)
    assert execution["error"] == "ImageTooLarge"


# each events/ file as an execution's input: the functions' own events carry an image location too
EVENT_OUTCOMES = {
    "classify_image.json": "SUCCEEDED",
    "filter_inferences.json": "SUCCEEDED",
    "filter_inferences_low_confidence.json": "SUCCEEDED",  # the endpoint's stubbed answer decides
    "serialize_image_data.json": "SUCCEEDED",
    "serialize_image_data_missing_key.json": "InvalidEvent",
    "serialize_image_data_not_an_image.json": "NotAnImage",
    "workflow_input.json": "SUCCEEDED",
    "workflow_input_legacy.json": "SUCCEEDED",
}


def test_the_outcomes_cover_every_sample_event():
    assert set(EVENT_OUTCOMES) == {path.name for path in EVENTS_DIR.glob("*.json")}


@pytest.mark.parametrize(("event_file", "outcome"), sorted(EVENT_OUTCOMES.items()))
def test_every_sample_event_ends_answered_or_named(workflow, event_file, outcome):
    if outcome == "SUCCEEDED":
        workflow.endpoint.add_response("invoke_endpoint", endpoint_answer([0.97, 0.03]))

    execution = workflow.run(load_event(event_file))

    if outcome == "SUCCEEDED":
        assert execution["status"] == "SUCCEEDED", execution
        assert json.loads(execution["output"])["label"] == "bicycle"
    else:
        assert_named_for_people(execution)
        assert execution["error"] == outcome


@pytest.mark.parametrize(
    ("code", "status"),
    [("SlowDown", 503), ("InternalError", 500), ("ServiceUnavailable", 503), ("RequestTimeout", 400)],
)
def test_a_failing_s3_is_retried_then_ends_image_store_unavailable(workflow, retry_sleeps, code, status):
    with Stubber(workflow.function("SerializeImageData").image_store.s3_client()) as s3:
        for _ in range(4):  # the first attempt and MaxAttempts 3
            s3.add_response("head_object", {"ContentLength": 2048})
            s3.add_client_error("get_object", service_error_code=code, http_status_code=status)
        execution = workflow.run(IMAGE)

    assert_named_for_people(execution)
    assert execution["error"] == "ImageStoreUnavailable" and code in execution["cause"]
    assert len(retry_sleeps) == 3


def test_an_unreachable_s3_is_retried_and_recovers(workflow, retry_sleeps, monkeypatch):
    image_store = workflow.function("SerializeImageData").image_store
    real, calls = image_store.s3_client(), []

    class FlakyS3:
        def head_object(self, **request):
            return real.head_object(**request)

        def get_object(self, **request):
            calls.append(request)
            if len(calls) == 1:
                raise EndpointConnectionError(endpoint_url="http://s3.local")
            if len(calls) == 2:
                raise ReadTimeoutError(endpoint_url="http://s3.local")
            return real.get_object(**request)

    monkeypatch.setattr(image_store, "s3_client", FlakyS3)
    workflow.endpoint.add_response("invoke_endpoint", endpoint_answer([0.02, 0.98]))

    execution = workflow.run(IMAGE)

    assert execution["status"] == "SUCCEEDED", execution
    assert len(calls) == 3 and len(retry_sleeps) == 2


def test_an_s3_refusal_we_do_not_know_ends_named_and_is_not_retried(workflow, retry_sleeps):
    with Stubber(workflow.function("SerializeImageData").image_store.s3_client()) as s3:
        s3.add_response("head_object", {"ContentLength": 2048})
        s3.add_client_error("get_object", service_error_code="PermanentRedirect", http_status_code=301)
        execution = workflow.run(IMAGE)

    assert_named_for_people(execution)
    assert execution["error"] == "ImageStoreError" and "PermanentRedirect" in execution["cause"]
    assert retry_sleeps == []


@pytest.mark.parametrize(
    ("error", "fields", "final", "attempts"),
    [
        ("ModelError", {"OriginalStatusCode": 400}, "EndpointError", 1),  # the model cannot decode it
        ("ModelError", {"OriginalStatusCode": 0}, "EndpointUnavailable", 5),  # the container timed out
        ("ThrottlingException", {}, "EndpointThrottled", 5),
        ("ServiceUnavailable", {}, "EndpointUnavailable", 5),
        ("ValidationError", {}, "EndpointError", 1),
    ],
)
def test_each_endpoint_failure_ends_named_retried_only_when_transient(
    workflow, retry_sleeps, error, fields, final, attempts
):
    status = {"ModelError": 424, "ServiceUnavailable": 503}.get(error, 400)
    for _ in range(attempts):
        workflow.endpoint.add_client_error(
            "invoke_endpoint",
            service_error_code=error,
            service_message="the endpoint's words",
            http_status_code=status,
            modeled_fields=fields,
        )

    execution = workflow.run(IMAGE)

    assert_named_for_people(execution)
    assert execution["error"] == final and "the endpoint's words" in execution["cause"]
    assert len(retry_sleeps) == attempts - 1


def test_a_function_that_crashes_is_retried_twice_then_ends_with_lambdas_name(workflow, retry_sleeps):
    crash = {
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: r Error: Runtime exited: signal: killed",
    }
    lambda_runtime.register_invoker(
        workflow.function_name("ClassifyImage"), lambda event: (json.dumps(crash), True)
    )

    execution = workflow.run(IMAGE)

    assert_named_for_people(execution)
    assert (execution["error"], execution["cause"]) == ("Runtime.ExitError", crash["errorMessage"])
    assert len(retry_sleeps) == 2


def test_a_lambda_service_failure_ends_with_its_own_name_and_cause(workflow, retry_sleeps):
    failure = {"errorType": "Lambda.ServiceException", "errorMessage": "Lambda was unable to serve it"}
    lambda_runtime.register_invoker(
        workflow.function_name("SerializeImageData"), lambda event: (json.dumps(failure), True)
    )

    execution = workflow.run(IMAGE)

    assert execution["error"] == "Lambda.ServiceException" and "unable to serve it" in execution["cause"]
    assert len(retry_sleeps) == 3
