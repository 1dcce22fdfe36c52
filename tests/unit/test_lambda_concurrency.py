"""Lambda's concurrency limits in the local stack: the account's and each function's reserved
concurrency, answered with TooManyRequestsException as Lambda answers it, through boto3 (Invoke)
and through the Step Functions interpreter's Lambda client (Lambda.TooManyRequestsException)."""

from __future__ import annotations

import io
import json
import threading
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local_stack.aws import lambda_concurrency_limits, lambda_runtime, moto_patches
from local_stack.aws.lambda_concurrency_limits import (
    ACCOUNT_LIMIT,
    RESERVED_LIMIT,
    ConcurrencyLimitExceeded,
    ConcurrencyLimits,
)
from tests.conftest import service_role

WAIT = 60.0  # seconds; the invocations end on an event, far sooner


def test_a_reserved_function_runs_at_most_its_reservation():
    limits = ConcurrencyLimits(account_limit=1000)
    reserved = {"batch": 2}
    limits.check("batch", reserved), limits.check("batch", reserved)
    with pytest.raises(ConcurrencyLimitExceeded) as refused:
        limits.check("batch", reserved)
    assert refused.value.reason == RESERVED_LIMIT
    limits.release("batch")
    limits.check("batch", reserved)


def test_unreserved_functions_share_what_the_reservations_leave_of_the_account():
    limits = ConcurrencyLimits(account_limit=5)
    reserved = {"batch": 3}
    for _ in range(2):
        limits.check("one-photo", reserved)
    with pytest.raises(ConcurrencyLimitExceeded) as refused:
        limits.check("other", reserved)
    assert refused.value.reason == ACCOUNT_LIMIT
    for _ in range(3):  # the reservation is the batch's own, whatever the others run
        limits.check("batch", reserved)
    assert limits.in_flight() == 5


def test_a_reservation_of_zero_throttles_every_invocation():
    with pytest.raises(ConcurrencyLimitExceeded):
        ConcurrencyLimits().check("off", {"off": 0})


def test_an_invocation_is_counted_until_it_ends_even_when_it_raises():
    limits = ConcurrencyLimits()
    with pytest.raises(RuntimeError), limits.admitted("f", {"f": 1}):
        assert limits.in_flight("f") == 1
        raise RuntimeError
    assert limits.in_flight("f") == 0


# -- as boto3 sees it ----------------------------------------------------------------------------


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


@pytest.fixture
def lambda_client(pristine_moto, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("MOTO_LAMBDA_CONCURRENCY_QUOTA", "1000")
    moto_patches.install()
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        role = service_role(iam, "lambda.amazonaws.com")
        client = boto3.client("lambda", region_name="us-east-1")
        for name in ("batch", "one-photo"):
            code = {"ZipFile": _zip()}
            client.create_function(
                FunctionName=name, Runtime="python3.13", Role=role, Handler="app.handler", Code=code
            )
        yield client
    lambda_runtime.unregister_all()


def _hold_one_invocation(client, name: str) -> tuple[threading.Event, threading.Thread]:
    """Start one invocation of ``name`` that runs until the returned event is set."""
    started, release = threading.Event(), threading.Event()

    def invoker(event):
        started.set()
        release.wait(WAIT)
        return json.dumps(event), False

    lambda_runtime.register_invoker(name, invoker)
    thread = threading.Thread(target=client.invoke, kwargs={"FunctionName": name, "Payload": b"{}"})
    thread.start()
    assert started.wait(WAIT)
    return release, thread


def test_invoke_past_the_reservation_answers_429_too_many_requests_with_lambdas_reason(lambda_client):
    lambda_client.put_function_concurrency(FunctionName="batch", ReservedConcurrentExecutions=1)
    release, thread = _hold_one_invocation(lambda_client, "batch")
    try:
        with pytest.raises(lambda_client.exceptions.TooManyRequestsException) as refused:
            lambda_client.invoke(FunctionName="batch", Payload=b"{}")
    finally:
        release.set()
        thread.join(WAIT)
    answer = refused.value.response
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert answer["Error"] == {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."}
    assert (answer["Reason"], answer["Type"]) == (RESERVED_LIMIT, "User")
    # the unreserved function is not held back by the batch's reservation
    lambda_runtime.register_invoker("one-photo", lambda event: ("{}", False))
    assert lambda_client.invoke(FunctionName="one-photo", Payload=b"{}")["StatusCode"] == 200


def test_invoke_past_the_accounts_limit_answers_concurrent_invocation_limit_exceeded(lambda_client):
    previous = lambda_concurrency_limits.set_account_limit(1)
    try:
        release, thread = _hold_one_invocation(lambda_client, "one-photo")
        lambda_runtime.register_invoker("batch", lambda event: ("{}", False))
        try:
            with pytest.raises(ClientError) as refused:
                lambda_client.invoke(FunctionName="batch", Payload=b"{}")
        finally:
            release.set()
            thread.join(WAIT)
    finally:
        lambda_concurrency_limits.set_account_limit(previous)
    assert refused.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert refused.value.response["Reason"] == ACCOUNT_LIMIT


def test_a_reservation_that_leaves_less_than_100_unreserved_is_refused(lambda_client):
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException):
        lambda_client.put_function_concurrency(FunctionName="batch", ReservedConcurrentExecutions=901)


def test_the_interpreters_lambda_task_sees_lambda_too_many_requests_exception(lambda_client):
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_lambda,
    )

    lambda_client.put_function_concurrency(FunctionName="batch", ReservedConcurrentExecutions=0)
    lambda_runtime.register_invoker("batch", lambda event: ("{}", False))
    client = lambda_eval_utils.boto_client_for("us-east-1", "lambda")
    with pytest.raises(ClientError) as refused:
        client.invoke(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:batch", Payload=b"{}")
    error, cause = state_task_service_lambda.StateTaskServiceLambda._error_cause_from_client_error(
        refused.value
    )
    assert error == "Lambda.TooManyRequestsException"  # what the ASL's Retry names
    assert "Status Code: 429" in cause


# -- the template's reservation, deployed ------------------------------------------------------


@pytest.mark.parametrize(("parameter", "expected"), [(None, None), ("5", 5)])
def test_the_local_deploy_reserves_what_the_template_says(parameter, expected, monkeypatch):
    from local_stack.aws import deploy

    monkeypatch.setenv("MOTO_LAMBDA_CONCURRENCY_QUOTA", "1000")
    parameters = {"FunctionReservedConcurrency": parameter} if parameter else {}
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        deployed = deploy.deploy(session, endpoint_name="e", bucket="scones-reserved", parameters=parameters)
        client = session.client("lambda")
        reserved = {
            logical_id: client.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
            for logical_id, name in deployed.function_names.items()
        }
        lambda_runtime.unregister_all()
    workflow = {"SerializeImageDataFunction", "ClassifyImageFunction", "FilterInferencesFunction"}
    assert {reserved[logical_id] for logical_id in workflow} == {expected}
    assert reserved["SummarizeBatchFunction"] is None
