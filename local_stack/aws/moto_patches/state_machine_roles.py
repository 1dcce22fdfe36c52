"""The state machines' service integrations act as the state machine's role (in the
``interpreter`` group), while IAM is enforced (``aws.iam.enforcement.enforced()``).

What moto does: its interpreter builds every client with the fixed key ``ak`` (which no
principal holds) and ignores the ``StateCredentials`` it passes along; our Lambda tasks run the
registered handler in this process (``lambda_invoke``), where no IAM check happens. What AWS
does: Step Functions assumes the state machine's ``roleArn`` (or a task's ``Credentials.RoleArn``)
and calls each service with that role's temporary credentials ("Step Functions uses the execution
role to call other services": https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html),
so each call is refused what the role does not grant.

Here: the SQS task, the AWS SDK tasks, the Distributed Map's ItemReader and ResultWriter get a
client signed with the role's credentials (``iam.role_sessions``: AssumeRole as
``states.amazonaws.com``, kept until shortly before they expire; one client per role, service
and endpoint); the Lambda task checks ``lambda:InvokeFunction`` as the role before a registered
function runs in this process (an unregistered one goes to moto's server as the role).

A refusal surfaces as Step Functions names it:

* Lambda (``arn:aws:states:::lambda:invoke``): ``Lambda.AWSLambdaException``, cause "<message>
  (Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException; ...)". Step Functions
  names a Lambda error after the SDK's exception class (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html);
  AccessDeniedException is not one of Lambda's modelled errors, so it is the service's base class,
  as AWS reports it (awslabs/aws-deployment-framework#460, aws-samples/lambda-refarch-imagerecognition#19).
  moto named it ``Lambda.AccessDeniedException``.
* SQS (``arn:aws:states:::sqs:sendMessage``): ``SQS.AmazonSQSException``, SQS's service
  exception (moto named every SQS error ``SQS.SdkClientException``, the SDK's client-side one).
* ItemReader and ResultWriter: ``States.ItemReaderFailed`` / ``States.ResultWriterFailed``
  ("Handling errors in Step Functions workflows", error names:
  https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html); moto
  failed the Map with ``States.Runtime``.
* AWS SDK tasks keep moto's naming (``CloudWatch.AccessDeniedException``: service name and error
  name, as the SDK integrations page says).

Enforcement off: every client is moto's as before, nothing checked."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

from local_stack.aws.iam import enforcement, role_sessions
from local_stack.aws.iam.enforcement import Refusal
from local_stack.aws.iam.request_resources import Check
from local_stack.aws.lambda_runtime import invoker_for
from local_stack.aws.moto_patches.patch import ASL, STATE_MAP, Patch

STATE_TASK = f"{ASL}.component.state.exec.state_task"
_CLIENT_SITES = (
    f"{STATE_TASK}.service.state_task_service_sqs",
    f"{STATE_TASK}.service.state_task_service_aws_sdk",
    f"{STATE_MAP}.item_reader.eval.resource_eval_s3",
    f"{STATE_MAP}.result_writer.resource_eval.resource_eval_s3",
)
_ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException"})

# (role, region, service, where the calls go) -> (the credentials' key, the client)
_clients: dict[tuple, tuple[str, Any]] = {}
_lock = threading.Lock()


def _where(service: str) -> tuple:
    """What decides the endpoint moto's (and ``map_runs``'s) factory picks."""
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port

    s3_url = os.environ.get("AWS_ENDPOINT_URL_S3") if service == "s3" else None
    return (botocore_stubber.enabled, moto_server_port(), s3_url)


def role_client(original: Callable, region: str, service: str, state_credentials: Any) -> Any:
    """A client for ``service`` signed with the role's credentials, where ``original`` (the
    factory it replaces) would send its calls."""
    import boto3

    credentials = role_sessions.service_credentials(state_credentials.role_arn, role_sessions.STATES, region)
    key = (credentials.role_arn, region, service, _where(service))
    held = _clients.get(key)
    if held is not None and held[0] == credentials.access_key_id:
        return held[1]
    with _lock:
        held = _clients.get(key)
        if held is None or held[0] != credentials.access_key_id:
            template = original(region, service, state_credentials)
            client = boto3.client(  # the default session, under the lock: sessions are not thread-safe
                service,
                region_name=region,
                endpoint_url=template.meta.endpoint_url,
                config=template.meta.config,
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
            )
            held = _clients[key] = (credentials.access_key_id, client)
        return held[1]


def forget_clients() -> None:
    with _lock:
        _clients.clear()


def _as_the_role(original: Callable) -> Callable:
    """``boto_client_for(region, service, state_credentials)`` as one integration imported it."""

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        if not enforcement.enforced() or getattr(state_credentials, "role_arn", None) is None:
            return original(region, service, state_credentials)
        return role_client(original, region, service, state_credentials)

    return boto_client_for


def _function_arn(function_name: str, region: str, account: str) -> str:
    """Invoke's FunctionName (a name, a partial or full ARN, with or without a qualifier) as
    the unqualified function ARN that lambda:InvokeFunction is checked on."""
    parts = str(function_name).split(":")
    if parts[0] == "arn":
        region, account, name = parts[3], parts[4], parts[6]
    elif len(parts) >= 3 and parts[1] == "function":
        account, name = parts[0], parts[2]
    else:
        name = parts[0]
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def authorize_invoke(credentials: role_sessions.RoleCredentials, function_name: str, region: str) -> None:
    """Raise Lambda's refusal (a ``ClientError`` as boto3 raises it: AccessDeniedException,
    403) unless the role may invoke ``function_name``."""
    from botocore.exceptions import ClientError

    account = credentials.role_arn.split(":")[4]
    check = Check("lambda:InvokeFunction", _function_arn(function_name, region, account))
    try:
        enforcement.authorize(credentials.access_key_id, credentials.session_token, [check])
    except Refusal as refusal:
        code, status = enforcement.JSON_ERRORS["lambda"]
        raise ClientError(
            {
                "Error": {"Code": code, "Message": refusal.message()},
                "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": str(uuid.uuid4())},
            },
            "Invoke",
        ) from None


class _LambdaAsRole:
    """The interpreter's Lambda client while IAM is enforced: a registered function runs in
    this process (``inner``, ``lambda_invoke``'s client) once the role may invoke it; any other
    goes to moto's server signed as the role, which checks it there."""

    def __init__(
        self, inner: Any, as_role: Any, credentials: role_sessions.RoleCredentials, region: str
    ) -> None:
        self._inner, self._as_role, self._credentials, self._region = inner, as_role, credentials, region

    def invoke(self, **parameters: Any) -> dict:
        name = str(parameters["FunctionName"]).split(":function:")[-1].split(":")[0]
        if invoker_for(name) is None:
            return self._as_role.invoke(**parameters)
        authorize_invoke(self._credentials, str(parameters["FunctionName"]), self._region)
        return self._inner.invoke(**parameters)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._as_role, name)


def _lambda_as_the_role(original: Callable) -> Callable:
    """``lambda_eval_utils.boto_client_for`` (``lambda_invoke``'s, one client per service)."""

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        inner = original(region, service, state_credentials)
        if not enforcement.enforced() or getattr(state_credentials, "role_arn", None) is None:
            return inner
        credentials = role_sessions.service_credentials(
            state_credentials.role_arn, role_sessions.STATES, region
        )
        as_role = role_client(lambda r, s, c: inner, region, service, state_credentials)
        return _LambdaAsRole(inner, as_role, credentials, region)

    return boto_client_for


def _lambda_errors_named_as_aws(original: Callable) -> Callable:
    """``StateTaskServiceLambda._error_cause_from_client_error(client_error) -> (error, cause)``:
    an error code Lambda's API does not model (AccessDeniedException) is ``Lambda.AWSLambdaException``."""

    def _error_cause_from_client_error(client_error: Any) -> tuple[str, str]:
        error, cause = original(client_error)
        if client_error.response["Error"]["Code"] not in _lambda_modelled_errors():
            error = "Lambda.AWSLambdaException"
        return error, cause

    return _error_cause_from_client_error


_modelled: frozenset[str] | None = None


def _lambda_modelled_errors() -> frozenset[str]:
    global _modelled
    if _modelled is None:
        import botocore.session

        model = botocore.session.get_session().get_service_model("lambda")
        _modelled = frozenset(shape.name for shape in model.error_shapes)
    return _modelled


def _java_style_cause(service: str, error: Any) -> str:
    """The cause Step Functions writes for a service's error: its message and the Java SDK's
    details (Service, Status Code, Error Code, Request ID), as in AWS's execution histories."""
    response = error.response
    metadata = response.get("ResponseMetadata", {})
    return (
        f"{response['Error'].get('Message', '')} (Service: {service}; "
        f"Status Code: {metadata.get('HTTPStatusCode')}; Error Code: {response['Error'].get('Code')}; "
        f"Request ID: {metadata.get('RequestId')}; Proxy: null)"
    )


def _sqs_refusal_named_as_aws(original: Callable) -> Callable:
    """``StateTaskServiceSqs._from_error(self, env, ex)``: SQS's AccessDenied is the service's
    exception, ``SQS.AmazonSQSException``, not the client-side ``SQS.SdkClientException``."""
    from botocore.exceptions import ClientError

    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        if not (isinstance(ex, ClientError) and ex.response["Error"].get("Code") in _ACCESS_DENIED):
            return original(self, env, ex)
        from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
        from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
            CustomErrorName,
        )
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
        from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

        error = "SQS.AmazonSQSException"
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(
                taskFailedEventDetails=TaskFailedEventDetails(
                    error=error,
                    cause=_java_style_cause("AmazonSQS", ex),
                    resource=self._get_sfn_resource(),
                    resourceType=self._get_sfn_resource_type(),
                )
            ),
        )

    return _from_error


def _map_io_fails_as(error_type: str) -> Callable[[Callable], Callable]:
    """``ItemReader._eval_body`` / ``ResultWriter._eval_body``: an S3 error fails the Map state
    with ``States.ItemReaderFailed`` / ``States.ResultWriterFailed``."""

    def make(original: Callable) -> Callable:
        from botocore.exceptions import ClientError

        def _eval_body(self: Any, env: Any) -> None:
            try:
                original(self, env)
            except ClientError as error:
                raise _map_failure(env, error_type, _java_style_cause("Amazon S3", error)) from None

        return _eval_body

    return make


def _map_failure(env: Any, error_type: str, cause: str) -> Exception:
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    error = StatesErrorName(typ=getattr(StatesErrorNameType, error_type))
    return FailureEventException(
        FailureEvent(
            env=env,
            error_name=error,
            event_type=HistoryEventType.MapStateFailed,
            event_details=EventDetails(
                executionFailedEventDetails={"error": error.error_name, "cause": cause}
            ),
        )
    )


PATCHES = (
    *(
        Patch(f"{site}:boto_client_for", ("region", "service", "state_credentials"), _as_the_role)
        for site in _CLIENT_SITES
    ),
    Patch(
        f"{STATE_TASK}.lambda_eval_utils:boto_client_for",
        ("region", "service", "state_credentials"),
        _lambda_as_the_role,
    ),
    Patch(
        f"{STATE_TASK}.service.state_task_service_lambda:StateTaskServiceLambda._error_cause_from_client_error",
        ("client_error",),
        _lambda_errors_named_as_aws,
    ),
    Patch(
        f"{STATE_TASK}.service.state_task_service_sqs:StateTaskServiceSqs._from_error",
        ("self", "env", "ex"),
        _sqs_refusal_named_as_aws,
    ),
    Patch(
        f"{STATE_MAP}.item_reader.item_reader_decl:ItemReader._eval_body",
        ("self", "env"),
        _map_io_fails_as("StatesItemReaderFailed"),
    ),
    Patch(
        f"{STATE_MAP}.result_writer.result_writer_decl:ResultWriter._eval_body",
        ("self", "env"),
        _map_io_fails_as("StatesResultWriterFailed"),
    ),
)
