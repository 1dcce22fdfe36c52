"""Enforcement at call time: the switch, the decision for one request, and the refusal in the
shape AWS answers it (IAM User Guide, "Troubleshoot access denied error messages":
https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from local_stack.aws.iam.policy_evaluation import Decision
from local_stack.aws.iam.principals import Principal, UnknownAccessKey, principal_for
from local_stack.aws.iam.request_resources import Check, Request, checks
from local_stack.aws.iam.trust_policy import ASSUME_ROLE, Caller, Trust, role_trust_document, trust

# The one switch: on by default (every role of the template exists in the local IAM, every
# principal acts as its own), in the tests too. ``up --no-iam`` and LOCAL_STACK_IAM=off turn it
# off, for debugging; =on turns it on.
ENFORCED_BY_DEFAULT = True
SWITCH_VARIABLE = "LOCAL_STACK_IAM"


def enforced() -> bool:
    """Read per request (a dict lookup), so a test or ``up`` can turn it on and off."""
    value = os.environ.get(SWITCH_VARIABLE, "").strip().lower()
    if value in ("on", "1", "true"):
        return True
    if value in ("off", "0", "false"):
        return False
    return ENFORCED_BY_DEFAULT


@dataclass(frozen=True)
class Refusal(Exception):
    """A request IAM refuses: who, what, on what, and why."""

    principal_arn: str
    action: str
    resource: str
    decision: Decision
    quoted: bool = False  # S3 writes the resource in quotes
    policy_type: str = "identity-based"  # or "resource-based": a role's trust policy

    def message(self) -> str:
        resource = f'"{self.resource}"' if self.quoted else self.resource
        if self.decision is Decision.EXPLICIT_DENY:
            article = "an" if self.policy_type.startswith("identity") else "a"
            why = f"with an explicit deny in {article} {self.policy_type} policy"
        else:
            why = f"because no {self.policy_type} policy allows the {self.action} action"
        who = f"User: {self.principal_arn} is not authorized to perform: {self.action}"
        return f"{who} on resource: {resource} {why}"

    def __str__(self) -> str:
        return self.message()


def first_refusal(principal: Principal, found: Iterable[Check], quoted: bool = False) -> Refusal | None:
    """The first of ``found`` that ``principal``'s policies do not allow, or None."""
    for check in found:
        decision = principal.policies.decide(check.action, check.resource, check.context)
        if not decision.allowed:
            return Refusal(principal.arn, check.action, check.resource, decision, quoted)
    return None


def authorize(
    access_key_id: str, session_token: str | None, found: Iterable[Check], quoted: bool = False
) -> Principal:
    """Raise ``Refusal`` unless the key's principal may make every check (``UnknownAccessKey``
    for a key no one holds); return the principal."""
    principal = principal_for(access_key_id, session_token)
    refusal = first_refusal(principal, found, quoted)
    if refusal is not None:
        raise refusal
    return principal


def authorize_assume_role(
    access_key_id: str, session_token: str | None, role_arn: str, context: Mapping[str, str] | None = None
) -> Principal:
    """sts:AssumeRole as IAM decides it (``trust_policy``): an explicit Deny in the caller's
    identity policies or in the role's trust policy refuses; a trust policy naming the caller
    allows; one naming the account allows if the caller's identity policies do; else refused
    (no resource-based policy allows it). The administrator's keys (the account's root) may."""
    principal = principal_for(access_key_id, session_token)
    if principal.policies.root:
        return principal
    identity = principal.policies.decide(ASSUME_ROLE, role_arn, context)
    said = trust(role_trust_document(role_arn), Caller.for_principal(principal.arn), ASSUME_ROLE, context)
    if identity is Decision.EXPLICIT_DENY:
        raise Refusal(principal.arn, ASSUME_ROLE, role_arn, identity)
    if said is Trust.DENIED:
        raise Refusal(
            principal.arn, ASSUME_ROLE, role_arn, Decision.EXPLICIT_DENY, policy_type="resource-based"
        )
    if said is Trust.NAMED or (said is Trust.ACCOUNT and identity.allowed):
        return principal
    if said is Trust.ACCOUNT:
        raise Refusal(principal.arn, ASSUME_ROLE, role_arn, identity)
    raise Refusal(principal.arn, ASSUME_ROLE, role_arn, Decision.IMPLICIT_DENY, policy_type="resource-based")


# service (credential scope) -> (error code, HTTP status) of an AccessDenied for JSON protocols;
# the query protocols (IAM, STS) and S3 answer AccessDenied, 403, in XML.
JSON_ERRORS = {
    "lambda": ("AccessDeniedException", 403),  # Lambda Invoke API reference, Errors
    "states": ("AccessDeniedException", 400),  # Step Functions Common Errors
    "logs": ("AccessDeniedException", 400),
    "events": ("AccessDeniedException", 400),
    "sagemaker": ("AccessDeniedException", 400),  # SageMaker Common Errors
    "sqs": ("AccessDenied", 403),  # SQS's query-compatible code (x-amzn-query-error)
    "monitoring": ("AccessDenied", 403),  # CloudWatch's, the same way
}
# Services that moved from the query protocol to JSON keeping their query error codes (the
# awsQueryCompatible trait: the JSON error carries ``x-amzn-query-error: <code>;<fault>``, and
# the SDKs report that code: https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#aws-protocols-awsquerycompatible-trait).
# botocore speaks JSON to both; a client on the query protocol gets the XML error.
QUERY_COMPATIBLE = frozenset({"sqs", "monitoring"})


def endpoint_refusal(
    headers: Mapping[str, str], endpoint_name: str, region: str, account: str
) -> tuple[str, int, str] | None:
    """For the local SageMaker Runtime: (code, status, message) refusing an InvokeEndpoint the
    caller's policies do not allow, or None (also while enforcement is off)."""
    if not enforced():
        return None
    scope = (headers.get("Authorization") or "").partition("Credential=")[2].partition(",")[0].split("/")
    if len(scope) < 4:
        return ("MissingAuthenticationTokenException", 403, "Missing Authentication Token")
    request = Request(
        "sagemaker", "InvokeEndpoint", region, account, {}, f"/endpoints/{endpoint_name}/invocations"
    )
    try:
        authorize(scope[0], headers.get("X-Amz-Security-Token"), checks(request))
    except UnknownAccessKey:
        return ("UnrecognizedClientException", 400, "The security token included in the request is invalid.")
    except Refusal as refusal:
        code, status = JSON_ERRORS["sagemaker"]
        return (code, status, refusal.message())
    return None
