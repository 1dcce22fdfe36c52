"""Our functions run where moto would start a Docker container (in the ``interpreter`` group).

A function registered in ``aws.lambda_runtime`` runs through its invoker, in this process or an
execution environment of its own; any other function keeps moto's behaviour. An error comes back
as ``{"errorType": <exception class name>, ...}`` with the function error set, as the Lambda
runtime answers, and moto's interpreter turns that ``errorType`` into the ASL error name that
``Retry``/``Catch`` match.
"""

from __future__ import annotations

import importlib
import io
import json
import threading
from collections.abc import Callable
from typing import Any

from local_stack.aws.lambda_runtime import invoker_for
from local_stack.aws.moto_patches.patch import ASL, Patch


def _run_registered_function(original: Callable) -> Callable:
    """``moto.awslambda.models.LambdaFunction._invoke_lambda(self, event) -> (payload, errored,
    logs)`` is where moto would start a Docker container: a registered function runs through its
    invoker instead."""

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        invoker = invoker_for(self.function_name)
        if invoker is None:
            return original(self, event)
        payload, errored = invoker(event if event is not None else {})
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
        payload, errored = invoker(json.loads(parameters.get("Payload") or b"{}"))
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
