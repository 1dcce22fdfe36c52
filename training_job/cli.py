"""`python -m training_job <command>`: stage, train, deploy, teardown (+ train-local, evaluate).

Each command is a thin layer: parse, call the functions of its module, print what to do next.
Nothing heavy is imported until a command runs (`--help` never imports the SageMaker SDK).
Exit codes: 0 done, 1 failed while running, 2 a usage error (argparse's code), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from scones_core.project import (
    CIFAR_MD5,
    CIFAR_URL,
    DEFAULT_BUSY_WAIT_SECONDS,
    DEFAULT_ENDPOINT_INSTANCE,
    DEFAULT_PREFIX,
    DEFAULT_STACK_NAME,
    DEFAULT_TRAINING_INSTANCE,
    PROJECT_TAG_KEY,
    PROJECT_TAG_VALUE,
    TRAINING_JOB_PREFIX,
)

ROLE_ENV = "SAGEMAKER_ROLE_ARN"


def _default_work_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "scones-vehicle-classifier"


def _session(args: argparse.Namespace):
    from scones_core.aws import check_session, make_session

    session = make_session(args.region, args.profile)
    check_session(session)
    return session


def _out(line: str = "") -> None:
    print(line, flush=True)


# --- stage --------------------------------------------------------------------------------


def run_stage(args: argparse.Namespace) -> int:
    from training_job import staging

    session = _session(args)
    reviewed = _reviewed_uri(args, session)
    result = staging.stage(
        session,
        args.bucket,
        args.prefix,
        args.work_dir,
        from_dir=args.from_dir,
        source_url=args.source_url,
        source_md5=args.source_md5,
        validation_fraction=args.validation_fraction,
        seed=args.seed,
        delete=args.delete,
        progress=not args.quiet,
        reviewed_uri=reviewed,
    )
    sync = result.sync
    _out(f"images: {result.counts.train} train, {result.counts.validation} validation")
    if result.reviewed is not None:
        _out(_reviewed_line(result.reviewed, reviewed))
    _out(f"uploaded {len(sync.uploaded)} files, {len(sync.unchanged)} unchanged")
    if sync.deleted:
        _out(f"deleted {len(sync.deleted)} objects no longer staged")
    elif sync.stale:
        _out(f"{len(sync.stale)} objects under the channels are no longer staged (--delete removes them)")
    for channel, uri in result.uris.items():
        _out(f"  {channel:<15} {uri}")
    _out(f"next: python -m training_job train --bucket {args.bucket} --prefix {args.prefix} --role-arn ARN")
    return 0


def _reviewed_uri(args: argparse.Namespace, session) -> str | None:
    """Where the reviewed data set is, when it is asked for: `--reviewed`, else the stack's
    `ReviewedDataLocation` Output."""
    if args.reviewed:
        return args.reviewed
    if not args.include_reviewed:
        return None
    from training_job import staging

    return staging.reviewed_location(session.client("cloudformation"), args.stack_name)


def _reviewed_line(merge, uri: str) -> str:
    """What `--include-reviewed` did, in one line: added per class, and what was left out and why."""
    per_class = ", ".join(f"{name} {count}" for name, count in merge.added_per_class.items())
    left_out = [
        (merge.duplicates, "duplicate photos (the latest verdict kept)"),
        (merge.already_in_train, "already in train"),
        (merge.in_validation, "in validation (kept out of train)"),
    ]
    skipped = "; ".join(f"{count} {why}" for count, why in left_out if count)
    return f"reviewed: {len(merge.added)} photos added to train ({per_class}) from {uri}" + (
        f"; left out: {skipped}" if skipped else ""
    )


def _add_reviewed_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "the reviewed data set",
        "Photos the model was unsure of, labelled by a person (python -m review), go into the train "
        "channel only (validation stays the split models are compared on), once each, numbered "
        "after the train .lst's last index.",
    )
    g.add_argument(
        "--include-reviewed",
        action="store_true",
        help="merge the reviewed data set into train; found in the stack's ReviewedDataLocation output",
    )
    g.add_argument(
        "--reviewed",
        type=_s3_uri,
        metavar="S3_URI",
        help="the reviewed data set, e.g. s3://IMAGE_BUCKET/reviewed/ (implies --include-reviewed)",
    )
    g.add_argument(
        "--stack-name",
        default=DEFAULT_STACK_NAME,
        help="the SAM stack whose ReviewedDataLocation names the set (default: %(default)s)",
    )


# --- train --------------------------------------------------------------------------------


def run_train(args: argparse.Namespace) -> int:
    from training_job import training
    from training_job.exceptions import UsageError

    if args.spot and args.max_wait is not None and args.max_wait < args.max_run:
        raise UsageError(f"--max-wait ({args.max_wait}) must be >= --max-run ({args.max_run})")
    session = _session(args)
    reviewed = _reviewed_uri(args, session)
    if reviewed is not None:
        from training_job import staging

        merge = staging.merge_reviewed_into_staged(session.client("s3"), args.bucket, args.prefix, reviewed)
        _out(_reviewed_line(merge, reviewed))
    samples = args.num_training_samples or training.count_training_samples(
        session.client("s3"), args.bucket, args.prefix
    )
    config = training.TrainingConfig(
        bucket=args.bucket,
        prefix=args.prefix,
        role_arn=args.role_arn,
        num_training_samples=samples,
        job_name=args.job_name or training.default_job_name(),
        instance_type=args.instance_type,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        mini_batch_size=args.mini_batch_size,
        from_scratch=args.from_scratch,
        num_layers=args.num_layers,
        max_runtime_seconds=args.max_run,
        spot=args.spot,
        max_wait_seconds=args.max_wait,
    )
    recipe = training.hyperparameters(config)  # checked against the documented limits in start()
    job = training.start(session, config)
    mode = "from scratch" if config.from_scratch else "transfer learning"
    _out(
        f"started training job {config.job_name} ({samples} training images, {config.instance_type}"
        f"{', managed spot' if config.spot else ''}; ResNet-{recipe['num_layers']} {mode} at "
        f"{recipe['image_shape'].replace(',', 'x')})"
    )
    if args.no_wait:
        _out(f"follow it: aws sagemaker describe-training-job --training-job-name {config.job_name}")
        return 0
    training.wait(job, poll_seconds=args.poll_seconds, progress=not args.quiet)
    result = training.outcome(job)
    accuracy = "not reported" if result.validation_accuracy is None else f"{result.validation_accuracy:.4f}"
    billed = f" (billable {result.billable_seconds} s)" if result.billable_seconds else ""
    _out(f"training job {result.job_name}: {result.status}{billed}")
    _out(f"validation:accuracy = {accuracy}")
    _out(f"model artifact: {result.model_data}")
    _out(
        f"next: python -m training_job deploy --model-data {result.model_data} "
        f"--endpoint-name NAME --role-arn {args.role_arn}"
    )
    return 0


# --- deploy -------------------------------------------------------------------------------


def run_deploy(args: argparse.Namespace) -> int:
    from training_job import deployment

    baseline_uri = _baseline_destination(args)
    scaling_options = _autoscaling_options(args)  # checked before any AWS call
    session = _session(args)
    config = deployment.DeployConfig(
        model_data=args.model_data,
        endpoint_name=args.endpoint_name,
        role_arn=args.role_arn,
        capture_s3_uri=args.capture_s3_uri or deployment.default_capture_uri(args.model_data, args.prefix),
        instance_type=args.instance_type,
        instance_count=args.instance_count,
        sampling_percentage=args.sampling_percentage,
    )
    wait = {"poll_seconds": args.poll_seconds, "progress": not args.quiet}
    plan = deployment.plan_deploy(
        session,
        config,
        _rollout_options(args),
        busy_wait_seconds=args.busy_wait,
        autoscaling=scaling_options,
        **wait,
    )
    for line in _deploy_plan_lines(plan, config):
        _out(line)
    _refuse_no_wait_with_autoscaling(args, plan)
    if baseline_uri:
        _out(f"baseline: {args.baseline} -> {baseline_uri} (monitoring report --baseline reads it)")
    if args.dry_run:
        _out("dry run: nothing was created or changed")
        return 0
    if baseline_uri:
        _store_baseline(session, args.baseline, baseline_uri)
    done = deployment.deploy(session, config, plan=plan, **wait)
    if done.smoke is not None:
        _out(done.smoke.line())
    verb = "updating" if done.updated else "creating"
    _out(f"{verb} endpoint {config.endpoint_name} with endpoint config {done.endpoint_config_name}")
    _out(f"data capture: {config.sampling_percentage}% of requests and responses -> {config.capture_s3_uri}")
    if not args.no_wait:
        deployment.wait_in_service(done, poll_seconds=args.poll_seconds, progress=not args.quiet)
        _out(f"endpoint {config.endpoint_name}: InService")
        applied = deployment.apply_autoscaling(done)
        if applied is not None:
            from training_job.autoscaling import applied_line

            _out(applied_line(applied))
    _out(f"next: sam build && sam deploy --parameter-overrides EndpointName={config.endpoint_name}")
    return 0


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


def _store_baseline(session, path: Path, uri: str) -> None:
    from scones_core.aws import aws_client, parse_s3_uri

    bucket, key = parse_s3_uri(uri)
    aws_client(session, "s3").put_object(
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
    elif plan.endpoint is None:
        lines = [
            f"endpoint {config.endpoint_name} does not exist: deploy creates it on endpoint config "
            f"{plan.name} (a first deploy: no traffic to shift, so no smoke test and no rollback alarms)"
        ]
    if plan.autoscaling is not None:
        lines += autoscaling.plan_lines(plan.autoscaling)
    return lines


# --- teardown -----------------------------------------------------------------------------


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def run_teardown(args: argparse.Namespace) -> int:
    session = _session(args)
    sagemaker = session.client("sagemaker")
    autoscaling = session.client("application-autoscaling")
    found = _teardown_sagemaker(sagemaker, autoscaling, args.endpoint_name, dry_run=args.dry_run)
    _teardown_alarms(session.client("cloudwatch"), args.endpoint_name, dry_run=args.dry_run)
    _report_log_groups(session.client("logs"), sagemaker, found, args.endpoint_name)
    s3 = session.client("s3")
    _report_stack(session.client("cloudformation"), s3, args.stack_name, session.region_name)
    if args.bucket:
        _report_bucket(s3, args.bucket, args.prefix)
    _out(_cost_line())
    return 0


def _teardown_sagemaker(sagemaker, autoscaling, endpoint_name: str | None, *, dry_run: bool):
    """Say what is found, then (unless a dry run) delete it and say so; return what was found.
    The endpoints' autoscaling goes first, as AWS asks."""
    from training_job import teardown

    scope = _teardown_scope(endpoint_name)
    found = teardown.find_project_resources(sagemaker, endpoint_name)
    if not found:
        _out(f"SageMaker: nothing left ({scope}): no endpoint, endpoint config or model")
        return found
    for line in _deletion_lines(found, "would delete" if dry_run else "deleting"):
        _out(line)
    scaled = _endpoint_autoscaling(autoscaling, found.endpoints, dry_run=dry_run)
    if not dry_run:
        if scaled:
            teardown.remove_endpoint_autoscaling(autoscaling, scaled)
            _out(f"Application Auto Scaling: deregistered {len(scaled)} scalable targets ({scope})")
        teardown.delete_resources(sagemaker, found)
        _out(
            f"SageMaker: deleted {len(found.endpoints)} endpoints, {len(found.endpoint_configs)} "
            f"endpoint configs, {len(found.models)} models ({scope})"
        )
    return found


def _endpoint_autoscaling(autoscaling, endpoints: list[str], *, dry_run: bool) -> list:
    """The autoscaling of the endpoints to delete, one line each; silent when there is none. A
    caller that may not list it is warned, and the deletion goes on."""
    from botocore.exceptions import ClientError

    from training_job import teardown

    try:
        scaled = teardown.find_endpoint_autoscaling(autoscaling, endpoints)
    except ClientError as error:
        if error.response["Error"].get("Code") != "AccessDeniedException":
            raise
        _out(
            f"warning: could not list the endpoints' autoscaling ({error.response['Error'].get('Message')}); "
            "DeleteEndpoint deregisters an autoscaled variant itself only if you may call "
            "application-autoscaling:DeregisterScalableTarget"
        )
        return []
    for registered in scaled:
        verb = "would deregister" if dry_run else "deregistering"
        _out(f"{verb} autoscaling of {registered.line()}")
    return scaled


def _teardown_alarms(cloudwatch, endpoint_name: str | None, *, dry_run: bool) -> None:
    """The rollback alarms `deploy` created; silent when there are none."""
    from training_job import teardown

    names = teardown.find_rollback_alarms(cloudwatch, endpoint_name)
    for name in names:
        _out(f"{'would delete' if dry_run else 'deleting'} alarm {name}")
    if names and not dry_run:
        teardown.delete_alarms(cloudwatch, names)
        _out(f"CloudWatch: deleted {len(names)} rollback alarms ({_teardown_scope(endpoint_name)})")


def _report_log_groups(logs, sagemaker, found, endpoint_name: str | None) -> None:
    """SageMaker's own log groups, which never expire, with the command that deletes or trims each."""
    from training_job import teardown

    endpoints = {endpoint_name} if endpoint_name else set(found.endpoints)
    groups = teardown.sagemaker_log_groups(
        logs,
        endpoints=endpoints,
        live_endpoints=teardown.live_endpoint_names(sagemaker),
        only_named=endpoint_name is not None,
    )
    for line in _log_group_lines(groups):
        _out(line)


def _report_stack(cloudformation, s3, stack_name: str, region: str) -> None:
    """The stack's status and contents; a warning per non-empty bucket, which blocks its deletion."""
    from training_job import teardown

    stack = teardown.stack_report(cloudformation, stack_name)
    if stack.status is None:
        _out(f"SAM stack {stack_name}: not found in {region} (nothing to delete)")
        return
    _out(_stack_line(stack))
    for bucket in stack.buckets:
        objects = sum(count for count, _ in (teardown.bucket_summary(s3, bucket) or {}).values())
        if objects:
            _out(_non_empty_bucket_warning(bucket, objects))
    _out(f"  delete it: sam delete --stack-name {stack_name} --region {region}")


def _report_bucket(s3, bucket: str, prefix: str) -> None:
    from training_job import teardown

    for line in _bucket_lines(bucket, prefix, teardown.bucket_summary(s3, bucket, prefix)):
        _out(line)


def _teardown_scope(endpoint_name: str | None) -> str:
    scope = f"{PROJECT_TAG_KEY}={PROJECT_TAG_VALUE}"
    return f"{scope}, endpoint {endpoint_name}" if endpoint_name else scope


def _deletion_lines(found, verb: str) -> list[str]:
    kinds = (
        ("endpoint", found.endpoints),
        ("endpoint config", found.endpoint_configs),
        ("model", found.models),
    )
    return [f"{verb} {kind} {name}" for kind, names in kinds for name in names]


def _stack_line(stack) -> str:
    kinds = ", ".join(f"{n} {t}" for t, n in stack.resource_types.items())
    return f"SAM stack {stack.name}: {stack.status}; holds {kinds or 'no resources'}"


def _non_empty_bucket_warning(bucket: str, objects: int) -> str:
    return (
        f"  its bucket {bucket} holds {objects} objects; CloudFormation cannot delete a "
        f"non-empty bucket, and it is versioned: empty it with the S3 console's Empty "
        f"(all versions), then delete the stack"
    )


def _bucket_lines(bucket: str, prefix: str, summary: dict[str, tuple[int, int]] | None) -> list[str]:
    """What `bucket_summary` found under the prefix, and the command that deletes it."""
    where = f"s3://{bucket}/{prefix}".rstrip("/")
    if summary is None:
        return [f"bucket {bucket}: not found"]
    if not summary:
        return [f"{where}: empty"]
    return [
        f"{where} holds:",
        *(f"  {top:<20} {count:>6} objects {_size(size):>10}" for top, (count, size) in summary.items()),
        f"  delete them: aws s3 rm {where} --recursive"
        + ("" if prefix else f"   (then the bucket: aws s3 rb s3://{bucket})"),
    ]


#: What `teardown` suggests for a log group that is kept: a month of logs.
SUGGESTED_RETENTION_DAYS = 30


def _log_group_lines(groups) -> list[str]:
    """One line per SageMaker log group and the command that deletes it or makes it expire."""
    if not groups:
        return []
    lines = ["SageMaker's log groups (SageMaker sets no retention; storage is billed per GB-month):"]
    for group in groups:
        kept = "never expires" if group.retention_days is None else f"kept {group.retention_days} days"
        head = f"  {group.name}: {kept}, {_size(group.stored_bytes)}"
        delete = f"aws logs delete-log-group --log-group-name {group.name}"
        expire = (
            f"aws logs put-retention-policy --log-group-name {group.name} "
            f"--retention-in-days {SUGGESTED_RETENTION_DAYS}"
        )
        if group.endpoint is None:  # the training group, shared by every training job in the region
            ours = f"{group.our_streams} of its {group.streams} streams from {TRAINING_JOB_PREFIX}* jobs"
            lines.append(f"{head}, {ours}")
            lines.append(f"    make it expire: {expire}")
            if group.streams and group.our_streams == group.streams:
                lines.append(f"    or, as every stream is this project's, delete it: {delete}")
        elif group.endpoint_live:
            lines.append(f"{head} (endpoint {group.endpoint} still exists)")
            lines.append(f"    make it expire: {expire}")
        else:
            lines.append(f"{head} (endpoint {group.endpoint} is gone)")
            lines.append(f"    delete it: {delete}")
    return lines


def _cost_line() -> str:
    from training_job import teardown

    return (
        "cost: "
        + teardown.endpoint_cost_line(DEFAULT_ENDPOINT_INSTANCE)
        + " Deleting the endpoint stops that; S3 storage of the staged images and captures costs "
        "cents per month. " + teardown.stack_cost_line()
    )


# --- parser -------------------------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--region", help="AWS region (default: from the boto3 session / AWS_REGION)")
    common.add_argument("--profile", help="AWS named profile (default: AWS_PROFILE / default chain)")
    common.add_argument("--quiet", action="store_true", help="no progress bars")
    return common


def _add_stage(subparsers, common) -> None:
    p = subparsers.add_parser(
        "stage",
        parents=[common],
        help="stage CIFAR-100 bicycles/motorcycles as the four S3 channels",
        description="Download CIFAR-100 (or read --from-dir), keep bicycles (0) and motorcycles (1), "
        "write PNGs + .lst files and upload the train, validation, train_lst and validation_lst "
        "channels to s3://BUCKET/PREFIX/. Reruns upload only files whose size or MD5 changed.",
    )
    p.add_argument("--bucket", required=True, help="S3 bucket (must exist)")
    p.add_argument("--prefix", default=DEFAULT_PREFIX, help="key prefix (default: %(default)s)")
    p.add_argument(
        "--from-dir",
        type=Path,
        help="offline: a folder with train.lst + train/*.png (e.g. ../shared/data/"
        "cifar100-bicycle-motorcycle); a validation split is carved out of it",
    )
    p.add_argument(
        "--work-dir",
        type=Path,
        default=_default_work_dir(),
        help="where the archive and the channel tree are kept (default: %(default)s)",
    )
    p.add_argument(
        "--source-url", default=CIFAR_URL, help="archive URL, https:// or file:// (default: %(default)s)"
    )
    p.add_argument(
        "--source-md5", default=CIFAR_MD5, help="expected MD5 of the archive (default: %(default)s)"
    )
    p.add_argument(
        "--validation-fraction",
        type=float,
        default=0.2,
        help="with --from-dir: share of each class held out for validation (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="with --from-dir: split seed (default: %(default)s)")
    p.add_argument(
        "--delete", action="store_true", help="delete objects under the channels that are no longer staged"
    )
    _add_reviewed_options(p)
    p.set_defaults(func=run_stage)


def _add_train(subparsers, common) -> None:
    p = subparsers.add_parser(
        "train",
        parents=[common],
        help="train the built-in image-classification algorithm",
        description="Start a SageMaker training job (built-in image-classification, 2 classes) on "
        "the staged channels: by default an ImageNet-pretrained ResNet-18 fine-tuned at 3x224x224, "
        "the algorithm upscaling the 32x32 images (resize=224), as its documentation requires of "
        "pretrained models; --from-scratch trains a small-image ResNet at 3x32x32 instead. Waits "
        "with progress, prints validation:accuracy and the model artifact's S3 URI.",
    )
    p.add_argument("--bucket", required=True, help="bucket that `stage` filled")
    p.add_argument("--prefix", default=DEFAULT_PREFIX, help="key prefix (default: %(default)s)")
    _add_role_arn(p)
    p.add_argument(
        "--instance-type",
        default=DEFAULT_TRAINING_INSTANCE,
        help="GPU training instance (default: %(default)s, about $0.74/h on demand)",
    )
    p.add_argument("--epochs", type=int, default=30, help="(default: %(default)s; early stopping is on)")
    p.add_argument("--learning-rate", type=float, default=0.01, help="(default: %(default)s)")
    p.add_argument("--mini-batch-size", type=int, default=32, help="(default: %(default)s)")
    p.add_argument(
        "--from-scratch",
        action="store_true",
        help="train a small-image ResNet at 3x32x32 instead of fine-tuning an ImageNet one at 3x224x224",
    )
    p.add_argument(
        "--num-layers",
        type=int,
        help="ResNet depth: 18, 34, 50, 101, 152 or 200 for transfer learning (default 18); "
        "20, 32, 44, 56 or 110 with --from-scratch (default 20)",
    )
    p.add_argument(
        "--num-training-samples", type=int, help="default: the number of lines of the staged train .lst"
    )
    p.add_argument("--max-run", type=int, default=3600, help="MaxRuntimeInSeconds (default: %(default)s)")
    p.add_argument("--spot", action="store_true", help="managed spot training, with S3 checkpoints")
    p.add_argument(
        "--max-wait",
        type=int,
        help="with --spot: MaxWaitTimeInSeconds, >= --max-run (default: twice --max-run)",
    )
    p.add_argument("--job-name", help="default: vehicle-ic-<UTC timestamp>")
    p.add_argument("--no-wait", action="store_true", help="start the job and return")
    p.add_argument("--poll-seconds", type=float, default=30, help=argparse.SUPPRESS)
    _add_reviewed_options(p)
    p.set_defaults(func=run_train)


def _add_role_arn(p: argparse.ArgumentParser) -> None:
    role = os.environ.get(ROLE_ENV)
    p.add_argument(
        "--role-arn",
        default=role,
        required=role is None,
        help=f"SageMaker execution role (default: ${ROLE_ENV})",
    )


def _s3_uri(text: str) -> str:
    from scones_core.aws import parse_s3_uri

    try:
        parse_s3_uri(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return text


def _seconds(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more seconds")
    return value


def _percentage(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError("must be between 0 and 100")
    return value


def _add_deploy(subparsers, common) -> None:
    p = subparsers.add_parser(
        "deploy",
        parents=[common],
        help="deploy the model to an endpoint with data capture",
        description="Create a model and an endpoint config with data capture (input and output), "
        "then create the endpoint, or roll it out onto the existing one (smoke test, then a "
        "blue/green update with alarm rollback); wait for InService.",
    )
    p.add_argument("--model-data", required=True, type=_s3_uri, help="s3://.../model.tar.gz from `train`")
    p.add_argument("--endpoint-name", required=True, help="the name the SAM stack takes as EndpointName")
    _add_role_arn(p)
    p.add_argument(
        "--instance-type",
        default=DEFAULT_ENDPOINT_INSTANCE,
        help="(default: %(default)s, about $0.115/h on demand)",
    )
    p.add_argument(
        "--instance-count",
        type=_bounded_int(1, 100),
        default=1,
        help="instances behind the endpoint, each billed (default: %(default)s; a canary or linear "
        "rollout needs 2 or more)",
    )
    p.add_argument(
        "--prefix",
        default=DEFAULT_PREFIX,
        help="key prefix of the model bucket, as for stage and train (default: %(default)s)",
    )
    p.add_argument(
        "--capture-s3-uri",
        type=_s3_uri,
        help="data capture destination (default: s3://<model bucket>/<prefix>/data-capture)",
    )
    p.add_argument(
        "--sampling-percentage",
        type=_percentage,
        default=100,
        help="share of requests captured, 0-100 (default: %(default)s)",
    )
    p.add_argument(
        "--busy-wait",
        type=_seconds,
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
    _add_rollout(p)
    _add_autoscaling(p)
    p.set_defaults(func=run_deploy)


def _bounded_int(low: int, high: int):
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}..{high}")
        return value

    return parse


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _add_rollout(p: argparse.ArgumentParser) -> None:
    """Deploying onto an existing endpoint: SageMaker's blue/green update with traffic shifting
    and alarm rollback, after a smoke test of the new config (training_job/rollout.py, smoke.py)."""
    from training_job.rollout import (
        DEFAULT_BAKE_SECONDS,
        DEFAULT_CANARY_PERCENT,
        DEFAULT_LATENCY_ALARM_MS,
        DEFAULT_LINEAR_PERCENT,
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
        default="canary",
        help="how traffic moves to the new fleet (default: %(default)s; canary and linear need "
        "--instance-count 2 or more)",
    )
    g.add_argument(
        "--canary-percent",
        type=_bounded_int(1, 50),
        default=DEFAULT_CANARY_PERCENT,
        help="share of the fleet the canary takes, at least one instance (default: %(default)s)",
    )
    g.add_argument(
        "--linear-percent",
        type=_bounded_int(10, 50),
        default=DEFAULT_LINEAR_PERCENT,
        help="share of the fleet each linear step takes (default: %(default)s)",
    )
    g.add_argument(
        "--bake-seconds",
        type=_bounded_int(0, MAX_WAIT_SECONDS),
        default=DEFAULT_BAKE_SECONDS,
        help="how long each step is watched before the next (default: %(default)s)",
    )
    g.add_argument(
        "--latency-alarm-ms",
        type=_bounded_int(1, 60_000),
        default=DEFAULT_LATENCY_ALARM_MS,
        help="roll back when p90 ModelLatency stays above this, 2 minutes running (default: %(default)s)",
    )
    g.add_argument(
        "--stack-name",
        default=DEFAULT_STACK_NAME,
        help="SAM stack whose LowConfidenceShareAlarm also rolls back (default: %(default)s)",
    )
    g.add_argument("--no-stack-alarm", action="store_true", help="leave the stack's alarm out")
    g.add_argument(
        "--min-smoke-accuracy",
        type=_share,
        default=DEFAULT_MIN_SMOKE_ACCURACY,
        help="share of the sample photos the new config must get right (default: %(default)s)",
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
        f"README's assumed {ASSUMED_INVOCATIONS_PER_SECOND} photos/s per ml.m5.large, not measured "
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


def _add_teardown(subparsers, common) -> None:
    p = subparsers.add_parser(
        "teardown",
        parents=[common],
        help="delete the project's endpoints, configs, models and rollback alarms",
        description=f"Delete the endpoints, endpoint configs, models and deploy's rollback alarms "
        f"tagged {PROJECT_TAG_KEY}={PROJECT_TAG_VALUE} (only those of --endpoint-name, if given); then "
        "say what SageMaker's log groups (which never expire), the SAM stack and the bucket still "
        "hold and how to delete them. Idempotent.",
    )
    p.add_argument("--endpoint-name", help="only this endpoint and the configs and models made for it")
    p.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    p.add_argument(
        "--stack-name", default=DEFAULT_STACK_NAME, help="SAM stack to report on (default: %(default)s)"
    )
    p.add_argument("--bucket", help="bucket to report on (the one `stage` used)")
    p.add_argument("--prefix", default="", help="only this prefix of --bucket (default: the whole bucket)")
    p.set_defaults(func=run_teardown)


def _register_local_model(subparsers) -> None:
    """`train-local` and `evaluate`, written in training_job/local_model/cli.py."""
    try:
        from training_job.local_model.cli import register
    except ModuleNotFoundError as error:
        if error.name in ("training_job.local_model", "training_job.local_model.cli"):
            return
        raise
    register(subparsers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="training-job",
        description="Build the bicycle/motorcycle model and the SageMaker endpoint the SAM stack uses.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="<command>")
    common = _common()
    _add_stage(subparsers, common)
    _add_train(subparsers, common)
    _add_deploy(subparsers, common)
    _add_teardown(subparsers, common)
    _register_local_model(subparsers)
    return parser


def _quota_hint(info: dict) -> str:
    """New accounts start with a quota of 0 for many SageMaker instance types: say how to ask."""
    if info.get("Code") != "ResourceLimitExceeded":
        return ""
    return (
        " (raise it with Service Quotas: aws service-quotas list-service-quotas --service-code "
        "sagemaker finds the quota's code, request-service-quota-increase asks for more)"
    )


def _fail(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return 2

    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    from scones_core.stack_outputs import StackLookupError
    from training_job.exceptions import TrainingJobCommandError, UsageError

    try:
        return args.func(args)
    except NoCredentialsError:
        return _fail(
            "no AWS credentials found: set AWS_PROFILE (or run `aws configure` / "
            "`aws sso login`) and try again"
        )
    except NoRegionError:
        return _fail("no AWS region: pass --region or set AWS_REGION (or a region in your AWS profile)")
    except UsageError as error:
        return _fail(str(error), code=2)
    except TrainingJobCommandError as error:
        return _fail(str(error))
    except ClientError as error:
        info = error.response.get("Error", {})
        return _fail(
            f"AWS {error.operation_name}: {info.get('Code')}: {info.get('Message')}{_quota_hint(info)}"
        )
    except BotoCoreError as error:
        return _fail(str(error))
    except StackLookupError as error:
        return _fail(str(error))
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] == "sagemaker":
            return _fail("this command needs the SageMaker SDK: pip install '.[cloud]' (sagemaker-core)")
        raise
    except KeyboardInterrupt:
        return _fail("interrupted (anything already started in AWS keeps running)", code=130)
