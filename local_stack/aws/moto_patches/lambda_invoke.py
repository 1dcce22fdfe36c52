"""Our functions run where moto would start a Docker container (in the ``interpreter`` group).

A function registered in ``aws.lambda_runtime`` runs through its invoker, in this process or an
execution environment of its own; any other function keeps moto's behaviour. An error comes back
as ``{"errorType": <exception class name>, ...}`` with the function error set, as the Lambda
runtime answers, and moto's interpreter turns that ``errorType`` into the ASL error name that
``Retry``/``Catch`` match.

Each invocation of a registered function is first admitted by ``aws.lambda_concurrency_limits``
(the account's concurrency, the function's reserved concurrency, read from moto's function as
PutFunctionConcurrency or the template's ``ReservedConcurrentExecutions`` set it): one past them
answers ``TooManyRequestsException`` (429, with Lambda's ``Reason``) to an Invoke call, and the
interpreter's Lambda task sees the same error, ``Lambda.TooManyRequestsException``.
"""

from __future__ import annotations

import importlib
import io
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from moto.core.exceptions import JsonRESTError

from local_stack.aws import lambda_concurrency_limits
from local_stack.aws.lambda_concurrency_limits import THROTTLE_MESSAGE, ConcurrencyLimitExceeded
from local_stack.aws.lambda_runtime import Invoker, invoker_for
from local_stack.aws.moto_patches.patch import ASL, Patch
from local_stack.settings import ACCOUNT_ID, REGION


class TooManyRequests(JsonRESTError):
    """Lambda's throttle, as Invoke answers it: 429, ``X-Amzn-ErrorType: TooManyRequestsException``
    and a body with ``Type``, ``message`` and ``Reason`` (botocore's TooManyRequestsException shape)."""

    code = 429

    def __init__(self, reason: str) -> None:
        super().__init__("TooManyRequestsException", THROTTLE_MESSAGE)
        self.description = json.dumps({"Reason": reason, "Type": "User", "message": THROTTLE_MESSAGE})


def throttle_client_error(reason: str) -> ClientError:
    """The same throttle as a boto3 Lambda client raises it, for the interpreter's in-process client."""
    response = {
        "Error": {"Code": "TooManyRequestsException", "Message": THROTTLE_MESSAGE},
        "ResponseMetadata": {"HTTPStatusCode": 429, "RequestId": str(uuid.uuid4()), "HTTPHeaders": {}},
        "Reason": reason,
        "Type": "User",
        "message": THROTTLE_MESSAGE,
    }
    return ClientError(response, "Invoke")


def reservations(account_id: str, region: str) -> dict[str, int]:
    """Each function's reserved concurrency in moto's Lambda (functions without one absent)."""
    from moto.awslambda.models import lambda_backends

    return {
        function.function_name: int(function.reserved_concurrency)
        for function in lambda_backends[account_id][region].list_functions()
        if function.reserved_concurrency is not None
    }


def _admitted_invoke(
    name: str, invoker: Invoker, event: Any, account_id: str, region: str
) -> tuple[str, bool]:
    with lambda_concurrency_limits.account.admitted(name, reservations(account_id, region)):
        return invoker(event)


def _run_registered_function(original: Callable) -> Callable:
    """``moto.awslambda.models.LambdaFunction._invoke_lambda(self, event) -> (payload, errored,
    logs)`` is where moto would start a Docker container: a registered function runs through its
    invoker instead."""

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        invoker = invoker_for(self.function_name)
        if invoker is None:
            return original(self, event)
        try:
            # (a stand-in without an account or region is counted in the local stack's)
            account_id, region = getattr(self, "account_id", ACCOUNT_ID), getattr(self, "region", REGION)
            event = event if event is not None else {}
            payload, errored = _admitted_invoke(self.function_name, invoker, event, account_id, region)
        except ConcurrencyLimitExceeded as throttled:
            raise TooManyRequests(throttled.reason) from None
        return payload, errored, ""

    return _invoke_lambda


def _function_errors_unhandled(original: Callable) -> Callable:
    """``moto.awslambda.models.LambdaFunction.invoke(self, body, request_headers,
    response_headers)`` answers a function's error with ``X-Amz-Function-Error: Handled``; Lambda
    answers an exception raised by a Python handler with ``Unhandled`` (``aws lambda invoke``
    prints it as ``FunctionError``), so we answer that."""

    def invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
        answer = original(self, body, request_headers, response_headers)
        if response_headers.get("x-amz-function-error") == "Handled":
            response_headers["x-amz-function-error"] = "Unhandled"
        return answer

    return invoke


class _InProcessLambda:
    """A Lambda client for the interpreter: registered functions run right here."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def invoke(self, **parameters: Any) -> dict:
        # FunctionName may be a name, an ARN, or either with a :qualifier.
        name = str(parameters["FunctionName"]).split(":function:")[-1].split(":")[0]
        invoker = invoker_for(name)
        if invoker is None:
            return self._client.invoke(**parameters)
        try:
            event = json.loads(parameters.get("Payload") or b"{}")
            region = self._client.meta.region_name
            payload, errored = _admitted_invoke(name, invoker, event, ACCOUNT_ID, region)
        except ConcurrencyLimitExceeded as throttled:
            raise throttle_client_error(throttled.reason) from None
        response = {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": io.BytesIO(payload.encode())}
        if errored:
            response["FunctionError"] = "Unhandled"
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _one_client_per_service(original: Callable) -> Callable:
    """``...asl.component.state.exec.state_task.lambda_eval_utils.boto_client_for``: the
    interpreter builds a new boto3 Lambda client for every Lambda task (about 14 ms) and, in
    server mode, sends each invocation over HTTP back into the moto server. We hand it one client
    per (region, service) whose ``invoke`` calls a registered function directly (the answer has
    the shape of Lambda's Invoke response) and passes anything else on to the real client."""
    boto_client = importlib.import_module(f"{ASL}.utils.boto_client")
    clients: dict[tuple, Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # botocore clients are thread-safe; moto only ever passes its fixed fake credentials.
        key = (region, service, boto_client.botocore_stubber.enabled, boto_client.moto_server_port())
        with lock:
            if key not in clients:
                client = original(region, service, state_credentials)
                clients[key] = _InProcessLambda(client) if service == "lambda" else client
            return clients[key]

    return boto_client_for


PATCHES = (
    Patch("moto.awslambda.models:LambdaFunction._invoke_lambda", ("self", "event"), _run_registered_function),
    Patch(
        "moto.awslambda.models:LambdaFunction.invoke",
        ("self", "body", "request_headers", "response_headers"),
        _function_errors_unhandled,
    ),
    Patch(
        f"{ASL}.component.state.exec.state_task.lambda_eval_utils:boto_client_for",
        ("region", "service", "state_credentials"),
        _one_client_per_service,
    ),
)
