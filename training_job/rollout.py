"""Safe rollouts onto an existing endpoint: the DeploymentConfig, the rollback alarms, the plan.

SageMaker's deployment guardrails
(https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html): an
UpdateEndpoint with a `BlueGreenUpdatePolicy` provisions the new (green) fleet beside the old
(blue) one, turns traffic on it in steps (CANARY: one small step, then the rest; LINEAR: equal
steps; ALL_AT_ONCE), bakes `WaitIntervalInSeconds` after each step while it watches the
`AutoRollbackConfiguration` alarms, and sends all traffic back to the blue fleet if one of them
is in ALARM. The limits below are the API reference's (API_TrafficRoutingConfig,
API_BlueGreenUpdatePolicy, API_AutoRollbackConfig) and botocore's service model. botocore
checks names, types, required members and minimums, but neither maximums nor enums, so this
module checks those itself before anything is sent:

- WaitIntervalInSeconds 0..3600; MaximumExecutionTimeoutInSeconds 600..28800 and "larger than
  the total waiting time"; at most 10 alarms;
- CanarySize "must be less than or equal to 50% of the variant's total instance count",
  LinearStepSize "must be 10-50%" of it, so neither can split a fleet of one instance;
- the new config keeps the old variant name, and endpoints on Inf1 instances "fall back to
  using a blue/green deployment with all at once traffic shifting and no final baking period"
  (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html).

Traffic moves by instance: a canary of one instance in a fleet of two takes about half of the
requests. So each step is sent as an INSTANCE_COUNT computed here, and the plan says what share
of the requests it takes, rather than sending a percentage for SageMaker to round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scones_core.project import DEFAULT_STACK_NAME, PROJECT_TAG_VALUE, project_tags
from training_job.exceptions import RollbackAlarmFiringError, UsageError

if TYPE_CHECKING:
    from training_job.smoke import SmokeOptions, SmokePlan

#: --traffic -> TrafficRoutingConfig.Type
TRAFFIC_TYPES = {"canary": "CANARY", "linear": "LINEAR", "all-at-once": "ALL_AT_ONCE"}
DEFAULT_TRAFFIC = "canary"
DEFAULT_CANARY_PERCENT = 10
DEFAULT_LINEAR_PERCENT = 25
#: Ten minutes of baking per step: long enough for the 1-minute alarms below to see two
#: periods of a canary's traffic, short enough that a canary rollout ends within the hour.
DEFAULT_BAKE_SECONDS = 600
MAX_WAIT_SECONDS = 3600  # WaitIntervalInSeconds
MIN_EXECUTION_TIMEOUT_SECONDS, MAX_EXECUTION_TIMEOUT_SECONDS = 600, 28800
#: Added to the baking periods for MaximumExecutionTimeoutInSeconds: provisioning the green fleet
#: takes several minutes per deploy; thirty leave room before SageMaker gives up and rolls back.
PROVISIONING_SECONDS = 1800
MAX_ROLLBACK_ALARMS = 10  # AutoRollbackConfig.Alarms

#: The endpoint's own rollback alarms, one datapoint a minute, two in a row to trip.
ALARM_NAMESPACE = "AWS/SageMaker"
ALARM_PERIOD_SECONDS = 60
ALARM_PERIODS = 2
#: Invocation5XXErrors is 1 for a request answered 5xx and 0 otherwise, so its Average is the
#: share of failed requests (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html).
ERROR_SHARE_THRESHOLD = 0.05
#: ModelLatency is in microseconds. One second is many times what a ResNet-18 at 224x224 should
#: need on an ml.m5.large (not measured on AWS), so the alarm catches a model that hangs or
#: thrashes, not ordinary jitter; --latency-alarm-ms sets it.
DEFAULT_LATENCY_ALARM_MS = 1000
#: template.yaml's alarm on the share of images refused as low-confidence.
STACK_ALARM_LOGICAL_ID = "LowConfidenceShareAlarm"
#: Every alarm `deploy` creates starts with this, so `teardown` lists them by prefix.
ROLLBACK_ALARM_PREFIX = f"{PROJECT_TAG_VALUE}-rollback-"


# --- traffic ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrafficPolicy:
    """What the person asked for (`--traffic`, `--canary-percent`, `--linear-percent`, `--bake-seconds`)."""

    kind: str = DEFAULT_TRAFFIC  # a key of TRAFFIC_TYPES
    canary_percent: int = DEFAULT_CANARY_PERCENT
    linear_percent: int = DEFAULT_LINEAR_PERCENT
    bake_seconds: int = DEFAULT_BAKE_SECONDS


@dataclass(frozen=True)
class TrafficShift:
    """The policy on a fleet of `instance_count`: instances turned on per step, and the bakes."""

    type: str  # CANARY | LINEAR | ALL_AT_ONCE
    instance_count: int
    step_instances: int
    bake_seconds: int

    @property
    def bakes(self) -> int:
        """Baking periods: after the canary and after the rest; after each linear step; once."""
        if self.type == "CANARY":
            return 2
        if self.type == "LINEAR":
            return math.ceil(self.instance_count / self.step_instances)
        return 1

    @property
    def timeout_seconds(self) -> int:
        return max(MIN_EXECUTION_TIMEOUT_SECONDS, self.bakes * self.bake_seconds + PROVISIONING_SECONDS)


def _step_instances(instance_count: int, percent: int, *, least: int) -> int:
    """The instances per step nearest below `percent` of the fleet, kept between `least` and
    half of the fleet (the API's bounds)."""
    return min(instance_count // 2, max(least, instance_count * percent // 100))


def traffic_shift(
    policy: TrafficPolicy, instance_count: int, instance_type: str, *, retained: bool = False
) -> TrafficShift:
    """Check the policy against the fleet and the API's limits; raise UsageError when they clash.
    `retained`: the fleet is the autoscaled endpoint's live count, which the update keeps."""
    kind = TRAFFIC_TYPES.get(policy.kind)
    if kind is None:
        raise UsageError(f"--traffic must be one of {', '.join(TRAFFIC_TYPES)}, got {policy.kind!r}")
    if not 0 <= policy.bake_seconds <= MAX_WAIT_SECONDS:
        raise UsageError(f"--bake-seconds must be 0..{MAX_WAIT_SECONDS}, got {policy.bake_seconds}")
    if kind == "ALL_AT_ONCE":
        return TrafficShift(kind, instance_count, instance_count, policy.bake_seconds)
    if instance_type.startswith("ml.inf1."):
        raise UsageError(
            f"SageMaker shifts traffic all at once on Inf1 instances ({instance_type}), whatever is "
            f"asked: pass --traffic all-at-once"
        )
    if instance_count < 2 and retained:
        raise UsageError(
            f"--traffic {policy.kind} needs at least 2 instances (SageMaker turns traffic on by the "
            f"instance, at most half of the fleet per step) and the autoscaled endpoint has "
            f"{instance_count} now, which the update keeps (RetainAllVariantProperties): pass "
            f"--traffic all-at-once, or deploy again once autoscaling has 2 or more instances running"
        )
    if instance_count < 2:
        raise UsageError(
            f"--traffic {policy.kind} needs at least 2 instances (SageMaker turns traffic on by the "
            f"instance, at most half of the fleet per step) and the new config has {instance_count}: "
            f"pass --instance-count 2 (the endpoint then costs twice as much) or --traffic all-at-once"
        )
    if kind == "CANARY":
        if not 1 <= policy.canary_percent <= 50:
            raise UsageError(f"--canary-percent must be 1..50, got {policy.canary_percent}")
        step = _step_instances(instance_count, policy.canary_percent, least=1)
    else:
        if not 10 <= policy.linear_percent <= 50:
            raise UsageError(f"--linear-percent must be 10..50, got {policy.linear_percent}")
        step = _step_instances(instance_count, policy.linear_percent, least=math.ceil(instance_count / 10))
    shift = TrafficShift(kind, instance_count, step, policy.bake_seconds)
    if shift.bakes * shift.bake_seconds + PROVISIONING_SECONDS > MAX_EXECUTION_TIMEOUT_SECONDS:
        raise UsageError(
            f"{shift.bakes} baking periods of {shift.bake_seconds} s do not fit SageMaker's longest "
            f"deployment ({MAX_EXECUTION_TIMEOUT_SECONDS} s): pass a smaller --bake-seconds"
        )
    return shift


def traffic_routing_config(shift: TrafficShift) -> dict[str, Any]:
    routing: dict[str, Any] = {"Type": shift.type, "WaitIntervalInSeconds": shift.bake_seconds}
    size = {"Type": "INSTANCE_COUNT", "Value": shift.step_instances}
    if shift.type == "CANARY":
        routing["CanarySize"] = size
    elif shift.type == "LINEAR":
        routing["LinearStepSize"] = size
    return routing


def deployment_config(shift: TrafficShift, alarm_names: list[str]) -> dict[str, Any]:
    """UpdateEndpoint's DeploymentConfig: blue/green with the shift, rolled back on the alarms."""
    if not 1 <= len(alarm_names) <= MAX_ROLLBACK_ALARMS:
        raise ValueError(
            f"AutoRollbackConfiguration takes 1..{MAX_ROLLBACK_ALARMS} alarms, got {alarm_names}"
        )
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": traffic_routing_config(shift),
            "MaximumExecutionTimeoutInSeconds": shift.timeout_seconds,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in alarm_names]},
    }


def describe_shift(shift: TrafficShift) -> str:
    """One line for the plan: the steps, the share of requests each takes, the bakes."""
    bake = f"{shift.bake_seconds} s"
    n = shift.instance_count
    if shift.type == "ALL_AT_ONCE":
        return f"ALL_AT_ONCE: all {n} instance(s) at once, then a {bake} bake with the alarms watched"
    share = f"about {100 * shift.step_instances // n} % of requests"
    if shift.type == "CANARY":
        return (
            f"CANARY: {shift.step_instances} of {n} instances first ({share}) for {bake}, "
            f"then all of them for another {bake}"
        )
    return (
        f"LINEAR: {shift.bakes} steps of {shift.step_instances} of {n} instances ({share} each), {bake} each"
    )


# --- alarms -------------------------------------------------------------------------------


def rollback_alarm_name(endpoint_name: str, metric: str) -> str:
    return f"{ROLLBACK_ALARM_PREFIX}{endpoint_name}-{metric}"


def _endpoint_alarm(endpoint_name: str, variant_name: str, metric: str, why: str) -> dict[str, Any]:
    return {
        "AlarmName": rollback_alarm_name(endpoint_name, metric),
        "AlarmDescription": f"Rolls back a `training_job deploy` to endpoint {endpoint_name}: {why}. "
        "Deleted by `python -m training_job teardown`.",
        "ActionsEnabled": False,  # SageMaker reads its state; nobody needs to be paged
        "Namespace": ALARM_NAMESPACE,
        "MetricName": metric,
        "Dimensions": [
            {"Name": "EndpointName", "Value": endpoint_name},
            {"Name": "VariantName", "Value": variant_name},
        ],
        "Period": ALARM_PERIOD_SECONDS,
        "EvaluationPeriods": ALARM_PERIODS,
        "DatapointsToAlarm": ALARM_PERIODS,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",  # no requests in a minute is no evidence of harm
        "Tags": project_tags(endpoint_name),
    }


def error_alarm_request(endpoint_name: str, variant_name: str) -> dict[str, Any]:
    """PutMetricAlarm: more than 5 % of requests answered 5xx, two minutes running."""
    why = f"more than {ERROR_SHARE_THRESHOLD:.0%} of requests answered 5xx, {ALARM_PERIODS} minutes running"
    return _endpoint_alarm(endpoint_name, variant_name, "Invocation5XXErrors", why) | {
        "Statistic": "Average",
        "Threshold": ERROR_SHARE_THRESHOLD,
    }


def latency_alarm_request(endpoint_name: str, variant_name: str, latency_ms: int) -> dict[str, Any]:
    """PutMetricAlarm: p90 ModelLatency (microseconds) above `latency_ms`, two minutes running."""
    why = f"p90 ModelLatency above {latency_ms} ms, {ALARM_PERIODS} minutes running"
    return _endpoint_alarm(endpoint_name, variant_name, "ModelLatency", why) | {
        "ExtendedStatistic": "p90",
        "Threshold": float(latency_ms * 1000),
    }


@dataclass(frozen=True)
class RollbackAlarm:
    name: str
    source: str  # what it watches, for the plan
    state: str | None  # OK | ALARM | INSUFFICIENT_DATA; None: it does not exist yet
    request: dict[str, Any] | None = None  # PutMetricAlarm, for the alarms `deploy` owns


@dataclass(frozen=True)
class StackAlarm:
    name: str | None  # None: left out, `note` says why
    note: str


def stack_alarm(cloudformation: Any, stack_name: str, endpoint_name: str) -> StackAlarm:
    """The stack's LowConfidenceShareAlarm, if the stack exists and serves this endpoint."""
    from botocore.exceptions import ClientError

    from scones_core.stack_outputs import StackNotFound, read_stack

    left_out = f"the stack's {STACK_ALARM_LOGICAL_ID} is left out"
    try:
        serves = read_stack(cloudformation, stack_name).parameters.get("EndpointName")
    except StackNotFound as error:
        return StackAlarm(None, f"warning: {error}: {left_out}")
    if serves != endpoint_name:
        return StackAlarm(
            None, f"stack {stack_name} serves endpoint {serves}, not {endpoint_name}: {left_out}"
        )
    try:
        detail = cloudformation.describe_stack_resource(
            StackName=stack_name, LogicalResourceId=STACK_ALARM_LOGICAL_ID
        )["StackResourceDetail"]
    except ClientError as error:
        if "does not exist" in str(error):
            return StackAlarm(None, f"warning: {error.response['Error'].get('Message')}: {left_out}")
        raise
    name = detail.get("PhysicalResourceId")
    if not name:
        return StackAlarm(
            None, f"stack {stack_name} has not created {STACK_ALARM_LOGICAL_ID} yet: {left_out}"
        )
    return StackAlarm(name, f"{STACK_ALARM_LOGICAL_ID} of stack {stack_name}")


def alarm_states(cloudwatch: Any, names: list[str]) -> dict[str, str]:
    """Name -> StateValue of those of `names` that exist (at most 100 names, as DescribeAlarms takes)."""
    answer = cloudwatch.describe_alarms(AlarmNames=names)
    alarms = answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", [])
    return {alarm["AlarmName"]: alarm["StateValue"] for alarm in alarms}


def rollback_alarms(
    cloudwatch: Any, endpoint_name: str, variant_name: str, latency_ms: int, stack: StackAlarm | None
) -> tuple[RollbackAlarm, ...]:
    """The endpoint's two alarms (to create or update) and the stack's, with their states now."""
    owned = [
        error_alarm_request(endpoint_name, variant_name),
        latency_alarm_request(endpoint_name, variant_name, latency_ms),
    ]
    names = [request["AlarmName"] for request in owned] + ([stack.name] if stack and stack.name else [])
    states = alarm_states(cloudwatch, names)
    alarms = [
        RollbackAlarm(
            request["AlarmName"],
            f"{request['MetricName']} of {endpoint_name}",
            states.get(request["AlarmName"]),
            request,
        )
        for request in owned
    ]
    if stack and stack.name:
        alarms.append(RollbackAlarm(stack.name, stack.note, states.get(stack.name)))
    return tuple(alarms)


def refuse_firing(alarms: tuple[RollbackAlarm, ...]) -> None:
    """SageMaker watches the alarms' state while it bakes: one in ALARM already would roll the
    update back at the first bake, after the green fleet was paid for. Refuse before that."""
    firing = [alarm.name for alarm in alarms if alarm.state == "ALARM"]
    if firing:
        raise RollbackAlarmFiringError(
            f"rollback alarm(s) in ALARM now: {', '.join(firing)}; SageMaker would roll the update "
            "back at once, so nothing was created. Deploy again once they are OK, or leave the "
            "stack's alarm out with --no-stack-alarm"
        )


def put_alarms(cloudwatch: Any, alarms: tuple[RollbackAlarm, ...]) -> list[str]:
    """Create or update the alarms `deploy` owns (PutMetricAlarm ignores Tags on an update: they
    stay as created); return their names."""
    done = []
    for alarm in alarms:
        if alarm.request is not None:
            cloudwatch.put_metric_alarm(**alarm.request)
            done.append(alarm.name)
    return done


# --- the plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RolloutOptions:
    """The rollout part of `deploy`'s options."""

    traffic: TrafficPolicy = field(default_factory=TrafficPolicy)
    latency_alarm_ms: int = DEFAULT_LATENCY_ALARM_MS
    stack_name: str | None = DEFAULT_STACK_NAME  # None: leave the stack's alarm out
    smoke: SmokeOptions | None = None  # None: no smoke test


@dataclass(frozen=True)
class RolloutPlan:
    endpoint_name: str
    old_config: str
    new_config: str
    new_config_detail: str
    shift: TrafficShift
    alarms: tuple[RollbackAlarm, ...]
    notes: tuple[str, ...] = ()
    smoke: SmokePlan | None = None  # None: no smoke test
    #: The variant is autoscaled: the update keeps its DesiredInstanceCount (training_job/autoscaling.py).
    retain_variant_properties: bool = False

    def update_request(self) -> dict[str, Any]:
        """UpdateEndpoint, exactly as sent."""
        request: dict[str, Any] = {
            "EndpointName": self.endpoint_name,
            "EndpointConfigName": self.new_config,
            "DeploymentConfig": deployment_config(self.shift, [alarm.name for alarm in self.alarms]),
        }
        if self.retain_variant_properties:
            request["RetainAllVariantProperties"] = True
        return request


def check_variant_names(live: list[str], variant_name: str) -> None:
    """Blue/green keeps the variant: "your new endpoint configuration must have the same variant
    name as the old endpoint configuration" (deployment-guardrails-exclusions)."""
    if live and live != [variant_name]:
        raise UsageError(
            f"the endpoint serves variant(s) {', '.join(live)} and deploy makes one named "
            f"{variant_name}; SageMaker's blue/green update needs the same variant: delete the "
            "endpoint (teardown) and deploy anew"
        )


def _state_text(alarm: RollbackAlarm) -> str:
    if alarm.state is None:
        return "to create"
    verb = "exists, to update" if alarm.request is not None else "exists"
    warning = ": in ALARM, the rollout would be refused" if alarm.state == "ALARM" else ""
    return f"{verb}, state {alarm.state}{warning}"


def plan_lines(plan: RolloutPlan) -> list[str]:
    from training_job.smoke import smoke_plan_line

    timeout = plan.shift.timeout_seconds
    return [
        f"rollout onto endpoint {plan.endpoint_name}",
        f"  old endpoint config: {plan.old_config}",
        f"  new endpoint config: {plan.new_config} ({plan.new_config_detail})",
        f"  traffic: {describe_shift(plan.shift)}; SageMaker gives up and rolls back after {timeout} s",
        "  rollback alarms:",
        *(f"    {alarm.name} ({alarm.source}): {_state_text(alarm)}" for alarm in plan.alarms),
        *(f"  {note}" for note in plan.notes),
        f"  smoke test: {smoke_plan_line(plan.smoke)}",
    ]
