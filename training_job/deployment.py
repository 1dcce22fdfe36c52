"""`deploy`: model, endpoint config with data capture, endpoint, through sagemaker-core (SDK v3).

A first deploy creates the endpoint; deploying again to the same name makes a new model and a
new endpoint config (unique, timestamped names) and updates the endpoint in place, so the
endpoint name that the SAM stack holds never changes.

The endpoint's status is read before anything is created. SageMaker refuses UpdateEndpoint
while another operation runs on the endpoint (Creating, Updating, RollingBack, Deleting: a
ValidationException "Cannot update in-progress endpoint"; SystemUpdating: it "cannot be updated
or deleted or re-scaled until it has completed"), and "DeleteEndpoint is the only operation that
can be performed on a failed endpoint" (EndpointStatus in
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html; UpdateEndpoint:
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html). So `deploy`
waits, bounded, for a busy endpoint to settle, refuses a Failed one with the way out, and only
then creates the model and the config; if a later request is refused, it deletes the model and
config it has just created, so a failed deploy leaves nothing behind.

Onto an existing endpoint, `plan_deploy` with `RolloutOptions` makes the update a guarded one
(training_job/rollout.py): blue/green with canary, linear or all-at-once traffic shifting, rolled
back by CloudWatch alarms, after a smoke test of the new config on a temporary endpoint
(training_job/smoke.py). The plan is made with reads only, so `--dry-run` prints it and stops.

With `AutoscalingOptions` (`--autoscale-max-instances`), the variant is registered with
Application Auto Scaling once the endpoint is InService (training_job/autoscaling.py). An update
reads the variant's autoscaling first, whatever the options: on an autoscaled variant the update
keeps the instance count autoscaling reached (RetainAllVariantProperties), and an update that
changes the instance type, which SageMaker refuses on an autoscaled variant, deregisters it
first and registers it again (as it was, or as asked) once the endpoint is InService.

With `ServerlessOptions` (`--serverless`), the variant carries a ServerlessConfig and the config
no DataCaptureConfig (serverless endpoints support neither capture nor instance autoscaling nor
guarded rollouts: training_job/serverless.py refuses them by name); an existing serverless
endpoint is updated with a plain UpdateEndpoint, and an instance-based one is refused, as AWS
does not convert it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scones_core.aws import aws_client, parse_s3_uri, s3_uri
from scones_core.project import (
    ALGORITHM,
    DEFAULT_BUSY_WAIT_SECONDS,
    DEFAULT_ENDPOINT_INSTANCE,
    DEFAULT_PREFIX,
    project_tags,
)
from training_job.aws import sagemaker_core_client
from training_job.exceptions import (
    EndpointBusyError,
    EndpointFailedError,
    SmokeTestFailedError,
    WaitTimeoutError,
)
from training_job.resource_names import versioned_name
from training_job.training import assigned, core_tags

if TYPE_CHECKING:
    from training_job.autoscaling import AutoscalingOptions, AutoscalingPlan
    from training_job.rollout import RolloutOptions, RolloutPlan
    from training_job.serverless import ServerlessOptions
    from training_job.smoke import SmokeResult

VARIANT_NAME = "AllTraffic"
#: The algorithm answers application/json, captured as text. Requests arrive as image/png
#: (or application/x-image), which are in neither list, so SageMaker captures them base64.
CAPTURE_JSON_CONTENT_TYPES = ["application/json"]
#: Statuses in which an operation is already running on the endpoint: UpdateEndpoint waits.
BUSY_STATUSES = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
#: What `settled_endpoint` reports while the endpoint does not exist (deleted while we waited).
GONE = "gone"
_SETTLED = frozenset({"InService", "OutOfService", "Failed", "UpdateRollbackFailed", GONE})


@dataclass(frozen=True)
class DeployConfig:
    model_data: str
    endpoint_name: str
    role_arn: str
    capture_s3_uri: str | None = None  # None: no data capture (a serverless endpoint)
    instance_type: str = DEFAULT_ENDPOINT_INSTANCE
    instance_count: int = 1
    sampling_percentage: int = 100
    serverless: ServerlessOptions | None = None  # a ServerlessConfig instead of instances


@dataclass(frozen=True)
class Deployment:
    endpoint: Any  # sagemaker.core.resources.Endpoint
    endpoint_config_name: str
    model_name: str
    updated: bool  # True when an existing endpoint was updated in place
    session: Any = field(default=None, repr=False, compare=False)  # to clean up after a rollback
    smoke: SmokeResult | None = None  # the smoke test that let a rollout go ahead
    autoscaling: AutoscalingPlan | None = None  # applied by `apply_autoscaling` once InService
    deregistered: bool = False  # the variant's autoscaling was removed before UpdateEndpoint


@dataclass(frozen=True)
class DeployPlan:
    """What `deploy` will do, found with reads only: the endpoint as it is, the name of the model
    and config to make, and for an update with rollout options, the guarded rollout."""

    endpoint: Any | None  # the settled Endpoint resource; None: it will be created
    name: str  # of the new model and endpoint config
    rollout: RolloutPlan | None = None
    autoscaling: AutoscalingPlan | None = None


def default_capture_uri(model_data: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Beside the model: s3://<model bucket>/<prefix>/data-capture (the `--prefix` of stage/train)."""
    bucket, _ = parse_s3_uri(model_data)
    return s3_uri(bucket, prefix, "data-capture")


def model_request(config: DeployConfig, model_name: str, region: str) -> dict[str, Any]:
    from sagemaker.core import image_uris
    from sagemaker.core.shapes import ContainerDefinition

    return {
        "model_name": model_name,
        "primary_container": ContainerDefinition(
            image=image_uris.retrieve(ALGORITHM, region), model_data_url=config.model_data
        ),
        "execution_role_arn": config.role_arn,
        "tags": core_tags(project_tags(config.endpoint_name)),
    }


def endpoint_config_request(config: DeployConfig, config_name: str, model_name: str) -> dict[str, Any]:
    from sagemaker.core.shapes import (
        CaptureContentTypeHeader,
        CaptureOption,
        DataCaptureConfig,
        ProductionVariant,
    )

    return {
        "endpoint_config_name": config_name,
        "production_variants": [
            ProductionVariant(
                variant_name=VARIANT_NAME,
                model_name=model_name,
                instance_type=config.instance_type,
                initial_instance_count=config.instance_count,
                initial_variant_weight=1.0,
            )
        ],
        "data_capture_config": DataCaptureConfig(
            enable_capture=True,
            initial_sampling_percentage=config.sampling_percentage,
            destination_s3_uri=config.capture_s3_uri,
            capture_options=[CaptureOption(capture_mode="Input"), CaptureOption(capture_mode="Output")],
            capture_content_type_header=CaptureContentTypeHeader(
                json_content_types=CAPTURE_JSON_CONTENT_TYPES
            ),
        ),
        "tags": core_tags(project_tags(config.endpoint_name)),
    }


def serverless_endpoint_config_request(
    config: DeployConfig, config_name: str, model_name: str
) -> dict[str, Any]:
    """CreateEndpointConfig as the API takes it: one variant with a ServerlessConfig, no instance
    type or count, no DataCaptureConfig (the serverless guide's "Create an endpoint configuration").

    Sent through the boto3 client, not sagemaker-core: its shape (2.27.0) serializes
    ``memory_size_in_mb`` as ``MemorySizeInMb``, a member the API does not have."""
    variant = {
        "VariantName": VARIANT_NAME,
        "ModelName": model_name,
        "ServerlessConfig": config.serverless.request(),
    }
    return {
        "EndpointConfigName": config_name,
        "ProductionVariants": [variant],
        "Tags": project_tags(config.endpoint_name),
    }


def find_endpoint(session: Any, endpoint_name: str) -> Any | None:
    """The Endpoint resource, or None when there is no endpoint of that name."""
    from botocore.exceptions import ClientError
    from sagemaker.core.resources import Endpoint

    try:
        return Endpoint.get(endpoint_name=endpoint_name, session=session, region=session.region_name)
    except ClientError as error:
        if error.response["Error"].get("Code") == "ValidationException" and "Could not find" in str(error):
            return None
        raise


def settled_endpoint(
    session: Any,
    endpoint_name: str,
    *,
    timeout_seconds: float = DEFAULT_BUSY_WAIT_SECONDS,
    poll_seconds: float = 30,
    **options,
) -> Any | None:
    """The endpoint once no operation runs on it, or None when there is none (or it was deleted
    while we waited). Raises `EndpointBusyError` if it is still busy after `timeout_seconds`."""
    from training_job.waiting import wait_for

    latest = {"endpoint": find_endpoint(session, endpoint_name)}
    first = latest["endpoint"]
    if first is None or first.endpoint_status not in BUSY_STATUSES:
        return first
    busy = first.endpoint_status

    def refresh() -> tuple[str, str]:
        endpoint = find_endpoint(session, endpoint_name)
        latest["endpoint"] = endpoint
        status = GONE if endpoint is None else endpoint.endpoint_status
        return status, status

    if timeout_seconds <= 0:
        raise _busy_error(endpoint_name, busy, 0)
    try:
        wait_for(
            refresh,
            done=_SETTLED,
            what=f"endpoint {endpoint_name} is {busy}; waiting for it to settle before deploying",
            poll_seconds=poll_seconds,
            timeout_seconds=timeout_seconds,
            **options,
        )
    except WaitTimeoutError as error:
        still = latest["endpoint"].endpoint_status if latest["endpoint"] else busy
        raise _busy_error(endpoint_name, still, timeout_seconds) from error
    return latest["endpoint"]


def _busy_error(endpoint_name: str, status: str, waited: float) -> EndpointBusyError:
    return EndpointBusyError(
        f"endpoint {endpoint_name} is {status} (waited {waited:.0f} s) and SageMaker refuses "
        f"UpdateEndpoint until that operation ends; nothing was created. Deploy again once "
        f"`aws sagemaker describe-endpoint --endpoint-name {endpoint_name} --query EndpointStatus` "
        f"says InService, or wait longer with --busy-wait SECONDS"
    )


def plan_deploy(
    session: Any,
    config: DeployConfig,
    rollout: RolloutOptions | None = None,
    *,
    now: float | None = None,
    busy_wait_seconds: float = DEFAULT_BUSY_WAIT_SECONDS,
    poll_seconds: float = 30,
    autoscaling: AutoscalingOptions | None = None,
    **wait_options,
) -> DeployPlan:
    """Look at the endpoint (a busy one is waited for, a Failed one refused) and its autoscaling,
    and, for an update with `rollout` options, plan the guarded rollout. Reads only: nothing is
    created."""
    endpoint = settled_endpoint(
        session,
        config.endpoint_name,
        timeout_seconds=busy_wait_seconds,
        poll_seconds=poll_seconds,
        **wait_options,
    )
    if endpoint is not None and endpoint.endpoint_status == "Failed":
        reason = assigned(endpoint.failure_reason) or "no reason given"
        raise EndpointFailedError(
            f"endpoint {config.endpoint_name} is Failed ({reason}) "
            f"and SageMaker allows only DeleteEndpoint on it; nothing was created: run "
            f"`python -m training_job teardown --endpoint-name {config.endpoint_name}` and deploy again"
        )
    name = versioned_name(config.endpoint_name, now)
    if config.serverless is not None:
        from training_job.serverless import refuse_conversion

        refuse_conversion(endpoint, config.endpoint_name)
        return DeployPlan(endpoint, name)  # a plain create or UpdateEndpoint: no rollout, no autoscaling
    scaling = plan_endpoint_autoscaling(session, config, endpoint, autoscaling)
    planned = None
    if endpoint is not None and rollout is not None:
        planned = plan_rollout(session, config, endpoint, name, rollout, now=now, autoscaling=scaling)
    return DeployPlan(endpoint, name, planned, scaling)


def _variant_instances(endpoint: Any) -> int | None:
    """The live variant's DesiredInstanceCount (else CurrentInstanceCount), as DescribeEndpoint says."""
    for variant in assigned(endpoint.production_variants) or []:
        if variant.variant_name == VARIANT_NAME:
            return assigned(variant.desired_instance_count) or assigned(variant.current_instance_count)
    return None


def _live_instance_type(session: Any, endpoint: Any) -> str | None:
    """The instance type of the variant in the endpoint's current config (DescribeEndpointConfig)."""
    answer = sagemaker_core_client(session).describe_endpoint_config(
        EndpointConfigName=endpoint.endpoint_config_name
    )
    for variant in answer.get("ProductionVariants", []):
        if variant.get("VariantName") == VARIANT_NAME:
            return variant.get("InstanceType")
    return None


def plan_endpoint_autoscaling(
    session: Any, config: DeployConfig, endpoint: Any | None, options: AutoscalingOptions | None
) -> AutoscalingPlan | None:
    """What the deploy does about autoscaling: for a new endpoint, only what `options` ask;
    for an update, also what is registered now (DescribeScalableTargets, DescribeScalingPolicies)
    and, if something is, whether the instance type changes (DescribeEndpointConfig)."""
    from botocore.exceptions import ClientError

    from training_job import autoscaling

    plan = {
        "endpoint_name": config.endpoint_name,
        "variant_name": VARIANT_NAME,
        "instance_count": config.instance_count,
        "options": options,
    }
    if endpoint is None:
        return autoscaling.plan_autoscaling(**plan, existing=None)
    try:
        existing = autoscaling.registered(
            aws_client(session, "application-autoscaling"), config.endpoint_name, VARIANT_NAME
        )
    except ClientError as error:
        if options is not None or error.response["Error"].get("Code") != "AccessDeniedException":
            raise
        note = (
            f"warning: could not read the endpoint's autoscaling ({error.response['Error'].get('Message')}); "
            "the update assumes there is none (an autoscaled variant would restart at --instance-count)"
        )
        return autoscaling.plan_autoscaling(**plan, existing=None, notes=(note,))
    if existing is None:
        return autoscaling.plan_autoscaling(**plan, existing=None)
    live_type = _live_instance_type(session, endpoint)
    change = (live_type, config.instance_type) if live_type and live_type != config.instance_type else None
    return autoscaling.plan_autoscaling(
        **plan, existing=existing, instance_type_change=change, current_instances=_variant_instances(endpoint)
    )


def new_config_detail(config: DeployConfig, retained_instances: int | None = None) -> str:
    if config.serverless is not None:
        return f"model {config.model_data}, {config.serverless.line()}, no data capture"
    count = f"{config.instance_count} x {config.instance_type}"
    if retained_instances is not None:
        count = f"{config.instance_type}, {retained_instances} instance(s) kept from the autoscaled endpoint"
    return (
        f"model {config.model_data}, {count}, data capture "
        f"{config.sampling_percentage}% -> {config.capture_s3_uri}"
    )


def plan_rollout(
    session: Any,
    config: DeployConfig,
    endpoint: Any,
    name: str,
    options: RolloutOptions,
    *,
    now=None,
    autoscaling: AutoscalingPlan | None = None,
) -> RolloutPlan:
    """The traffic shift (checked against the fleet), the rollback alarms with their states, the
    smoke test; every read the plan needs, no write. On an autoscaled variant the new fleet keeps
    the live instance count (RetainAllVariantProperties), so the shift is planned on that."""
    from training_job import rollout, smoke

    live = [variant.variant_name for variant in assigned(endpoint.production_variants) or []]
    rollout.check_variant_names(live, VARIANT_NAME)
    retain = autoscaling is not None and autoscaling.retain_instance_count
    fleet = (_variant_instances(endpoint) or config.instance_count) if retain else config.instance_count
    shift = rollout.traffic_shift(options.traffic, fleet, config.instance_type, retained=retain)
    stack, notes = None, []
    if options.stack_name:
        stack = rollout.stack_alarm(
            aws_client(session, "cloudformation"), options.stack_name, config.endpoint_name
        )
        if stack.name is None:
            notes.append(stack.note)
    else:
        notes.append(f"the stack's {rollout.STACK_ALARM_LOGICAL_ID} is left out (--no-stack-alarm)")
    alarms = rollout.rollback_alarms(
        aws_client(session, "cloudwatch"),
        config.endpoint_name,
        VARIANT_NAME,
        options.latency_alarm_ms,
        stack,
    )
    smoke_plan = None
    if options.smoke is not None:
        smoke_plan = smoke.smoke_plan(
            options.smoke, config.endpoint_name, config.instance_type, config.instance_count, now
        )
    return rollout.RolloutPlan(
        endpoint_name=config.endpoint_name,
        old_config=endpoint.endpoint_config_name,
        new_config=name,
        new_config_detail=new_config_detail(config, fleet if retain else None),
        shift=shift,
        alarms=alarms,
        notes=tuple(notes),
        smoke=smoke_plan,
        retain_variant_properties=retain,
    )


def deploy(
    session: Any,
    config: DeployConfig,
    *,
    plan: DeployPlan | None = None,
    now: float | None = None,
    busy_wait_seconds: float = DEFAULT_BUSY_WAIT_SECONDS,
    poll_seconds: float = 30,
    **wait_options,
) -> Deployment:
    """Create model + endpoint config; create the endpoint, or update it in place if it exists.

    Without a `plan`, the endpoint is looked at first (`plan_deploy` without rollout options: a
    plain update). With a plan that holds a rollout: refuse if a rollback alarm is firing, smoke
    test the new config, create the rollback alarms, then UpdateEndpoint with the
    DeploymentConfig. If a request is refused before SageMaker has taken the endpoint request,
    the model and config made here are deleted again.

    On an autoscaled variant the update keeps its instance count (RetainAllVariantProperties);
    when the instance type changes, its policies are deleted and it is deregistered just before
    UpdateEndpoint (and registered again as it was if SageMaker refuses the update). What is to
    be registered once InService is `apply_autoscaling`'s.
    """
    from sagemaker.core.resources import EndpointConfig, Model

    region = session.region_name
    if plan is None:
        plan = plan_deploy(
            session,
            config,
            now=now,
            busy_wait_seconds=busy_wait_seconds,
            poll_seconds=poll_seconds,
            **wait_options,
        )
    endpoint, name, scaling = plan.endpoint, plan.name, plan.autoscaling
    retain = scaling is not None and scaling.retain_instance_count
    if plan.rollout is not None:
        from training_job.rollout import refuse_firing

        refuse_firing(plan.rollout.alarms)
    created: list[tuple[str, str]] = []
    endpoint_requested = deregistered = False
    try:
        Model.create(**model_request(config, name, region), session=session, region=region)
        created.append(("model", name))
        if config.serverless is not None:
            request = serverless_endpoint_config_request(config, name, name)
            sagemaker_core_client(session).create_endpoint_config(**request)
        else:
            EndpointConfig.create(
                **endpoint_config_request(config, name, name), session=session, region=region
            )
        created.append(("endpoint config", name))
        if endpoint is None:
            endpoint_requested = True
            created_endpoint = _create_endpoint(session, config, name)
            return Deployment(created_endpoint, name, name, False, session, autoscaling=scaling)
        smoke = None
        if plan.rollout is not None:
            smoke = _smoke_test(session, plan.rollout, poll_seconds=poll_seconds, **wait_options)
            _put_alarms(session, plan.rollout)
        if scaling is not None and scaling.deregister_first and scaling.existing is not None:
            deregistered = True  # set first: a removal that fails half-way is restored too
            _deregister_for_update(session, scaling)
        endpoint_requested = True
        if plan.rollout is not None:
            sagemaker_core_client(session).update_endpoint(**plan.rollout.update_request())
            endpoint.refresh()
        else:
            endpoint.endpoint_config_name = name  # UpdateEndpoint sends the resource's config name
            endpoint.update(**({"retain_all_variant_properties": True} if retain else {}))
        return Deployment(endpoint, name, name, True, session, smoke, scaling, deregistered)
    except BaseException as error:
        # Once SageMaker has accepted the endpoint request, the endpoint may be using the config.
        if not endpoint_requested or _refused_endpoint_request(error):
            remove_created(session, created)
            if deregistered:
                _restore_autoscaling(session, scaling)
        raise


def _deregister_for_update(session: Any, scaling: AutoscalingPlan) -> None:
    """Remove the variant's autoscaling before an update that changes its instance type, which
    SageMaker refuses on an autoscaled variant."""
    from training_job import autoscaling

    autoscaling.remove(aws_client(session, "application-autoscaling"), scaling.existing)


def _restore_autoscaling(session: Any, scaling: AutoscalingPlan | None) -> bool:
    """Register the variant again as it was, after an update that did not happen; never raises
    (the update's error is the one that matters). True when it was restored."""
    from botocore.exceptions import BotoCoreError, ClientError

    from training_job import autoscaling

    if scaling is None or scaling.existing is None:
        return False
    try:
        autoscaling.apply(aws_client(session, "application-autoscaling"), scaling.existing.as_requests())
    except (BotoCoreError, ClientError):
        return False
    return True


def apply_autoscaling(deployment: Deployment) -> Any | None:
    """Once the endpoint is InService: RegisterScalableTarget and PutScalingPolicy as planned
    (the options asked, or the autoscaling a type change removed, as it was). Returns the
    `autoscaling.Scaling` sent, or None when there was nothing to send."""
    scaling = deployment.autoscaling
    if scaling is None or scaling.apply is None:
        return None
    from training_job import autoscaling

    autoscaling.apply(aws_client(deployment.session, "application-autoscaling"), scaling.apply)
    return scaling.apply


def _smoke_test(session: Any, plan: RolloutPlan, **wait_options) -> SmokeResult | None:
    """Run the plan's smoke test; raise SmokeTestFailedError below its accuracy."""
    from training_job.smoke import run_smoke_test

    if plan.smoke is None:
        return None
    result = run_smoke_test(
        sagemaker_core_client(session),
        aws_client(session, "sagemaker-runtime"),
        plan.smoke,
        plan.new_config,
        plan.endpoint_name,
        **wait_options,
    )
    if not result.passed:
        raise SmokeTestFailedError(
            f"{result.line()}: the new model is refused and endpoint {plan.endpoint_name} keeps "
            f"{plan.old_config}; the new model and config were deleted"
        )
    return result


def _put_alarms(session: Any, plan: RolloutPlan) -> None:
    from training_job.rollout import put_alarms

    put_alarms(aws_client(session, "cloudwatch"), plan.alarms)


def _refused_endpoint_request(error: BaseException) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(error, ClientError) and error.operation_name in ("CreateEndpoint", "UpdateEndpoint")


def _create_endpoint(session: Any, config: DeployConfig, config_name: str) -> Any:
    from sagemaker.core.resources import Endpoint

    return Endpoint.create(
        endpoint_name=config.endpoint_name,
        endpoint_config_name=config_name,
        tags=core_tags(project_tags()),
        session=session,
        region=session.region_name,
    )


def remove_created(session: Any, created: list[tuple[str, str]]) -> list[str]:
    """Delete what a deploy created (config before model), newest first; return what could not
    be deleted (still tagged, so `teardown` finds it). Never raises: the first error matters."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = sagemaker_core_client(session)
    delete = {
        "endpoint config": lambda name: client.delete_endpoint_config(EndpointConfigName=name),
        "model": lambda name: client.delete_model(ModelName=name),
    }
    left = []
    for kind, name in reversed(created):
        try:
            delete[kind](name)
        except (BotoCoreError, ClientError):
            left.append(f"{kind} {name}")
    return left


def wait_in_service(
    deployment: Deployment, *, poll_seconds: float = 30, timeout_seconds: float | None = None, **options
) -> Any:
    """Wait until InService on the new endpoint config (an update that rolled back is a failure)."""
    from training_job.waiting import wait_for

    endpoint = deployment.endpoint

    def refresh() -> tuple[str, str]:
        endpoint.refresh()
        return endpoint.endpoint_status, endpoint.endpoint_status

    status = wait_for(
        refresh,
        done={"InService", "Failed", "OutOfService", "UpdateRollbackFailed"},
        what=f"endpoint {endpoint.endpoint_name}",
        poll_seconds=poll_seconds,
        timeout_seconds=timeout_seconds,
        **options,
    )
    if status != "InService":
        reason = assigned(endpoint.failure_reason) or "no reason given"
        raise EndpointFailedError(f"endpoint {endpoint.endpoint_name} is {status}: {reason}")
    if endpoint.endpoint_config_name != deployment.endpoint_config_name:
        reason = assigned(endpoint.failure_reason) or "no reason given"
        raise EndpointFailedError(
            f"endpoint {endpoint.endpoint_name} rolled back to {endpoint.endpoint_config_name}: "
            f"{reason}{_remove_rolled_back(deployment)}{_autoscaling_after_rollback(deployment)}"
        )
    return endpoint


def _autoscaling_after_rollback(deployment: Deployment) -> str:
    """The endpoint is back on its old config and instance type: the autoscaling removed for the
    update goes back as it was; say what was done."""
    if not deployment.deregistered or deployment.session is None:
        return ""
    scaling = deployment.autoscaling
    rid = scaling.resource_id if scaling is not None else "the variant"
    if _restore_autoscaling(deployment.session, scaling):
        return f"; registered the autoscaling of {rid} again as it was"
    return f"; could not register the autoscaling of {rid} again: deploy again, or register it by hand"


def _remove_rolled_back(deployment: Deployment) -> str:
    """The endpoint is back on its previous config, so the new config and model serve nothing:
    delete them; say what was done."""
    if deployment.session is None:
        return ""
    created = [("model", deployment.model_name), ("endpoint config", deployment.endpoint_config_name)]
    left = remove_created(deployment.session, created)
    if left:
        return f"; could not delete {', '.join(left)} (teardown will)"
    return f"; deleted the unused endpoint config and model {deployment.endpoint_config_name}"
