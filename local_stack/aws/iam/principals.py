"""Who is calling: an access key ID (and session token) to the principal's ARN and identity
policies, through moto's own lookup (``moto.iam.access_control.create_access_key``: an IAM
user's key, or the temporary key of an assumed role, whose session token must match).

The stack's process holds IAM and STS. The S3 server and the endpoint run in processes of their
own, so they ask the stack's moto server over a private route (``PRINCIPAL_ROUTE``, answered by
``with_principal_route``): a route, not a file the deploy writes, because principals come and go
after the deploy (every AssumeRole, by a function, a state machine or a person's profile, makes
a new key) and only the live STS knows them. Answers are kept per key: in the stack's process
until IAM changes (``forget_all``), in another process for ``REMOTE_TTL_SECONDS``.

The administrator: the stack's own key (``settings.FAKE_CREDENTIALS``, ``local``) and moto's
documented test keys (``testing``; ``FOOBARKEY``, which ``mock_aws`` puts in the environment)
act as the account's root user, which IAM allows everything; they stand for the deploy, the
tests' fixtures and the AWS services that assume roles."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from local_stack.aws.iam.policy_evaluation import PolicySet

ACCOUNT_ID = "123456789012"  # moto's default account, the local stack's
ADMIN_ACCESS_KEY_IDS = frozenset({"local", "testing", "FOOBARKEY"})
PRINCIPAL_ROUTE = "/_local_stack/iam/principal"
PRINCIPALS_URL_VARIABLE = "LOCAL_STACK_IAM_PRINCIPALS_URL"  # set for the S3 and endpoint processes
REMOTE_TTL_SECONDS = 2.0


class UnknownAccessKey(Exception):
    """No principal has this key (``reason``: InvalidId), or its session token is not the
    one issued with it (InvalidToken)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Principal:
    arn: str
    policies: PolicySet


ROOT = Principal(f"arn:aws:iam::{ACCOUNT_ID}:root", PolicySet((), root=True))

_known: dict[tuple[str, str | None], tuple[Principal, float]] = {}
_serves_iam = False  # this process holds IAM (``with_principal_route``): never ask the route
_lock = threading.Lock()


def forget_all() -> None:
    """IAM or STS changed: look every principal up again, and let every service assume its
    roles again (``role_sessions``)."""
    from local_stack.aws.iam import role_sessions

    with _lock:
        _known.clear()
    role_sessions.forget_all()


def principal_for(access_key_id: str, session_token: str | None, account_id: str = ACCOUNT_ID) -> Principal:
    if access_key_id in ADMIN_ACCESS_KEY_IDS:
        return ROOT
    key = (access_key_id, session_token)
    found = _known.get(key)
    if found is not None and found[1] > time.monotonic():
        return found[0]
    remote = None if _serves_iam else os.environ.get(PRINCIPALS_URL_VARIABLE)
    if remote:
        arn, documents = _ask(remote, access_key_id, session_token)
        expires = time.monotonic() + REMOTE_TTL_SECONDS
    else:
        arn, documents = lookup(access_key_id, session_token, account_id)
        expires = float("inf")
    principal = Principal(arn, PolicySet(tuple(documents)))
    with _lock:
        _known[key] = (principal, expires)
    return principal


def lookup(
    access_key_id: str, session_token: str | None, account_id: str = ACCOUNT_ID
) -> tuple[str, list[str]]:
    """The principal's ARN and policy documents, from this process's moto IAM and STS."""
    from moto.iam.access_control import CreateAccessKeyFailure, create_access_key
    from moto.iam.models import Policy

    headers = {"X-Amz-Security-Token": session_token} if session_token else {}
    try:
        access_key = create_access_key(account_id, "aws", access_key_id, headers)
    except CreateAccessKeyFailure as failure:
        raise UnknownAccessKey(failure.reason) from None
    return access_key.arn, [_document(policy, Policy) for policy in access_key.collect_policies()]


def _document(policy: Any, policy_class: type) -> str:
    if isinstance(policy, policy_class):  # a managed policy: its default version
        return next(version.document for version in policy.versions if version.is_default)
    return policy if isinstance(policy, str) else policy["policy_document"]


def _ask(url: str, access_key_id: str, session_token: str | None) -> tuple[str, list[str]]:
    query = urllib.parse.urlencode({"access_key_id": access_key_id, "session_token": session_token or ""})
    try:
        with urllib.request.urlopen(f"{url}{PRINCIPAL_ROUTE}?{query}", timeout=30) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        raise UnknownAccessKey(json.load(error).get("reason", "InvalidId")) from None
    return answer["arn"], answer["policies"]


def with_principal_route(app: Callable) -> Callable:
    """``app`` (moto's WSGI app) that also answers ``PRINCIPAL_ROUTE`` for the other processes."""
    global _serves_iam
    _serves_iam = True

    def principal_route(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PRINCIPAL_ROUTE:
            return app(environ, start_response)
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        key, token = query.get("access_key_id", [""])[0], query.get("session_token", [""])[0] or None
        try:
            arn, documents = lookup(key, token)
            status, body = "200 OK", {"arn": arn, "policies": documents}
        except UnknownAccessKey as unknown:
            status, body = "404 Not Found", {"reason": unknown.reason}
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    return principal_route
