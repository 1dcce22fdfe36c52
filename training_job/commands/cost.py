"""``cost``: what a month costs on AWS, line by line, for a number of photos a day and a
configuration; the cost per 1,000 photos and the break-even against serverless.

It lives in training_job because the endpoint (instances or serverless, `deploy`'s choice) is
most of the bill, and `deploy`'s options are the ones it prices. Nothing here calls AWS except
``--measure-from-logs``, which reads the stack's CloudWatch Logs (AWS's, or the local stack's
through AWS_ENDPOINT_URL) and prints the measurements file's ``measured`` part.
"""

from __future__ import annotations

import argparse

from scones_core.project import DEFAULT_ENDPOINT_INSTANCE, DEFAULT_STACK_NAME
from training_job.commands.argument_types import bounded_int, percentage, share
from training_job.commands.cloud import out

NAME = "cost"
HELP = "what a month costs on AWS, line by line"
DESCRIPTION = (
    "The month's cost for PHOTOS_PER_DAY photos and a configuration, line by line: endpoint or "
    "serverless compute, Step Functions transitions (from the ASL's path), Lambda GB-s (measured "
    "durations at template.yaml's MemorySize), S3, logs, KMS, dashboard, alarms; the cost per "
    "1,000 photos; the photos a day above which an instance endpoint beats serverless. Prices: "
    "training_job/cost_data/prices.json; measurements: training_job/cost_data/measurements.json."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--photos-per-day", type=float, default=1000, help="(default: %(default)s)")
    p.add_argument("--serverless", action="store_true", help="a serverless endpoint instead of instances")
    p.add_argument("--instance-type", default=DEFAULT_ENDPOINT_INSTANCE, help="(default: %(default)s)")
    p.add_argument("--instance-count", type=bounded_int(1, 100), default=1, help="(default: %(default)s)")
    p.add_argument(
        "--memory-mb",
        type=int,
        choices=range(1024, 6145, 1024),
        default=2048,
        metavar="{1024,...,6144}",
        help="serverless memory (default: %(default)s)",
    )
    p.add_argument(
        "--provisioned-concurrency",
        type=bounded_int(0, 200),
        default=0,
        help="serverless provisioned concurrency, billed all month (default: %(default)s)",
    )
    p.add_argument("--workflow", choices=["Standard", "Express"], default="Standard")
    p.add_argument("--capture", choices=["Endpoint", "Function"], default="Endpoint", help="CaptureMode")
    p.add_argument("--sampling-percentage", type=percentage, default=100)
    p.add_argument(
        "--refused-share", type=share, default=0.1, help="share of photos refused (default: %(default)s)"
    )
    p.add_argument("--photo-kb", type=float, default=200, help="a photo's size (default: %(default)s)")
    p.add_argument(
        "--inference-ms",
        type=float,
        default=100,
        help="serverless inference per photo, assumed until measured on AWS (default: %(default)s)",
    )
    p.add_argument(
        "--markdown",
        action="store_true",
        help="print the docs' tables (README, docs/costs.md embed them) instead",
    )
    p.add_argument(
        "--measure-from-logs",
        action="store_true",
        help="read the stack's function and workflow logs (after a run of photos) and print "
        "the measurements as JSON",
    )
    p.add_argument("--stack-name", default=DEFAULT_STACK_NAME, help="for --measure-from-logs")
    p.add_argument("--region", help="for --measure-from-logs")
    p.add_argument("--profile", help="for --measure-from-logs")


def run(args: argparse.Namespace) -> int:
    if args.measure_from_logs:
        return _measure(args)
    from training_job import costs

    inputs = costs.load_inputs()
    if args.markdown:
        print(costs.markdown(inputs), end="")
        return 0
    config = costs.CostConfig(
        photos_per_day=args.photos_per_day,
        endpoint="serverless" if args.serverless else "instance",
        instance_type=args.instance_type,
        instance_count=args.instance_count,
        memory_mb=args.memory_mb,
        provisioned_concurrency=args.provisioned_concurrency,
        workflow=args.workflow,
        capture=args.capture,
        sampling_percentage=args.sampling_percentage,
        refused_share=args.refused_share,
        photo_bytes=int(args.photo_kb * 1000),
        inference_ms=args.inference_ms,
    )
    _check_instance_type(config, inputs)
    lines = costs.month_lines(config, inputs)
    width = max(len(line.item) for line in lines)
    for line in lines:
        out(f"{line.item:<{width}}  {costs.usd(line.usd):>10}  {line.detail}")
    out(f"{'total a month':<{width}}  {costs.usd(costs.total(lines)):>10}")
    out(f"per 1,000 photos: {costs.usd(costs.per_thousand_photos(config, inputs))}")
    even = costs.break_even(config, inputs)
    out(
        "an instance endpoint is cheaper than serverless above "
        + (f"{even:,.0f} photos a day" if even is not None else "no volume: serverless stays cheaper")
        + f" ({config.instance_count} x {config.instance_type} against {config.memory_mb} MB)"
    )
    return 0


def _check_instance_type(config, inputs) -> None:
    from training_job.exceptions import UsageError

    known = [name for name in inputs.prices["sagemaker_instance_hour"] if name.startswith("ml.")]
    if config.instance_type not in known:
        raise UsageError(
            f"--instance-type {config.instance_type}: no price in training_job/cost_data/prices.json "
            f"(priced: {', '.join(known)}); add it with its source page"
        )


def _measure(args: argparse.Namespace) -> int:
    import json

    from scones_core.aws import aws_client, make_session
    from training_job.cost_measurements import measure

    session = make_session(args.region, args.profile)
    print(json.dumps(measure(aws_client(session, "logs"), args.stack_name), indent=2))
    return 0
