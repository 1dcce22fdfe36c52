"""A function's ``ReservedConcurrentExecutions``, applied to the local Lambda as CloudFormation
applies it: PutFunctionConcurrency where the function has one, DeleteFunctionConcurrency where it
has none (``AWS::NoValue`` leaves the property out). The invocations read it back where they are
admitted (``aws.moto_patches.lambda_invoke``)."""

from __future__ import annotations

from typing import Any


def apply_reserved_concurrency(lambda_client: Any, name: str, properties: dict) -> int | None:
    """Reserve the function's concurrency as its resolved properties say; return what it got. A
    reservation Lambda refuses (one that leaves the account less than 100 unreserved) raises its
    InvalidParameterValueException."""
    reserved = properties.get("ReservedConcurrentExecutions")
    if reserved is None:
        lambda_client.delete_function_concurrency(FunctionName=name)
        return None
    lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=int(reserved))
    return int(reserved)
