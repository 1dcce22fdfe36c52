"""The template's ``ReservedConcurrentExecutions``, applied to the local Lambda as CloudFormation
applies it: PutFunctionConcurrency where a function has one, DeleteFunctionConcurrency where it
has none (``AWS::NoValue``). The invocations read it back where they are admitted
(``aws.moto_patches.lambda_invoke``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from local_stack.aws.template import NO_VALUE, Template


def reserved_concurrency(template: Template, logical_id: str, resolve: Callable[[Any], Any]) -> int | None:
    """The function's ``ReservedConcurrentExecutions`` with its ``Fn::If`` decided; None: none."""
    value = template.body["Resources"][logical_id]["Properties"].get("ReservedConcurrentExecutions")
    if value is None:
        return None
    chosen = template.chosen(value, resolve)
    return None if chosen is NO_VALUE else int(resolve(chosen))


def apply_reserved_concurrency(
    lambda_client: Any, template: Template, functions: Mapping[str, tuple], resolve: Callable[[Any], Any]
) -> dict[str, int | None]:
    """Reserve each function's concurrency as the template says (``functions``: logical id ->
    (the function's name, ...), as the deploy created them); return what each name got. A
    reservation Lambda refuses (one that leaves the account less than 100 unreserved) raises its
    InvalidParameterValueException."""
    applied = {}
    for logical_id, (name, *_) in functions.items():
        reserved = reserved_concurrency(template, logical_id, resolve)
        if reserved is None:
            lambda_client.delete_function_concurrency(FunctionName=name)
        else:
            lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
        applied[name] = reserved
    return applied
