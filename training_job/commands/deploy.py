"""``deploy``: the model onto an endpoint with data capture, created, or rolled out onto the
existing one (smoke test, then a blue/green update with alarm rollback), optionally autoscaled;
or, with ``--serverless``, onto a serverless endpoint that scales to zero (training_job/serverless.py).

Options that have a default in one mode and no meaning in the other (instances, capture, the
rollout) default to None here and are filled in by ``_instance_defaults``, so that ``--serverless``
can refuse by name what was given, even when it was given at its default value."""

from __future__ import annotations

import argparse
from pathlib import Path

from scones_core.project import (
    DEFAULT_BUSY_WAIT_SECONDS,
    DEFAULT_ENDPOINT_INSTANCE,
    DEFAULT_PREFIX,
    DEFAULT_STACK_NAME,
)
from training_job.commands.argument_types import bounded_int, percentage, s3_uri, seconds, share
from training_job.commands.cloud import add_role_arn, out, session

NAME = "deploy"
HELP = "deploy the model to an endpoint with data capture"
DESCRIPTION = (
    "Create a model and an endpoint config with data capture (input and output), "
    "then create the endpoint, or roll it out onto the existing one (smoke test, then a "
    "blue/green update with alarm rollback); wait for InService."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-data", required=True, type=s3_uri, help="s3://.../model.tar.gz from `train`")
    p.add_argument("--endpoint-name", required=True, help="the name the SAM stack takes as EndpointName")
    add_role_arn(p)
    p.add_argument(
        "--instance-type",
        help=f"(default: {DEFAULT_ENDPOINT_INSTANCE}, about $0.115/h on demand)",
    )
    p.add_argument(
        "--instance-count",
        type=bounded_int(1, 100),
        help="instances behind the endpoint, each billed (default: 1; a canary or linear "
        "rollout needs 2 or more)",
    )
    p.add_argument(
        "--prefix",
        default=DEFAULT_PREFIX,
        help="key prefix of the model bucket, as for stage and train (default: %(default)s)",
    )
    p.add_argument(
        "--capture-s3-uri",
        type=s3_uri,
        help="data capture destination (default: s3://<model bucket>/<prefix>/data-capture)",
    )
    p.add_argument(
        "--sampling-percentage",
        type=percentage,
        help="share of requests captured, 0-100 (default: 100)",
    )
    p.add_argument(
        "--busy-wait",
        type=seconds,
        default=DEFAULT_BUSY_WAIT_SECONDS,
        help="how long to wait for an endpoint that is Creating, Updating, RollingBack or Deleting "
        "before giving up, having created nothing (default: %(default)s s; 0: do not wait)",
    )
    p.add_argument(
        "--baseline",
        type=Path,
        help="the model's baseline.json (class mix and confidences on its validation split, from "
        "`evaluate`): stored beside the artifact, as <artifact folder>/baseline.json",
    )
    p.add_argument("--no-wait", action="store_true", help="do not wait for InService")
    p.add_argument("--poll-seconds", type=float, default=30, help=argparse.SUPPRESS)
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (endpoint, old and new config, traffic, alarms, smoke test); change nothing",
    )
    _add_serverless(p)
    _add_rollout(p)
    _add_autoscaling(p)


def _add_serverless(p: argparse.ArgumentParser) -> None:
    """SageMaker Serverless Inference instead of instances (training_job/serverless.py)."""
    from training_job.serverless import DEFAULT_MAX_CONCURRENCY, DEFAULT_MEMORY_MB, MEMORY_SIZES_MB

    g = p.add_argument_group(
        "serverless endpoint (scales to zero)",
        "--serverless makes the variant a ServerlessConfig: billed per request (GB-seconds of "
        "inference and data processed), nothing while idle, a cold start after idle. AWS does not "
        "support data capture, multiple production variants or instance autoscaling there, so "
        "--capture-s3-uri, --sampling-percentage, the instance, rollout and autoscaling options "
        "are refused with it: capture in ClassifyImage with the stack's CaptureMode=Function. An "
        "instance-based endpoint cannot become serverless; a serverless one is updated in place.",
    )
    g.add_argument("--serverless", action="store_true", help="a serverless endpoint instead of instances")
    # plain types: serverless.check_options refuses bad values by name (ServerlessConfigError)
    g.add_argument(
        "--memory-mb",
        type=int,
        metavar="MB",
        help=f"MemorySizeInMB, one of {', '.join(map(str, MEMORY_SIZES_MB))} (default: {DEFAULT_MEMORY_MB})",
    )
    g.add_argument(
        "--max-concurrency",
        type=int,
        metavar="N",
        help=f"MaxConcurrency, 1-200: invocations past it are throttled (default: {DEFAULT_MAX_CONCURRENCY})",
    )
    g.add_argument(
        "--provisioned-concurrency",
        type=int,
        metavar="N",
        help="ProvisionedConcurrency, 1 to --max-concurrency: kept warm (no cold start), billed "
        "while the endpoint exists (default: none)",
    )


def _add_rollout(p: argparse.ArgumentParser) -> None:
    """Deploying onto an existing endpoint: SageMaker's blue/green update with traffic shifting
    and alarm rollback, after a smoke test of the new config (training_job/rollout.py, smoke.py)."""
    from training_job.rollout import (
        DEFAULT_BAKE_SECONDS,
        DEFAULT_CANARY_PERCENT,
        DEFAULT_LATENCY_ALARM_MS,
        DEFAULT_LINEAR_PERCENT,
        DEFAULT_TRAFFIC,
        MAX_WAIT_SECONDS,
        TRAFFIC_TYPES,
    )
    from training_job.smoke import DEFAULT_MIN_SMOKE_ACCURACY

    g = p.add_argument_group(
        "rollout onto an existing endpoint",
        "A blue/green update: SageMaker turns traffic on the new fleet step by step and rolls "
        "back if a rollback alarm fires (the endpoint's 5xx share and ModelLatency, which deploy "
        "creates, and the stack's LowConfidenceShareAlarm). Before that, the new config serves "
        "the sample photos on a temporary endpoint and must get enough of them right.",
    )
    g.add_argument(
        "--traffic",
        choices=list(TRAFFIC_TYPES),
        help=f"how traffic moves to the new fleet (default: {DEFAULT_TRAFFIC}; canary and linear need "
        "--instance-count 2 or more)",
    )
    g.add_argument(
        "--canary-percent",
        type=bounded_int(1, 50),
        help="share of the fleet the canary takes, at least one instance "
        f"(default: {DEFAULT_CANARY_PERCENT})",
    )
    g.add_argument(
        "--linear-percent",
        type=bounded_int(10, 50),
        help=f"share of the fleet each linear step takes (default: {DEFAULT_LINEAR_PERCENT})",
    )
    g.add_argument(
        "--bake-seconds",
        type=bounded_int(0, MAX_WAIT_SECONDS),
        help=f"how long each step is watched before the next (default: {DEFAULT_BAKE_SECONDS})",
    )
    g.add_argument(
        "--latency-alarm-ms",
        type=bounded_int(1, 60_000),
        help="roll back when p90 ModelLatency stays above this, 2 minutes running "
        f"(default: {DEFAULT_LATENCY_ALARM_MS})",
    )
    g.add_argument(
        "--stack-name",
        help=f"SAM stack whose LowConfidenceShareAlarm also rolls back (default: {DEFAULT_STACK_NAME})",
    )
    g.add_argument("--no-stack-alarm", action="store_true", help="leave the stack's alarm out")
    g.add_argument(
        "--min-smoke-accuracy",
        type=share,
        help="share of the sample photos the new config must get right "
        f"(default: {DEFAULT_MIN_SMOKE_ACCURACY})",
    )
    g.add_argument(
        "--smoke-images",
        type=Path,
        default=None,
        help="folder of the smoke-test photos (default: the repository's samples/images)",
    )
    g.add_argument(
        "--smoke-lst",
        type=Path,
        default=None,
        help="their labels, index<TAB>label<TAB>path (default: samples/images.lst)",
    )
    g.add_argument(
        "--no-smoke-test",
        action="store_true",
        help="shift traffic without the smoke test (saves its temporary endpoint, ~10-15 min)",
    )


def _add_autoscaling(p: argparse.ArgumentParser) -> None:
    """Endpoint autoscaling: a target-tracking policy on SageMakerVariantInvocationsPerInstance
    through Application Auto Scaling (training_job/autoscaling.py)."""
    from training_job.autoscaling import (
        ASSUMED_INVOCATIONS_PER_SECOND,
        DEFAULT_SCALE_IN_COOLDOWN,
        DEFAULT_SCALE_OUT_COOLDOWN,
        DEFAULT_TARGET_INVOCATIONS,
        SAFETY_FACTOR,
        SERVICE_LINKED_ROLE,
    )

    g = p.add_argument_group(
        "endpoint autoscaling (for a batch backlog)",
        "--autoscale-max-instances registers the endpoint's variant with Application Auto Scaling "
        "once it is InService and adds a target-tracking policy on SageMakerVariantInvocationsPerInstance: "
        "instances are added while the invocations per instance per minute stay above the target, "
        "and removed again below it, between the minimum and the maximum. Each instance is billed "
        "while it runs, so the maximum bounds the bill. An update keeps the count autoscaling "
        "reached, and a change of --instance-type deregisters and re-registers the variant, as "
        "AWS requires. Needs application-autoscaling:RegisterScalableTarget, PutScalingPolicy, "
        "DescribeScalableTargets and DescribeScalingPolicies (teardown: DeleteScalingPolicy, "
        "DeregisterScalableTarget), sagemaker:DescribeEndpoint, DescribeEndpointConfig and "
        "UpdateEndpointWeightsAndCapacities, and, the first time in an account, "
        f"iam:CreateServiceLinkedRole for {SERVICE_LINKED_ROLE}, which RegisterScalableTarget creates.",
    )
    # plain types: autoscaling.check_options refuses bad values by name (AutoscalingConfigError)
    g.add_argument(
        "--autoscale-max-instances",
        type=int,
        metavar="N",
        help="turn autoscaling on: at most N instances (default: off)",
    )
    g.add_argument(
        "--autoscale-min-instances",
        type=int,
        metavar="N",
        help="at least N instances (default: --instance-count)",
    )
    g.add_argument(
        "--autoscale-target-invocations",
        type=float,
        metavar="PER_MINUTE",
        help=f"TargetValue: invocations per instance per minute to keep to, AWS's max requests/s per "
        f"instance x {SAFETY_FACTOR} x 60 (default: {DEFAULT_TARGET_INVOCATIONS:g}, from the "
        f"docs/costs.md's assumed {ASSUMED_INVOCATIONS_PER_SECOND} photos/s per ml.m5.large, not measured "
        "on AWS: load-test and set your own)",
    )
    g.add_argument(
        "--autoscale-scale-out-cooldown",
        type=int,
        metavar="SECONDS",
        help=f"ScaleOutCooldown (default: {DEFAULT_SCALE_OUT_COOLDOWN})",
    )
    g.add_argument(
        "--autoscale-scale-in-cooldown",
        type=int,
        metavar="SECONDS",
        help=f"ScaleInCooldown (default: {DEFAULT_SCALE_IN_COOLDOWN})",
    )


def run(args: argparse.Namespace) -> int:
    from training_job import deployment

    serverless = _serverless_options(args)  # checked, and what it cannot do refused, before any AWS call
    if serverless is None:
        _instance_defaults(args)
    baseline_uri = _baseline_destination(args)
    scaling_options = _autoscaling_options(args)  # checked before any AWS call
    opened = session(args)
    instances = {}
    if serverless is None:
        instances = {
            "capture_s3_uri": args.capture_s3_uri
            or deployment.default_capture_uri(args.model_data, args.prefix),
            "instance_type": args.instance_type,
            "instance_count": args.instance_count,
            "sampling_percentage": args.sampling_percentage,
        }
    config = deployment.DeployConfig(
        model_data=args.model_data,
        endpoint_name=args.endpoint_name,
        role_arn=args.role_arn,
        serverless=serverless,
        **instances,
    )
    wait = {"poll_seconds": args.poll_seconds, "progress": not args.quiet}
    plan = deployment.plan_deploy(
        opened,
        config,
        _rollout_options(args),
        busy_wait_seconds=args.busy_wait,
        autoscaling=scaling_options,
        **wait,
    )
    for line in _deploy_plan_lines(plan, config):
        out(line)
    _refuse_no_wait_with_autoscaling(args, plan)
    if baseline_uri:
        out(f"baseline: {args.baseline} -> {baseline_uri} (monitoring report --baseline reads it)")
    if args.dry_run:
        out("dry run: nothing was created or changed")
        return 0
    if baseline_uri:
        _store_baseline(opened, args.baseline, baseline_uri)
    done = deployment.deploy(opened, config, plan=plan, **wait)
    if done.smoke is not None:
        out(done.smoke.line())
    verb = "updating" if done.updated else "creating"
    out(f"{verb} endpoint {config.endpoint_name} with endpoint config {done.endpoint_config_name}")
    if serverless is None:
        share = f"{config.sampling_percentage}% of requests and responses"
        out(f"data capture: {share} -> {config.capture_s3_uri}")
    else:
        from training_job.serverless import CAPTURE_WAY

        out(f"{serverless.line()}; no data capture on the endpoint (AWS does not support it): {CAPTURE_WAY}")
    if not args.no_wait:
        deployment.wait_in_service(done, poll_seconds=args.poll_seconds, progress=not args.quiet)
        out(f"endpoint {config.endpoint_name}: InService")
        applied = deployment.apply_autoscaling(done)
        if applied is not None:
            from training_job.autoscaling import applied_line

            out(applied_line(applied))
    overrides = f"EndpointName={config.endpoint_name}" + (" CaptureMode=Function" if serverless else "")
    out(f"next: sam build && sam deploy --parameter-overrides {overrides}")
    return 0


#: What instance mode fills in for the options left None (the module's docstring says why).
_SERVERLESS_ONLY = ("memory_mb", "max_concurrency", "provisioned_concurrency")
_CAPTURE = ("capture_s3_uri", "sampling_percentage")
_INSTANCES = ("instance_type", "instance_count")
_ROLLOUT = (
    "traffic",
    "canary_percent",
    "linear_percent",
    "bake_seconds",
    "latency_alarm_ms",
    "stack_name",
    "no_stack_alarm",
    "min_smoke_accuracy",
    "smoke_images",
    "smoke_lst",
    "no_smoke_test",
)
_AUTOSCALING = (
    "autoscale_max_instances",
    "autoscale_min_instances",
    "autoscale_target_invocations",
    "autoscale_scale_out_cooldown",
    "autoscale_scale_in_cooldown",
)


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> tuple[str, ...]:
    """The options of `names` that were given (a value other than None or False), as typed."""
    return tuple("--" + name.replace("_", "-") for name in names if getattr(args, name) not in (None, False))


def _serverless_options(args: argparse.Namespace):
    """`--serverless` as ServerlessOptions (None without it), checked: a Serverless*Error names
    each option AWS would refuse, or that a serverless endpoint does not support."""
    from training_job import serverless
    from training_job.exceptions import ServerlessConfigError

    if not args.serverless:
        named = _given(args, _SERVERLESS_ONLY)
        if named:
            raise ServerlessConfigError(f"{', '.join(named)} needs --serverless")
        return None
    serverless.refuse_unsupported(
        serverless.Asked(
            capture=_given(args, _CAPTURE),
            instances=_given(args, _INSTANCES),
            rollout=_given(args, _ROLLOUT),
            autoscaling=_given(args, _AUTOSCALING),
        )
    )
    given = {name: getattr(args, name) for name in _SERVERLESS_ONLY if getattr(args, name) is not None}
    return serverless.check_options(serverless.ServerlessOptions(**given))


def _instance_defaults(args: argparse.Namespace) -> None:
    """Fill in the instance mode's defaults of the options left None."""
    from training_job import rollout, smoke

    defaults = {
        "instance_type": DEFAULT_ENDPOINT_INSTANCE,
        "instance_count": 1,
        "sampling_percentage": 100,
        "traffic": rollout.DEFAULT_TRAFFIC,
        "canary_percent": rollout.DEFAULT_CANARY_PERCENT,
        "linear_percent": rollout.DEFAULT_LINEAR_PERCENT,
        "bake_seconds": rollout.DEFAULT_BAKE_SECONDS,
        "latency_alarm_ms": rollout.DEFAULT_LATENCY_ALARM_MS,
        "stack_name": DEFAULT_STACK_NAME,
        "min_smoke_accuracy": smoke.DEFAULT_MIN_SMOKE_ACCURACY,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)


def _autoscaling_options(args: argparse.Namespace):
    """`--autoscale-*` as AutoscalingOptions (None without --autoscale-max-instances), checked:
    an AutoscalingConfigError names the option before anything is sent."""
    from training_job import autoscaling
    from training_job.exceptions import AutoscalingConfigError

    extras = {
        "min_instances": args.autoscale_min_instances,
        "target_invocations": args.autoscale_target_invocations,
        "scale_out_cooldown": args.autoscale_scale_out_cooldown,
        "scale_in_cooldown": args.autoscale_scale_in_cooldown,
    }
    given = {name: value for name, value in extras.items() if value is not None}
    if args.autoscale_max_instances is None:
        if given:
            named = ", ".join(f"--autoscale-{name.replace('_', '-')}" for name in given)
            raise AutoscalingConfigError(
                f"{named} needs --autoscale-max-instances (autoscaling is off without it)"
            )
        return None
    if args.no_wait:
        raise AutoscalingConfigError(
            "--autoscale-max-instances registers the variant once the endpoint is InService, so deploy "
            "has to wait for it: leave out --no-wait"
        )
    options = autoscaling.AutoscalingOptions(max_instances=args.autoscale_max_instances, **given)
    autoscaling.check_options(options, args.instance_count)
    return options


def _refuse_no_wait_with_autoscaling(args: argparse.Namespace, plan) -> None:
    """An update that must deregister the variant's autoscaling registers it again once InService."""
    from training_job.exceptions import AutoscalingConfigError

    waits = plan.autoscaling is not None and plan.autoscaling.waits_for_service
    if args.no_wait and not args.dry_run and waits:
        raise AutoscalingConfigError(
            f"{plan.autoscaling.resource_id} is autoscaled and this update changes its instance type: "
            "deploy deregisters it first and registers it again once InService, so it has to wait: "
            "leave out --no-wait; nothing was created"
        )


def _baseline_destination(args: argparse.Namespace) -> str | None:
    """Where `--baseline` goes: beside the model artifact, where `monitoring report` finds the
    baseline of the model the endpoint serves; checked before anything is created."""
    if args.baseline is None:
        return None
    from training_job.exceptions import UsageError
    from training_job.local_model.baseline import BaselineFormatError, baseline_uri_for, read_baseline

    try:
        read_baseline(args.baseline)  # refused by name before any AWS call
    except (OSError, BaselineFormatError) as error:
        raise UsageError(f"--baseline {args.baseline}: {error}") from None
    return baseline_uri_for(args.model_data)


def _store_baseline(opened, path: Path, uri: str) -> None:
    from scones_core.aws import aws_client, parse_s3_uri

    bucket, key = parse_s3_uri(uri)
    aws_client(opened, "s3").put_object(
        Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType="application/json"
    )


def _rollout_options(args: argparse.Namespace):
    """The guarded rollout `deploy` uses onto an existing endpoint."""
    from training_job import rollout, smoke

    return rollout.RolloutOptions(
        traffic=rollout.TrafficPolicy(
            kind=args.traffic,
            canary_percent=args.canary_percent,
            linear_percent=args.linear_percent,
            bake_seconds=args.bake_seconds,
        ),
        latency_alarm_ms=args.latency_alarm_ms,
        stack_name=None if args.no_stack_alarm else args.stack_name,
        smoke=None
        if args.no_smoke_test
        else smoke.SmokeOptions(
            args.smoke_images or smoke.DEFAULT_SMOKE_IMAGES,
            args.smoke_lst or smoke.DEFAULT_SMOKE_LST,
            args.min_smoke_accuracy,
        ),
    )


def _deploy_plan_lines(plan, config) -> list[str]:
    from training_job import autoscaling, rollout

    lines = []
    if plan.rollout is not None:
        lines = rollout.plan_lines(plan.rollout)
    elif config.serverless is not None:
        what = f"endpoint config {plan.name} ({config.serverless.line()})"
        if plan.endpoint is None:
            lines = [f"endpoint {config.endpoint_name} does not exist: deploy creates it on {what}"]
        else:
            lines = [
                f"endpoint {config.endpoint_name} is serverless: UpdateEndpoint moves it from "
                f"{plan.endpoint.endpoint_config_name} onto {what}, all at once (the first requests "
                "after it may start cold)"
            ]
    elif plan.endpoint is None:
        lines = [
            f"endpoint {config.endpoint_name} does not exist: deploy creates it on endpoint config "
            f"{plan.name} (a first deploy: no traffic to shift, so no smoke test and no rollback alarms)"
        ]
    if plan.autoscaling is not None:
        lines += autoscaling.plan_lines(plan.autoscaling)
    return lines
