"""The parts of the IAM policy language moto's evaluator gets wrong, as AWS documents them:
wildcards and condition operators. ``moto_patches.iam_enforcement`` puts them into moto's
``IAMPolicyStatement``; they are plain functions so that tests call them directly."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping


@functools.lru_cache(maxsize=4096)
def wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """``*`` any run of characters, ``?`` any one character, everything else literal (IAM JSON
    policy elements: Action, "You can use wildcards (* or ?)", and Resource, "You can use
    wildcard characters (* and ?) within any ARN segment":
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
    Action names are case-insensitive ("Action": "...values are case-insensitive"); ARNs are not."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"{body}\\Z", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def matches_any(patterns: str | Iterable[str], value: str, ignore_case: bool) -> bool:
    if isinstance(patterns, str):
        patterns = (patterns,)
    return any(wildcard(pattern, ignore_case).match(value) for pattern in patterns)


def _string_equals(actual: str, expected: str) -> bool:
    return actual == expected


def _string_equals_ignore_case(actual: str, expected: str) -> bool:
    return actual.lower() == expected.lower()


def _string_like(actual: str, expected: str) -> bool:
    return wildcard(expected, False).match(actual) is not None


def _bool(actual: str, expected: str) -> bool:
    return str(actual).lower() == str(expected).lower()


# Condition operators (IAM User Guide, "IAM JSON policy elements: Condition operators":
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
# ArnEquals and ArnLike match alike: "each of the six colon-delimited components of the ARN is
# checked separately and each can include multi-character match wildcards (*) or single-character
# match wildcards (?)"; a wildcard never crosses a colon there, so segments are compared apart.
def _arn_like(actual: str, expected: str) -> bool:
    actual_parts, expected_parts = actual.split(":", 5), expected.split(":", 5)
    return len(actual_parts) == len(expected_parts) and all(
        wildcard(e, False).match(a) for a, e in zip(actual_parts, expected_parts, strict=True)
    )


_POSITIVE: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": _string_equals,
    "StringEqualsIgnoreCase": _string_equals_ignore_case,
    "StringLike": _string_like,
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
    "Bool": _bool,
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
SUPPORTED_OPERATORS = frozenset(_POSITIVE) | frozenset(_NEGATED)


class UnsupportedConditionOperator(ValueError):
    """A policy names a condition operator this evaluator does not implement."""


def condition_met(condition: Mapping[str, Mapping[str, object]], context: Mapping[str, str]) -> bool:
    """Whether a statement's Condition block holds for the request's context keys: every
    operator, every key in it (AND), any of a key's values (OR). Context key names are
    case-insensitive. A key absent from the request fails a positive operator and satisfies a
    negated one; ``...IfExists`` holds when the key is absent (Condition operators, "IfExists"
    and "Condition operators with negated matching")."""
    lowered = {key.lower(): value for key, value in context.items()}
    for operator, block in condition.items():
        base = operator.removesuffix("IfExists")
        if base not in SUPPORTED_OPERATORS:
            raise UnsupportedConditionOperator(f"condition operator {operator!r} is not supported here")
        negated = base in _NEGATED
        test = _POSITIVE[_NEGATED.get(base, base)]
        for key, expected in block.items():
            actual = lowered.get(key.lower())
            if actual is None:
                if operator.endswith("IfExists") or negated:
                    continue
                return False
            values = expected if isinstance(expected, list) else [expected]
            found = any(test(actual, str(value)) for value in values)
            if found == negated:
                return False
    return True
