"""IAM identity-policy evaluation as AWS does it, on moto's evaluator (``moto.iam.access_control``'s
``IAMPolicy``/``IAMPolicyStatement``, with the gaps ``moto_patches.iam_enforcement`` closes):
an explicit Deny in any policy wins, otherwise any Allow allows, otherwise the request is denied
(IAM User Guide, "Policy evaluation logic":
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).

A ``PolicySet`` holds one principal's policies parsed once, and remembers its decisions per
(action, resource, condition values): the bench's CPU per execution must not grow with IAM."""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_DECISIONS_KEPT = 4096  # per principal; past it the cache starts again (a bench repeats few)


class Decision(enum.Enum):
    ALLOW = "allow"
    IMPLICIT_DENY = "no identity-based policy allows"
    EXPLICIT_DENY = "explicit deny in an identity-based policy"

    @property
    def allowed(self) -> bool:
        return self is Decision.ALLOW


def _moto_policy(document: str) -> Any:
    from moto.iam.access_control import IAMPolicy

    return IAMPolicy(document)


@dataclass
class PolicySet:
    """The identity policies of one principal (their JSON documents), evaluated together."""

    documents: tuple[str, ...]
    root: bool = False  # the account's root user: every action allowed
    _policies: list[Any] = field(init=False, repr=False)
    _decisions: dict[tuple, Decision] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._policies = [_moto_policy(document) for document in self.documents]

    def decide(self, action: str, resource: str, context: Mapping[str, str] | None = None) -> Decision:
        if self.root:
            return Decision.ALLOW
        key = (action.lower(), resource, tuple(sorted((context or {}).items())))
        decision = self._decisions.get(key)
        if decision is None:
            decision = evaluate(self._policies, action, resource, context)
            with self._lock:
                if len(self._decisions) >= _DECISIONS_KEPT:
                    self._decisions.clear()
                self._decisions[key] = decision
        return decision


def evaluate(
    policies: Iterable[Any], action: str, resource: str, context: Mapping[str, str] | None = None
) -> Decision:
    """Deny over Allow over the default deny, across every policy (moto ``IAMPolicy`` objects)."""
    from moto.iam.access_control import PermissionResult

    allowed = False
    for policy in policies:
        result = policy.is_action_permitted(action, resource, None, dict(context or {}))
        if result == PermissionResult.DENIED:
            return Decision.EXPLICIT_DENY
        allowed = allowed or result == PermissionResult.PERMITTED
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY
