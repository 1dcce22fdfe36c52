"""ClassifyImage on the events/ files, with SageMaker Runtime stubbed by botocore's Stubber
(which also checks every request against the InvokeEndpoint API model)."""

import base64
import io
import json

import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from tests.conftest import TEST_ENDPOINT_NAME, load_event


@pytest.fixture
def classify(functions):
    return functions["ClassifyImage"]


@pytest.fixture
def endpoint(classify):
    with Stubber(classify.endpoint.sagemaker_runtime_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def sent(classify):
    """The parameters of each InvokeEndpoint call, as they leave for the endpoint."""
    requests = []
    events = classify.endpoint.sagemaker_runtime_client().meta.events
    hook = "provide-client-params.sagemaker-runtime.InvokeEndpoint"
    events.register(hook, lambda params, **_: requests.append(params), unique_id="test-sent")
    yield requests
    events.unregister(hook, unique_id="test-sent")


def answer(body) -> dict:
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return {"Body": StreamingBody(io.BytesIO(raw), len(raw)), "ContentType": "application/json"}


def expected_request(event: dict) -> dict:
    return {
        "EndpointName": TEST_ENDPOINT_NAME,
        "ContentType": event["content_type"],
        "Accept": "application/json",
        "Body": base64.b64decode(event["image_data"]),
    }


def test_sample_event_is_classified_with_the_images_own_content_type(classify, endpoint, lambda_context):
    event = load_event("classify_image.json")
    endpoint.add_response("invoke_endpoint", answer([0.9712, 0.0288]), expected_request(event))

    result = classify.app.lambda_handler(event, lambda_context)

    # the answer without the image: events/filter_inferences.json is exactly what this step produces
    assert result == load_event("filter_inferences.json")
    assert "image_data" not in result


def test_motorcycle_is_the_second_probability(classify, endpoint, lambda_context):
    endpoint.add_response("invoke_endpoint", answer([0.2, 0.8]))

    result = classify.app.lambda_handler(load_event("classify_image.json"), lambda_context)

    assert (result["label"], result["confidence"]) == ("motorcycle", 0.8)


def test_jpeg_goes_out_as_image_jpeg(classify, endpoint, sent, lambda_context):
    event = {**load_event("classify_image.json"), "content_type": "image/jpeg"}
    endpoint.add_response("invoke_endpoint", answer([0.5, 0.5]))

    classify.app.lambda_handler(event, lambda_context)

    assert [request["ContentType"] for request in sent] == ["image/jpeg"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"image_data": None}, "missing required key 'image_data'"),
        ({"content_type": None}, "missing required key 'content_type'"),
        ({"image_data": 12}, "'image_data' must be a non-empty string"),
        (
            {"content_type": "image/gif"},
            "'content_type' must be one of image/png, image/jpeg, got 'image/gif'",
        ),
        ({"image_data": "not base64!"}, "'image_data' is not valid base64"),
    ],
)
def test_bad_events_raise_invalid_event_naming_the_key(classify, lambda_context, change, message):
    event = {**load_event("classify_image.json"), **change}
    event = {k: v for k, v in event.items() if v is not None}
    with pytest.raises(classify.exceptions.InvalidEvent, match=message):
        classify.app.lambda_handler(event, lambda_context)


def test_model_error_raises_endpoint_error_with_the_endpoints_message(classify, endpoint, lambda_context):
    endpoint.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        service_message="Received client error (400) from primary: unable to decode image",
        http_status_code=424,
    )
    with pytest.raises(
        classify.exceptions.EndpointError, match=r"\(ModelError\): Received client error \(400\)"
    ):
        classify.app.lambda_handler(load_event("classify_image.json"), lambda_context)


def test_unknown_endpoint_raises_endpoint_error(classify, endpoint, lambda_context):
    endpoint.add_client_error(
        "invoke_endpoint",
        service_error_code="ValidationError",
        service_message=f"Endpoint {TEST_ENDPOINT_NAME} of account 123456789012 not found.",
        http_status_code=400,
    )
    with pytest.raises(classify.exceptions.EndpointError, match="not found"):
        classify.app.lambda_handler(load_event("classify_image.json"), lambda_context)


def test_throttling_raises_endpoint_throttled(classify, endpoint, lambda_context):
    endpoint.add_client_error(
        "invoke_endpoint",
        service_error_code="ThrottlingException",
        service_message="Rate exceeded",
        http_status_code=400,
    )
    with pytest.raises(classify.exceptions.EndpointThrottled, match="Rate exceeded"):
        classify.app.lambda_handler(load_event("classify_image.json"), lambda_context)


@pytest.mark.parametrize(
    ("code", "status"),
    [("ServiceUnavailable", 503), ("InternalFailure", 500), ("ModelNotReadyException", 429)],
)
def test_transient_failures_raise_endpoint_unavailable(classify, endpoint, lambda_context, code, status):
    endpoint.add_client_error("invoke_endpoint", service_error_code=code, http_status_code=status)
    with pytest.raises(classify.exceptions.EndpointUnavailable, match=code):
        classify.app.lambda_handler(load_event("classify_image.json"), lambda_context)


@pytest.mark.parametrize(
    "transport_error",
    [
        ReadTimeoutError(endpoint_url="https://runtime.sagemaker"),
        ConnectionClosedError(endpoint_url="https://runtime.sagemaker"),
        EndpointConnectionError(endpoint_url="https://runtime.sagemaker"),
    ],
)
def test_transport_failures_raise_endpoint_unavailable(
    classify, lambda_context, monkeypatch, transport_error
):
    def time_out(**_):
        raise transport_error

    monkeypatch.setattr(classify.endpoint.sagemaker_runtime_client(), "invoke_endpoint", time_out)
    with pytest.raises(classify.exceptions.EndpointUnavailable, match="unreachable"):
        classify.app.lambda_handler(load_event("classify_image.json"), lambda_context)


@pytest.mark.parametrize(
    "body",
    [
        b"<html>oops</html>",
        [0.9],
        [0.7, 0.7],
        ["0.9", "0.1"],
        [1.5, -0.5],
        {"predictions": [0.9, 0.1]},
        [True, False],
    ],
)
def test_answers_that_are_not_two_probabilities_raise_endpoint_error(
    classify, endpoint, lambda_context, body
):
    endpoint.add_response("invoke_endpoint", answer(body))
    with pytest.raises(classify.exceptions.EndpointError, match="answered"):
        classify.app.lambda_handler(load_event("classify_image.json"), lambda_context)


def test_sdk_does_not_retry_so_the_state_machine_owns_retries(classify):
    config = classify.endpoint.sagemaker_runtime_client().meta.config
    assert config.retries["total_max_attempts"] == 1  # one attempt: no SDK retry at all


def test_metrics_count_the_class_and_time_the_endpoint(classify, endpoint, lambda_context, capsys):
    endpoint.add_response("invoke_endpoint", answer([0.1, 0.9]))

    classify.app.lambda_handler(load_event("classify_image.json"), lambda_context)

    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    names = {m["Name"] for doc in emf for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"ImagesClassifiedMotorcycle", "EndpointLatency"} <= names
    namespaces = {doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] for doc in emf}
    assert namespaces == {"SconesUnlimited/VehicleClassifier"}


def test_endpoint_errors_are_counted(classify, endpoint, lambda_context, capsys):
    endpoint.add_client_error("invoke_endpoint", service_error_code="ModelError", http_status_code=424)

    with pytest.raises(classify.exceptions.EndpointError):
        classify.app.lambda_handler(load_event("classify_image.json"), lambda_context)

    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [doc["EndpointErrors"] for doc in emf if "EndpointErrors" in doc] == [[1.0]]


@pytest.mark.parametrize("raw", [None, ""])
def test_a_missing_endpoint_name_is_a_configuration_error(classify, raw):
    with pytest.raises(classify.exceptions.InvalidConfiguration, match="ENDPOINT_NAME must name"):
        classify.endpoint.parse_endpoint_name(raw)


def test_endpoint_name_comes_from_the_environment(classify):
    assert classify.app.ENDPOINT_NAME == TEST_ENDPOINT_NAME


def test_a_container_that_timed_out_is_endpoint_unavailable(classify, endpoint, lambda_context):
    """SageMaker answers a container's timeout as ModelError with OriginalStatusCode 0."""
    endpoint.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        service_message="Your invocation timed out while waiting for a response from container model",
        http_status_code=424,
        modeled_fields={"OriginalStatusCode": 0},
    )
    with pytest.raises(classify.exceptions.EndpointUnavailable, match="timed out"):
        classify.app.lambda_handler(load_event("classify_image.json"), lambda_context)


def test_an_sdk_error_that_is_no_call_is_endpoint_error(classify, lambda_context, monkeypatch):
    from botocore.exceptions import NoCredentialsError

    def no_credentials(**_):
        raise NoCredentialsError()

    monkeypatch.setattr(classify.endpoint.sagemaker_runtime_client(), "invoke_endpoint", no_credentials)
    with pytest.raises(classify.exceptions.EndpointError, match="not called: Unable to locate credentials"):
        classify.app.lambda_handler(load_event("classify_image.json"), lambda_context)


def test_the_read_timeout_is_the_templates_endpoint_timeout(classify, template):
    assert classify.endpoint.sagemaker_runtime_client().meta.config.read_timeout == float(
        template.parameter_defaults()["EndpointTimeoutSeconds"]
    )


@pytest.mark.parametrize("raw", [None, "", "0", "61", "ten", "nan"])
def test_an_endpoint_timeout_outside_1_to_60_s_is_a_configuration_error(classify, raw):
    with pytest.raises(classify.exceptions.InvalidConfiguration, match="ENDPOINT_TIMEOUT_SECONDS must be"):
        classify.endpoint.parse_timeout(raw)
