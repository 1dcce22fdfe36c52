"""Role trust policies: who may assume a role, as IAM decides an sts:AssumeRole.

A trust policy is the role's resource-based policy, and it must name the caller: "Role trust
policies and KMS key policies are exceptions to this logic, because they must explicitly allow
access for principals" (IAM User Guide, "Policy evaluation logic", requests within a single
account: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
So, within the account:

* an explicit Deny in the trust policy, or in the caller's identity policies, refuses;
* a trust policy that names the caller itself (its user ARN, its role ARN or role session ARN, or
  ``"*"``) allows on its own (a resource-based policy naming the principal needs no identity
  grant in the same account);
* a trust policy that names the account (``arn:aws:iam::ACCOUNT:root`` or ``ACCOUNT``) delegates
  to the caller's identity policies, which must allow sts:AssumeRole on the role;
* otherwise the request is refused: no resource-based policy allows it.

An AWS service (``lambda.amazonaws.com``, ``states.amazonaws.com``, ``events.amazonaws.com``)
assumes a role only if the trust policy names the service ("Principal": {"Service": ...}:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-services);
Step Functions also accepts its Region's principal (``states.us-east-1.amazonaws.com``).

Actions and conditions go through ``policy_language`` (the same wildcards and operators as the
identity policies); the Principal element, which moto's evaluator reads only as an exact
``AWS`` ARN, is matched here."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from local_stack.aws.iam import policy_language

ASSUME_ROLE = "sts:AssumeRole"


class Trust(enum.IntEnum):
    """What a trust policy says about one caller, weakest first."""

    NOT_NAMED = 0  # no statement allows the caller
    ACCOUNT = 1  # allowed through the account: the caller's identity policies decide
    NAMED = 2  # the caller itself is named: allowed
    DENIED = 3  # an explicit Deny names the caller


@dataclass(frozen=True)
class Caller:
    """The principal asking to assume a role, as a trust policy may name it."""

    arns: tuple[str, ...] = ()  # a user's ARN; a role session's ARN and its role's ARN
    account: str | None = None
    services: tuple[str, ...] = ()  # a service principal's names (global, regional)

    @classmethod
    def for_principal(cls, arn: str) -> Caller:
        """From the caller's ARN: ``arn:aws:iam::A:user/u`` or ``arn:aws:sts::A:assumed-role/R/s``."""
        parts = arn.split(":", 5)
        account = parts[4] if len(parts) == 6 else None
        arns = [arn]
        if len(parts) == 6 and parts[5].startswith("assumed-role/"):
            role_name = parts[5].split("/")[1]
            arns.append(f"arn:{parts[1]}:iam::{account}:role/{role_name}")
        return cls(tuple(arns), account)

    @classmethod
    def for_service(cls, service: str, region: str | None = None) -> Caller:
        """``states.amazonaws.com`` and, with ``region``, ``states.<region>.amazonaws.com``."""
        names = [service]
        if region and service.endswith(".amazonaws.com"):
            names.append(f"{service.removesuffix('.amazonaws.com')}.{region}.amazonaws.com")
        return cls(services=tuple(names))


def _values(element: Any) -> tuple[str, ...]:
    if element is None:
        return ()
    return (element,) if isinstance(element, str) else tuple(element)


def _principal_match(element: Any, caller: Caller) -> Trust:
    """How the Principal element names ``caller``: NAMED, ACCOUNT or NOT_NAMED."""
    if element == "*":
        return Trust.NAMED
    if not isinstance(element, Mapping):
        return Trust.NOT_NAMED
    if set(_values(element.get("Service"))) & set(caller.services):
        return Trust.NAMED
    best = Trust.NOT_NAMED
    for value in _values(element.get("AWS")):
        if value == "*" or value in caller.arns:
            return Trust.NAMED
        if caller.account and value in (caller.account, f"arn:aws:iam::{caller.account}:root"):
            best = Trust.ACCOUNT
    return best


def _statements(document: str | Mapping) -> Iterable[Mapping]:
    parsed = json.loads(document) if isinstance(document, str) else document
    statements = parsed.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else statements


def _concerns(statement: Mapping, action: str, context: Mapping[str, str]) -> bool:
    if "NotAction" in statement:
        if policy_language.matches_any(statement["NotAction"], action, True):
            return False
    elif not policy_language.matches_any(statement.get("Action", ()), action, True):
        return False
    condition = statement.get("Condition")
    return not condition or policy_language.condition_met(condition, context)


def trust(
    document: str | Mapping | None,
    caller: Caller,
    action: str = ASSUME_ROLE,
    context: Mapping[str, str] | None = None,
) -> Trust:
    """What the trust policy ``document`` says about ``caller`` doing ``action``."""
    if not document:
        return Trust.NOT_NAMED
    found = Trust.NOT_NAMED
    for statement in _statements(document):
        if not _concerns(statement, action, context or {}):
            continue
        if "NotPrincipal" in statement:
            named = (
                Trust.NAMED
                if _principal_match(statement["NotPrincipal"], caller) is Trust.NOT_NAMED
                else None
            )
        else:
            named = _principal_match(statement.get("Principal"), caller) or None
        if named is None:
            continue
        if statement.get("Effect") == "Deny":
            return Trust.DENIED
        found = max(found, named)
    return found


def role_trust_document(role_arn: str) -> str | None:
    """The role's trust policy from this process's moto IAM, or None (no such role)."""
    from moto.iam.models import iam_backends

    parts = role_arn.split(":", 5)
    if len(parts) != 6 or not parts[5].startswith("role/"):
        return None
    try:
        role = iam_backends[parts[4]][parts[1]].get_role_by_arn(role_arn)
    except Exception:  # NoSuchEntity: a role that does not exist trusts no one
        return None
    return role.assume_role_policy_document
