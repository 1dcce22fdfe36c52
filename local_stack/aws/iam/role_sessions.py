"""The temporary credentials an AWS service holds while it acts as a role: Step Functions for a
state machine's ``roleArn`` (its service integrations call AWS as that role), Lambda for a
function's execution role, EventBridge for a rule target's ``RoleArn``.

The service assumes the role only if the role's trust policy names the service
(``trust_policy``); otherwise ``RoleNotAssumable``. The credentials are kept per (role, service)
and assumed again shortly before they expire, as the SDKs' refreshable credentials do: one
AssumeRole per role per hour, not one per call. They come from this process's moto STS, the
process that serves IAM and STS (the stack's, or ``mock_aws``'s)."""

from __future__ import annotations

import datetime
import secrets
import string
import threading
from dataclasses import dataclass

from local_stack.aws.iam.trust_policy import Caller, Trust, role_trust_document, trust

SESSION_SECONDS = 3600  # AssumeRole's default DurationSeconds
REFRESH_BEFORE = datetime.timedelta(minutes=5)  # assumed again this long before expiry
STATES = "states.amazonaws.com"
LAMBDA = "lambda.amazonaws.com"
EVENTS = "events.amazonaws.com"


class RoleNotAssumable(Exception):
    """The role's trust policy does not let the service assume it (or the role does not exist)."""

    def __init__(self, role_arn: str, service: str) -> None:
        self.role_arn, self.service = role_arn, service
        super().__init__(f"{service} may not assume {role_arn}: its trust policy does not name {service}")


@dataclass(frozen=True)
class RoleCredentials:
    role_arn: str
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime.datetime

    def fresh(self, now: datetime.datetime) -> bool:
        return now < self.expiration - REFRESH_BEFORE

    def environment(self) -> dict[str, str]:
        """The three variables Lambda sets from them."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


_held: dict[tuple[str, str], RoleCredentials] = {}
_lock = threading.Lock()


def service_may_assume(role_arn: str, service: str, region: str | None = None) -> bool:
    """Whether the role's trust policy names ``service`` (and denies it nothing)."""
    return trust(role_trust_document(role_arn), Caller.for_service(service, region)) is Trust.NAMED


def _session_name() -> str:
    # Step Functions names its sessions with 32 random letters (seen in AWS's refusals:
    # "assumed-role/<role>/ahHmwmWNKuHXeWtEOlzRZuOFiwpoCyKH")
    return "".join(secrets.choice(string.ascii_letters) for _ in range(32))


def _assume(role_arn: str, region: str, session_name: str) -> RoleCredentials:
    from moto.sts.models import sts_backends

    partition, account = role_arn.split(":")[1], role_arn.split(":")[4]
    assumed = sts_backends[account][partition].assume_role(
        region_name=region,
        role_session_name=session_name,
        role_arn=role_arn,
        policy=None,
        duration=SESSION_SECONDS,
        external_id=None,
    )
    expiration = assumed.expiration
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=datetime.UTC)
    return RoleCredentials(
        role_arn, assumed.access_key_id, assumed.secret_access_key, assumed.session_token, expiration
    )


def service_credentials(
    role_arn: str, service: str, region: str, session_name: str | None = None
) -> RoleCredentials:
    """``service``'s credentials for ``role_arn``: the ones held while fresh, else a new
    AssumeRole (``RoleNotAssumable`` when the trust policy does not name the service)."""
    key = (role_arn, service)
    now = datetime.datetime.now(datetime.UTC)
    held = _held.get(key)
    if held is not None and held.fresh(now):
        return held
    with _lock:
        held = _held.get(key)
        if held is not None and held.fresh(now):
            return held
        if not service_may_assume(role_arn, service, region):
            raise RoleNotAssumable(role_arn, service)
        held = _held[key] = _assume(role_arn, region, session_name or _session_name())
        return held


def forget_all() -> None:
    """Every service assumes its roles again (a test's new moto, a role's trust changed)."""
    with _lock:
        _held.clear()
