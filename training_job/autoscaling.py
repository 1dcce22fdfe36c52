"""Endpoint autoscaling for `deploy --autoscale-max-instances`, and its removal by `teardown`.

A batch backlog is bound by the endpoint's instances, so `deploy` can put the variant under
Application Auto Scaling with a target-tracking policy on the predefined metric
`SageMakerVariantInvocationsPerInstance` (invocations per instance per minute). What AWS says,
and what this module does about it:

- Register the variant, then apply the policy: RegisterScalableTarget with ServiceNamespace
  `sagemaker`, ResourceId `endpoint/<endpoint>/variant/<variant>`, ScalableDimension
  `sagemaker:variant:DesiredInstanceCount`, MinCapacity and MaxCapacity; then PutScalingPolicy
  with PolicyType `TargetTrackingScaling` and a TargetTrackingScalingPolicyConfiguration
  (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-add-policy.html,
  .../endpoint-auto-scaling-add-code-define.html, .../endpoint-auto-scaling-add-code-apply.html).
  The endpoint must exist first ("Before you can use auto scaling, you must have already created
  an Amazon SageMaker AI model endpoint", .../endpoint-auto-scaling-prerequisites.html), so both
  calls are made once the endpoint is InService.
- The target: "SageMakerVariantInvocationsPerInstance = (MAX_RPS * SAFETY_FACTOR) * 60", starting
  with a SAFETY_FACTOR of 0.5 (.../endpoint-scaling-loadtest.html). docs/costs.md takes an
  ml.m5.large's throughput as 30 photos/s, one invocation each (not measured on AWS), hence the
  default 900; `--autoscale-target-invocations` sets a measured figure.
- The service-linked role AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint "is
  automatically created in your AWS account when registering SageMaker AI resources as scalable
  targets" (https://docs.aws.amazon.com/autoscaling/application/userguide/services-that-can-integrate-sagemaker.html),
  which needs iam:CreateServiceLinkedRole once per account.
- Updating an autoscaled endpoint (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html):
  "If the update would change the instance type for any model that is a target for auto
  scaling, the update fails"; before such an update, delete the scaling policies and deregister
  the variant, and register it again afterwards. Changing only the model is allowed. To keep the
  instance count autoscaling reached, UpdateEndpoint takes `RetainAllVariantProperties: true`,
  so the variant is updated "with the latest DesiredInstanceCount ... regardless of the values
  of the InitialInstanceCount field in the new EndpointConfig"; without it the new fleet starts
  at the new config's count. Auto scaling is blocked while an update runs.
- Deleting an autoscaled endpoint (.../endpoint-delete-with-scaling.html): Application Auto
  Scaling deregisters the variant by itself only if the caller may call DeregisterScalableTarget,
  so `teardown` deletes the policies and deregisters the target itself, first. Deregistering
  "deletes the scaling policies ... associated with it" and deleting a target-tracking policy
  "also deletes the CloudWatch alarms that Application Auto Scaling created on your behalf"
  (DeregisterScalableTarget; .../userguide/delete-target-tracking-policy.html).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from scones_core.project import PROJECT_TAG_VALUE
from training_job.exceptions import AutoscalingConfigError

SERVICE_NAMESPACE = "sagemaker"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
POLICY_TYPE = "TargetTrackingScaling"
METRIC_TYPE = "SageMakerVariantInvocationsPerInstance"
SERVICE_LINKED_ROLE = "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
#: One policy per variant; Application Auto Scaling scopes policy names by the scalable target.
POLICY_NAME = f"{PROJECT_TAG_VALUE}-invocations-per-instance"

#: docs/costs.md's assumed endpoint throughput (ml.m5.large, ResNet-18 at 224x224; not measured on
#: AWS) and AWS's suggested starting safety factor: 30 * 0.5 * 60 = 900 invocations per instance
#: per minute, the metric's unit.
ASSUMED_INVOCATIONS_PER_SECOND = 30
SAFETY_FACTOR = 0.5
DEFAULT_TARGET_INVOCATIONS = ASSUMED_INVOCATIONS_PER_SECOND * SAFETY_FACTOR * 60
#: A backlog wants instances soon: while a scale-out cooldown runs, the capacity it added already
#: counts towards the next one, so a minute is safe. Scale-in keeps Application Auto Scaling's
#: default for SageMaker variants (300 s): a pause in the batch should not drop the fleet.
DEFAULT_SCALE_OUT_COOLDOWN = 60
DEFAULT_SCALE_IN_COOLDOWN = 300


def resource_id(endpoint_name: str, variant_name: str) -> str:
    return f"endpoint/{endpoint_name}/variant/{variant_name}"


def _target_key(rid: str) -> dict[str, str]:
    return {"ServiceNamespace": SERVICE_NAMESPACE, "ResourceId": rid, "ScalableDimension": SCALABLE_DIMENSION}


# --- what is asked ------------------------------------------------------------------------


@dataclass(frozen=True)
class AutoscalingOptions:
    """`--autoscale-max-instances` and the options beside it."""

    max_instances: int
    min_instances: int | None = None  # None: the deploy's --instance-count
    target_invocations: float = DEFAULT_TARGET_INVOCATIONS
    scale_out_cooldown: int = DEFAULT_SCALE_OUT_COOLDOWN
    scale_in_cooldown: int = DEFAULT_SCALE_IN_COOLDOWN


@dataclass(frozen=True)
class Scaling:
    """A scalable target and its policies, as the requests that make them."""

    register: dict[str, Any]  # RegisterScalableTarget
    policies: tuple[dict[str, Any], ...] = ()  # PutScalingPolicy, each

    @property
    def resource_id(self) -> str:
        return self.register["ResourceId"]


def check_options(options: AutoscalingOptions, instance_count: int) -> tuple[int, int]:
    """(min, max) once checked: max >= min >= 1, a positive finite target, cooldowns >= 0.
    Raises AutoscalingConfigError, naming the option, before any AWS call."""
    low = instance_count if options.min_instances is None else options.min_instances
    where = "--autoscale-min-instances" if options.min_instances is not None else "--instance-count"
    if low < 1:
        raise AutoscalingConfigError(f"{where} is the autoscaling minimum and must be 1 or more, got {low}")
    if options.max_instances < low:
        raise AutoscalingConfigError(
            f"--autoscale-max-instances ({options.max_instances}) must be >= the minimum, {where} ({low})"
        )
    target = options.target_invocations
    if not (math.isfinite(target) and target > 0):
        raise AutoscalingConfigError(
            f"--autoscale-target-invocations must be a number above 0 (invocations per instance per "
            f"minute), got {target}"
        )
    for name, seconds in (
        ("--autoscale-scale-out-cooldown", options.scale_out_cooldown),
        ("--autoscale-scale-in-cooldown", options.scale_in_cooldown),
    ):
        if seconds < 0:
            raise AutoscalingConfigError(f"{name} must be 0 or more seconds, got {seconds}")
    return low, options.max_instances


def scaling_requests(
    options: AutoscalingOptions, endpoint_name: str, variant_name: str, instance_count: int
) -> Scaling:
    """RegisterScalableTarget and PutScalingPolicy, exactly as sent."""
    low, high = check_options(options, instance_count)
    key = _target_key(resource_id(endpoint_name, variant_name))
    policy = {
        "PolicyName": POLICY_NAME,
        **key,
        "PolicyType": POLICY_TYPE,
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": float(options.target_invocations),
            "PredefinedMetricSpecification": {"PredefinedMetricType": METRIC_TYPE},
            "ScaleOutCooldown": options.scale_out_cooldown,
            "ScaleInCooldown": options.scale_in_cooldown,
        },
    }
    return Scaling({**key, "MinCapacity": low, "MaxCapacity": high}, (policy,))


# --- what is there ------------------------------------------------------------------------

_POLICY_CONFIGURATIONS = (
    "TargetTrackingScalingPolicyConfiguration",
    "StepScalingPolicyConfiguration",
    "PredictiveScalingPolicyConfiguration",
)


@dataclass(frozen=True)
class Registered:
    """A scalable target as DescribeScalableTargets answers it, with its DescribeScalingPolicies."""

    target: dict[str, Any]
    policies: tuple[dict[str, Any], ...] = ()

    @property
    def resource_id(self) -> str:
        return self.target["ResourceId"]

    @property
    def endpoint_name(self) -> str:
        return self.resource_id.split("/")[1]

    @property
    def policy_names(self) -> list[str]:
        return [policy["PolicyName"] for policy in self.policies]

    def as_requests(self) -> Scaling:
        """The requests that register it again as it is (after a deregistration it had to undergo)."""
        key = _target_key(self.resource_id)
        bounds = {"MinCapacity": self.target["MinCapacity"], "MaxCapacity": self.target["MaxCapacity"]}
        register = {**key, **bounds}
        if self.target.get("SuspendedState"):
            register["SuspendedState"] = self.target["SuspendedState"]
        policies = tuple(
            {"PolicyName": policy["PolicyName"], **key, "PolicyType": policy["PolicyType"]}
            | {name: policy[name] for name in _POLICY_CONFIGURATIONS if name in policy}
            for policy in self.policies
        )
        return Scaling(register, policies)

    def bounds(self) -> str:
        policies = ", ".join(self.policy_names) or "no policy"
        return f"{self.target['MinCapacity']}..{self.target['MaxCapacity']} instances, {policies}"

    def line(self) -> str:
        return f"{self.resource_id}: {self.bounds()}"


def _policies(client: Any, rid: str) -> tuple[dict[str, Any], ...]:
    found: list[dict[str, Any]] = []
    for page in client.get_paginator("describe_scaling_policies").paginate(**_target_key(rid)):
        found += page.get("ScalingPolicies", [])
    return tuple(found)


def registered(client: Any, endpoint_name: str, variant_name: str) -> Registered | None:
    """The variant's scalable target and policies, or None when it is not registered."""
    rid = resource_id(endpoint_name, variant_name)
    answer = client.describe_scalable_targets(
        ServiceNamespace=SERVICE_NAMESPACE, ResourceIds=[rid], ScalableDimension=SCALABLE_DIMENSION
    )
    targets = [target for target in answer.get("ScalableTargets", []) if target["ResourceId"] == rid]
    if not targets:
        return None
    return Registered(targets[0], _policies(client, rid))


def registered_for_endpoints(client: Any, endpoint_names: list[str]) -> list[Registered]:
    """Every variant of `endpoint_names` that is a scalable target (for `teardown`): one listing
    of the account's SageMaker variant targets, then the policies of each that is ours."""
    names = set(endpoint_names)
    if not names:
        return []
    found = []
    pages = client.get_paginator("describe_scalable_targets").paginate(
        ServiceNamespace=SERVICE_NAMESPACE, ScalableDimension=SCALABLE_DIMENSION
    )
    for page in pages:
        for target in page.get("ScalableTargets", []):
            parts = target["ResourceId"].split("/")
            if len(parts) == 4 and parts[0] == "endpoint" and parts[2] == "variant" and parts[1] in names:
                found.append(Registered(target, _policies(client, target["ResourceId"])))
    return found


# --- doing it -----------------------------------------------------------------------------


def _gone(error: Exception) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(error, ClientError) and error.response["Error"].get("Code") == "ObjectNotFoundException"


def remove(client: Any, found: Registered) -> None:
    """DeleteScalingPolicy for each policy, then DeregisterScalableTarget, as AWS says to before
    an update that changes the instance type or before deleting the endpoint. What is already
    gone (ObjectNotFoundException) counts as removed."""
    key = _target_key(found.resource_id)
    calls = [(client.delete_scaling_policy, {"PolicyName": name, **key}) for name in found.policy_names]
    calls.append((client.deregister_scalable_target, key))
    for call, request in calls:
        try:
            call(**request)
        except Exception as error:
            if not _gone(error):
                raise


def apply(client: Any, scaling: Scaling) -> None:
    """RegisterScalableTarget (it registers or updates), then PutScalingPolicy (creates or
    replaces the policy of that name)."""
    client.register_scalable_target(**scaling.register)
    for policy in scaling.policies:
        client.put_scaling_policy(**policy)


# --- the plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AutoscalingPlan:
    """What `deploy` does about autoscaling, found with reads only."""

    resource_id: str
    existing: Registered | None  # registered now
    apply: Scaling | None = None  # sent once the endpoint is InService; None: left as it is
    deregister_first: bool = False  # the instance type changes: remove before UpdateEndpoint
    retain_instance_count: bool = False  # UpdateEndpoint with RetainAllVariantProperties
    notes: tuple[str, ...] = field(default=())

    @property
    def waits_for_service(self) -> bool:
        """Something is sent once the endpoint is InService, so `deploy` has to wait for it."""
        return self.apply is not None


def plan_autoscaling(
    *,
    endpoint_name: str,
    variant_name: str,
    instance_count: int,
    options: AutoscalingOptions | None,
    existing: Registered | None,
    instance_type_change: tuple[str, str] | None = None,
    current_instances: int | None = None,
    notes: tuple[str, ...] = (),
) -> AutoscalingPlan | None:
    """The plan for a deploy: `existing` is what is registered now (None: nothing, or a first
    deploy), `instance_type_change` (old, new) when the update changes the instance type, and
    `current_instances` the live variant's DesiredInstanceCount. None: nothing to say or do."""
    rid = resource_id(endpoint_name, variant_name)
    wanted = None
    if options is not None:
        wanted = scaling_requests(options, endpoint_name, variant_name, instance_count)
    if existing is None:
        if wanted is None and not notes:
            return None
        return AutoscalingPlan(rid, None, wanted, notes=notes)
    plan_notes = list(notes)
    deregister = instance_type_change is not None
    if deregister:
        old, new = instance_type_change
        plan_notes.append(
            f"the instance type changes ({old} -> {new}) and SageMaker refuses that on an autoscaled "
            "variant: its policies are deleted and it is deregistered before UpdateEndpoint, and "
            "registered again once the endpoint is InService"
        )
        wanted = wanted or existing.as_requests()
    count = f"its {current_instances} instance(s)" if current_instances else "its instance count"
    plan_notes.append(
        f"UpdateEndpoint keeps {count} (RetainAllVariantProperties), not --instance-count; "
        "autoscaling is blocked while the update runs"
    )
    return AutoscalingPlan(rid, existing, wanted, deregister, True, tuple(plan_notes))


def request_lines(scaling: Scaling) -> list[str]:
    """One line per call, with what it sets."""
    register = scaling.register
    lines = [
        f"RegisterScalableTarget {register['ResourceId']} {register['ScalableDimension']}: "
        f"MinCapacity {register['MinCapacity']}, MaxCapacity {register['MaxCapacity']}"
    ]
    for policy in scaling.policies:
        config = policy.get("TargetTrackingScalingPolicyConfiguration")
        if config and "PredefinedMetricSpecification" in config:
            metric = config["PredefinedMetricSpecification"]["PredefinedMetricType"]
            per = " invocations per instance per minute" if metric == METRIC_TYPE else ""
            detail = (
                f"{policy['PolicyType']} on {metric}, TargetValue {config['TargetValue']:g}{per}, "
                f"ScaleOutCooldown {config.get('ScaleOutCooldown', 'default')} s, "
                f"ScaleInCooldown {config.get('ScaleInCooldown', 'default')} s"
            )
        else:
            detail = f"{policy['PolicyType']}, as it was"
        lines.append(f"PutScalingPolicy {policy['PolicyName']}: {detail}")
    return lines


def plan_lines(plan: AutoscalingPlan) -> list[str]:
    now = f"registered now: {plan.existing.bounds()}" if plan.existing else "not registered now"
    lines = [f"autoscaling of {plan.resource_id} ({now})"]
    if plan.deregister_first and plan.existing is not None:
        removals = [f"DeleteScalingPolicy {name}" for name in plan.existing.policy_names]
        lines.append(f"  before UpdateEndpoint: {', '.join([*removals, 'DeregisterScalableTarget'])}")
    lines += [f"  {note}" for note in plan.notes]
    if plan.apply is not None:
        lines += [f"  once InService: {line}" for line in request_lines(plan.apply)]
    elif plan.existing is not None:
        lines.append("  left as it is (--autoscale-max-instances changes it)")
    return lines


def applied_line(scaling: Scaling) -> str:
    register = scaling.register
    return (
        f"autoscaling: {scaling.resource_id} scales between {register['MinCapacity']} and "
        f"{register['MaxCapacity']} instances ({', '.join(p['PolicyName'] for p in scaling.policies)})"
    )
