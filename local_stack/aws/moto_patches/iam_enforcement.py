"""IAM at call time, on moto's own evaluator and principal lookup (``moto.iam.access_control``).

What moto does, measured on 5.2.5, and what AWS does (IAM User Guide, "Policy evaluation logic":
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

* every non-S3 action is checked on Resource "*" (``call_action`` passes ``_determine_resource``
  or "*"): AWS checks the resource the request names. We compute it (``iam.request_resources``).
* NotResource is ignored: a statement with NotResource and no Resource allows everything. AWS:
  the statement applies to every resource *except* those listed ("IAM JSON policy elements:
  NotResource", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html).
* an unmet Condition turns the statement into a Deny. AWS: a statement whose condition does not
  hold does not apply (the request falls through to the other statements, then the default deny).
* only StringEquals; we implement the operators the template uses (``iam.policy_language``).
* wildcards are an unescaped regex (``.`` any character, no ``?``, actions case-sensitive).
* the refusal says only "User: ... is not authorized to perform: ..."; AWS names the resource
  and the reason, and each protocol has its own error code (``iam.enforcement``).

The whole check is ours from the request onward (``_authenticate_and_authorize_*``): moto's
``IAMRequest`` would also verify the SigV4 signature per request, which we skip (cost; nothing
in the project depends on a bad signature being refused)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from local_stack.aws.iam import enforcement, policy_language, role_sessions
from local_stack.aws.iam.enforcement import Refusal
from local_stack.aws.iam.principals import UnknownAccessKey, forget_all
from local_stack.aws.iam.request_resources import Check, Request, checks, s3_checks
from local_stack.aws.moto_patches.patch import Patch

_STATES_MAY_NOT = (
    "Neither the global service principal states.amazonaws.com, nor the regional one is authorized "
    "to assume the provided role."
)
_LAMBDA_MAY_NOT = "The role defined for the function cannot be assumed by Lambda."
ACCESS_CONTROL = "moto.iam.access_control"
AUTHORIZATION = "moto.core.authorization"
_IAM_WRITES = (
    "Create",
    "Delete",
    "Put",
    "Attach",
    "Detach",
    "Update",
    "Add",
    "Remove",
    "Set",
    "Tag",
    "Untag",
)


def _statement_applies(_original: Callable) -> Callable:
    """``IAMPolicyStatement.is_action_permitted``: Action/NotAction, then Principal (trust
    policies), Resource/NotResource, Condition; a statement that does not apply is NEUTRAL."""
    from moto.iam.access_control import PermissionResult

    def is_action_permitted(
        self: Any,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict | None = None,
    ) -> Any:
        statement = self._statement
        if "NotAction" in statement:
            concerned = not self._check_element_matches("NotAction", action)
        else:
            concerned = self._check_element_matches("Action", action)
        if not concerned or self.is_unknown_principal(statement.get("Principal")):
            return PermissionResult.NEUTRAL
        if principal and not self._check_principal(principal):
            return PermissionResult.NEUTRAL
        if "NotResource" in statement:
            if self._check_element_matches("NotResource", resource):
                return PermissionResult.NEUTRAL
        elif "Resource" in statement and not self._check_element_matches("Resource", resource):
            return PermissionResult.NEUTRAL
        # (neither: a trust policy, whose statements name no resource)
        if not self._check_conditions(incoming_condition_values):
            return PermissionResult.NEUTRAL
        return PermissionResult.DENIED if statement.get("Effect") == "Deny" else PermissionResult.PERMITTED

    return is_action_permitted


def _wildcards_as_aws(_original: Callable) -> Callable:
    """``IAMPolicyStatement._check_element_matches``: IAM's ``*`` and ``?``, actions case-insensitive."""

    def _check_element_matches(self: Any, statement_element: str, value: str) -> bool:
        ignore_case = statement_element in ("Action", "NotAction")
        return policy_language.matches_any(self._statement[statement_element], value, ignore_case)

    return _check_element_matches


def _conditions_as_aws(_original: Callable) -> Callable:
    """``IAMPolicyStatement._check_conditions``: the operators of ``policy_language``."""

    def _check_conditions(self: Any, incoming_condition_values: dict | None) -> bool:
        condition = self._statement.get("Condition")
        if not condition:
            return True
        context = {
            key: (value[0] if isinstance(value, list) and value else value)
            for key, value in (incoming_condition_values or {}).items()
        }
        return policy_language.condition_met(condition, context)

    return _check_conditions


def _credentials(self: Any) -> tuple[str, str, str, str | None] | None:
    """(access key ID, region, signing service, session token) of a signed request, from its
    Authorization header or a presigned URL's query; None for an unsigned request."""
    headers = self.headers
    authorization = headers.get("Authorization") or ""
    scope = authorization.partition("Credential=")[2].partition(",")[0]
    token = headers.get("X-Amz-Security-Token")
    if not scope:
        query = getattr(self, "querystring", {}) or {}
        scope = (query.get("X-Amz-Credential") or [""])[0]
        token = token or (query.get("X-Amz-Security-Token") or [None])[0]
    parts = scope.split("/")
    if len(parts) < 4:
        return None
    return parts[0], parts[2], parts[3], token


def _json_error(
    service: str, message: str, code: str | None = None, headers: dict | None = None
) -> Exception:
    """A JSON protocol's error: the refusal (``code`` None) in the service's shape, or ``code``
    with 400. A query-compatible service's refusal (``enforcement.QUERY_COMPATIBLE``) carries its
    query code in ``x-amzn-query-error`` (put on ``headers``, the response's), which the SDKs
    report, beside the JSON shape's name."""
    from moto.core.exceptions import JsonRESTError

    denied, status = enforcement.JSON_ERRORS.get(service, ("AccessDeniedException", 400))
    if code is not None:
        status = 400
    elif service in enforcement.QUERY_COMPATIBLE and headers is not None:
        headers["x-amzn-query-error"] = f"{denied};Sender"
        code = "AccessDeniedException"
    error = JsonRESTError(code or denied, message)
    error.code = status
    return error


def _speaks_json(self: Any, service: str) -> bool:
    """Whether the request came in a JSON protocol (by its Content-Type, as moto picks its
    serializer), else by the service's usual protocol."""
    content_type = (self.headers.get("Content-Type") or "").lower()
    if content_type.startswith("application/x-amz-json"):
        return True
    if content_type.startswith("application/x-www-form-urlencoded"):
        return False
    return service in enforcement.JSON_ERRORS


def _query_error(code: str, message: str) -> Exception:
    from moto.core.exceptions import _RESTError

    error = _RESTError(code, message)
    error.code = 403
    return error


def _params(self: Any) -> dict:
    body = getattr(self, "body", None)
    if body:
        try:
            parsed = json.loads(body)
        except (TypeError, ValueError):
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    return {name: values[0] for name, values in (self.querystring or {}).items() if values}


def _authorize_normal_action(_original: Callable) -> Callable:
    """``ActionAuthenticatorMixin._authenticate_and_authorize_normal_action``: every call to a
    JSON or query service, checked on the resource it names, refused in its protocol's shape."""

    def _authenticate_and_authorize_normal_action(self: Any, resource: str = "*") -> None:
        if not enforcement.enforced():
            return
        credentials = _credentials(self)
        service = credentials[2] if credentials else "unsigned"
        json_protocol = _speaks_json(self, service)
        if credentials is None:
            message = "Request is missing Authentication Token"
            raise (
                _json_error(service, message)
                if json_protocol
                else _query_error("MissingAuthenticationToken", message)
            )
        access_key_id, region, service, token = credentials
        operation = self._get_action()
        if service in ("iam", "sts") and operation.startswith(_IAM_WRITES):
            forget_all()  # a policy or a role changes: every principal's policies are read again
        if service == "sts" and operation == "GetCallerIdentity":
            return  # allowed to everyone, even under an explicit deny (GetCallerIdentity reference)
        params = _params(self)
        request = Request(service, operation, region, self.current_account, params, self.raw_path)
        try:
            if service == "sts" and operation == "AssumeRole" and params.get("RoleArn"):
                enforcement.authorize_assume_role(
                    access_key_id, token, str(params["RoleArn"]), _assume_role_context(params)
                )
            else:
                enforcement.authorize(access_key_id, token, checks(request))
        except UnknownAccessKey:
            message = "The security token included in the request is invalid."
            if json_protocol:
                raise _json_error(service, message, "UnrecognizedClientException") from None
            raise _query_error("InvalidClientTokenId", message) from None
        except Refusal as refusal:
            raise (
                _json_error(service, refusal.message(), headers=self.response_headers)
                if json_protocol
                else _query_error("AccessDenied", refusal.message())
            ) from None
        refused = _service_may_not_assume(service, operation, region, params)
        if refused is not None:
            raise _json_error(service, refused[1], refused[0])

    return _authenticate_and_authorize_normal_action


def _assume_role_context(params: dict) -> dict[str, str]:
    """The STS condition keys an AssumeRole request carries (Service Authorization Reference, AWS
    STS: sts:RoleSessionName, sts:ExternalId)."""
    keys = {"sts:RoleSessionName": params.get("RoleSessionName"), "sts:ExternalId": params.get("ExternalId")}
    return {key: str(value) for key, value in keys.items() if value}


# (service, operation) -> (role parameter, the service principal, error code, message) where AWS
# checks at creation that the service may assume the role it is given
_ROLE_TAKEN_AT = {
    # CreateStateMachine/UpdateStateMachine: AccessDeniedException (Step Functions' message)
    ("states", "CreateStateMachine"): (
        "roleArn",
        role_sessions.STATES,
        "AccessDeniedException",
        _STATES_MAY_NOT,
    ),
    ("states", "UpdateStateMachine"): (
        "roleArn",
        role_sessions.STATES,
        "AccessDeniedException",
        _STATES_MAY_NOT,
    ),
    # CreateFunction/UpdateFunctionConfiguration: InvalidParameterValueException (Lambda's)
    ("lambda", "CreateFunction"): (
        "Role",
        role_sessions.LAMBDA,
        "InvalidParameterValueException",
        _LAMBDA_MAY_NOT,
    ),
    ("lambda", "UpdateFunctionConfiguration"): (
        "Role",
        role_sessions.LAMBDA,
        "InvalidParameterValueException",
        _LAMBDA_MAY_NOT,
    ),
}


def _service_may_not_assume(
    service: str, operation: str, region: str, params: dict
) -> tuple[str, str] | None:
    """(code, message) when the role a state machine or function is given does not trust its
    service (the service would fail to assume it), else None."""
    taken = _ROLE_TAKEN_AT.get((service, operation))
    if taken is None or not params.get(taken[0]):
        return None
    parameter, principal, code, message = taken
    if role_sessions.service_may_assume(str(params[parameter]), principal, region):
        return None
    return code, message


def _s3_access_denied(message: str) -> Exception:
    from moto.s3.exceptions import S3ClientError

    return S3ClientError("AccessDenied", message)


def _authorize_s3_action(_original: Callable) -> Callable:
    """``ActionAuthenticatorMixin._authenticate_and_authorize_s3_action``: S3's checks
    (``request_resources.s3_checks``), and the 403 for a missing key that a caller without
    s3:ListBucket gets instead of 404 (GetObject API reference, "Permissions": "If you don't
    have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403 Access Denied
    error": https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html)."""

    def _authenticate_and_authorize_s3_action(
        self: Any, bucket_name: str | None = None, key_name: str | None = None
    ) -> None:
        if not enforcement.enforced():
            return
        credentials = _credentials(self)
        if credentials is None:
            raise _s3_access_denied("Access Denied")  # anonymous: no bucket policy here allows it
        access_key_id, _region, _service, token = credentials
        operation = self.data.get("Action", "")
        if bucket_name and operation != "CreateBucket" and not _bucket_exists(self, bucket_name):
            # S3 answers a bucket that exists nowhere with NoSuchBucket, whoever asks: the bucket
            # names the account whose policies decide, and there is none (what tells a name free
            # from a name taken: 404 against 403, HeadBucket API reference,
            # https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html); moto says so
            return
        query = {name: values[0] for name, values in (self.querystring or {}).items() if values}
        found = s3_checks(operation, bucket_name, key_name, query, self.headers)
        try:
            principal = enforcement.authorize(access_key_id, token, found, quoted=True)
        except UnknownAccessKey:
            from moto.s3.exceptions import S3InvalidAccessKeyIdError

            raise S3InvalidAccessKeyIdError() from None
        except Refusal as refusal:
            raise _s3_access_denied(refusal.message()) from None
        if operation == "GetObject" and key_name and bucket_name and _missing(self, bucket_name, key_name):
            listing = Check("s3:ListBucket", f"arn:aws:s3:::{bucket_name}")
            refusal = enforcement.first_refusal(principal, [listing], quoted=True)
            if refusal is not None:
                raise _s3_access_denied(refusal.message())

    return _authenticate_and_authorize_s3_action


def _bucket_exists(self: Any, bucket_name: str) -> bool:
    try:
        return self.backend.get_bucket(bucket_name) is not None
    except Exception:  # MissingBucket
        return False


def _missing(self: Any, bucket_name: str, key_name: str) -> bool:
    try:
        return self.backend.get_object(bucket_name, key_name) is None
    except Exception:  # no such bucket: S3 answers NoSuchBucket as it would
        return False


PATCHES = (
    Patch(
        f"{ACCESS_CONTROL}:IAMPolicyStatement.is_action_permitted",
        ("self", "action", "resource", "principal", "incoming_condition_values"),
        _statement_applies,
    ),
    Patch(
        f"{ACCESS_CONTROL}:IAMPolicyStatement._check_element_matches",
        ("self", "statement_element", "value"),
        _wildcards_as_aws,
    ),
    Patch(
        f"{ACCESS_CONTROL}:IAMPolicyStatement._check_conditions",
        ("self", "incoming_condition_values"),
        _conditions_as_aws,
    ),
    Patch(
        f"{AUTHORIZATION}:ActionAuthenticatorMixin._authenticate_and_authorize_normal_action",
        ("self", "resource"),
        _authorize_normal_action,
    ),
    Patch(
        f"{AUTHORIZATION}:ActionAuthenticatorMixin._authenticate_and_authorize_s3_action",
        ("self", "bucket_name", "key_name"),
        _authorize_s3_action,
    ),
)
