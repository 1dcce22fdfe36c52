"""``python -m local_stack up | run | demo | bench``: the SAM stack's workflow on this machine."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from local_stack.runner import LocalStackError
from local_stack.template import REPO_ROOT, Template

SAMPLES_DIR = REPO_ROOT / "samples" / "images"
SAMPLES_LST = REPO_ROOT / "samples" / "images.lst"
STACK_NAME = "scones-local"
DEFAULT_EXECUTION_ENVIRONMENTS = 4


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except LocalStackError as error:
        print(f"local_stack: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="start the stack and serve until Ctrl-C (the local `sam deploy`)")
    _stack_options(up)
    up.add_argument(
        "--stop-with-parent",
        action="store_true",
        help="also stop when the process that started this one ends (for scripts, e.g. bench)",
    )
    up.set_defaults(func=_up)

    run = commands.add_parser("run", help="one workflow execution per image, a table and a summary")
    run.add_argument("--images", type=Path, required=True, help="folder of images (non-images fail by name)")
    run.add_argument("--lst", type=Path, help="index<TAB>label<TAB>path file: expected labels")
    run.add_argument("--concurrency", type=int, default=8, help="executions in flight (default 8)")
    run.add_argument("--limit", type=int, help="run only the first N images")
    run.add_argument("--json", type=Path, help="write {summary, executions} here")
    _stack_options(run)
    run.set_defaults(func=_run)

    demo = commands.add_parser(
        "demo", help="the committed samples through the stack, then the monitoring report"
    )
    demo.add_argument("--out", type=Path, default=REPO_ROOT / "out" / "demo", help="where results go")
    demo.set_defaults(func=_demo)

    bench = commands.add_parser(
        "bench", help="throughput at concurrency N against calling the handlers directly"
    )
    bench.add_argument("--executions", type=int, default=400)
    bench.add_argument("--concurrency", type=int, default=16)
    bench.add_argument("--execution-environments", type=int, default=DEFAULT_EXECUTION_ENVIRONMENTS)
    bench.set_defaults(func=_bench)
    return parser


def _stack_options(parser: argparse.ArgumentParser) -> None:
    from local_stack.services import DEFAULT_BUCKET, DEFAULT_ENDPOINT_NAME

    parser.add_argument("--threshold", type=float, help="ConfidenceThreshold (default: the template's)")
    parser.add_argument("--model", type=Path, help="ONNX model (default: the one training_job ships)")
    parser.add_argument("--endpoint-name", default=DEFAULT_ENDPOINT_NAME)
    parser.add_argument("--bucket", default=DEFAULT_BUCKET)
    parser.add_argument("--sampling-percentage", type=int, default=100, help="data capture sampling (0-100)")
    parser.add_argument(
        "--endpoint-fail-rate", type=float, default=0.0, help="share of endpoint calls throttled"
    )
    parser.add_argument(
        "--endpoint-latency-ms",
        type=float,
        default=0.0,
        help="added to every endpoint call (each execution environment runs one handler at a "
        "time, so this also caps executions/s at environments x 1000 / latency)",
    )
    parser.add_argument(
        "--execution-environments",
        type=int,
        default=DEFAULT_EXECUTION_ENVIRONMENTS,
        help="worker processes that run the functions, one invocation each at a time, as Lambda's "
        "execution environments do; 0 runs them in the stack's own process, one at a time "
        f"(default {DEFAULT_EXECUTION_ENVIRONMENTS})",
    )
    parser.add_argument("--log-level", default="WARNING", help="the functions' POWERTOOLS_LOG_LEVEL")
    parser.add_argument(
        "--function-log",
        type=Path,
        help="append the functions' JSON logs and EMF metrics here (default: drop)",
    )


def default_stack_options(**overrides: object) -> argparse.Namespace:
    """The stack options as ``up``/``run`` default them, for the commands that take none."""
    parser = argparse.ArgumentParser()
    _stack_options(parser)
    options = parser.parse_args([])
    vars(options).update(overrides)
    return options


def start_stack(args: argparse.Namespace):
    """Start the services and deploy the template's workflow into them."""
    from local_stack import services, stack
    from training_job.local_model import MODEL_PATH

    template = Template.load()
    parameters = _template_parameters(args, template)
    if args.execution_environments < 0:
        raise LocalStackError(f"--execution-environments {args.execution_environments}: must be 0 or more")
    if not 0 <= args.sampling_percentage <= 100:
        raise LocalStackError(f"--sampling-percentage {args.sampling_percentage}: must lie in 0..100")
    if not 0 <= args.endpoint_fail_rate <= 1:
        raise LocalStackError(f"--endpoint-fail-rate {args.endpoint_fail_rate}: must lie in 0..1")
    model = args.model or MODEL_PATH
    if not model.is_file():
        raise LocalStackError(f"model {model} not found: train one with `python -m training_job train-local`")
    running = services.start(
        model_path=model,
        endpoint_name=args.endpoint_name,
        bucket=args.bucket,
        sampling_percentage=args.sampling_percentage,
        endpoint_fail_rate=args.endpoint_fail_rate,
        endpoint_latency_ms=args.endpoint_latency_ms,
        function_log=args.function_log,
    )
    try:
        deployed = stack.deploy(
            running.session(),
            endpoint_name=args.endpoint_name,
            bucket=args.bucket,
            stack_name=STACK_NAME,
            parameters=parameters,
            template=template,
            execution_environments=args.execution_environments,
            function_log=args.function_log,
        )
    except BaseException:  # Ctrl-C too: nothing is left running
        running.close()
        raise
    running.execution_environments = deployed.environments  # closed first when the services close
    return running, deployed


def _template_parameters(args: argparse.Namespace, template: Template) -> dict[str, str]:
    """The template parameters the options set, refused as `sam deploy` would refuse them
    (the template's constraints, S3's bucket naming rules) before anything starts."""
    from local_stack.stack import InvalidBucketName, check_bucket_name
    from local_stack.template import ParameterValidationError

    flags = {
        "ConfidenceThreshold": "--threshold",
        "EndpointName": "--endpoint-name",
        "LogLevel": "--log-level",
    }
    parameters = {"LogLevel": args.log_level}
    if args.threshold is not None:
        parameters["ConfidenceThreshold"] = str(args.threshold)
    values = {**parameters, "EndpointName": args.endpoint_name}
    try:
        template.check_parameters(values)
        check_bucket_name(args.bucket)
    except ParameterValidationError as error:
        raise LocalStackError(f"{flags[error.parameter]} {values[error.parameter]}: {error}") from error
    except InvalidBucketName as error:
        raise LocalStackError(f"--bucket: {error}") from error
    return parameters


def _up(args: argparse.Namespace) -> int:
    running, deployed = start_stack(args)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        for name, value in running.environment.items():
            print(f"export {name}={value}")
        print(f"# bucket:        {deployed.bucket}")
        print(f"# state machine: {deployed.state_machine_arn}")
        print(
            f"# endpoint:      {running.endpoint_name}  (capture: s3://{deployed.bucket}/{running.capture_prefix}/)"
        )
        print("# serving; Ctrl-C to stop", flush=True)
        parent = os.getppid()
        while not stop.wait(1.0):
            if args.stop_with_parent and os.getppid() != parent:
                break
    finally:
        running.close()
        print("# stopped", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
    from local_stack import runner

    images, warnings = runner.find_images(args.images, args.lst, args.limit)
    for warning in warnings:
        print(f"local_stack: {warning}", file=sys.stderr)
    if args.concurrency < 1:
        raise LocalStackError("--concurrency must be at least 1")
    attached = _running_stack()
    if attached:
        session, state_machine_arn = attached
        bucket = _stack_bucket(session, args.bucket)
        print(
            f"local_stack: using the stack at {os.environ['AWS_ENDPOINT_URL']} (its own settings), "
            f"bucket {bucket}",
            file=sys.stderr,
        )
        stop = None
    else:
        running, deployed = start_stack(args)
        session, state_machine_arn, stop = running.session(), deployed.state_machine_arn, running.close
        bucket = deployed.bucket
    try:
        keys = runner.upload_images(session.client("s3"), bucket, images)
        results, wall = runner.run_executions(
            session.client("stepfunctions"), state_machine_arn, bucket, images, keys, args.concurrency
        )
    finally:
        if stop:
            stop()
    summary = runner.summarize(results, wall)
    runner.print_table(results, summary)
    if args.json:
        runner.write_json(args.json, summary, results)
        print(f"results: {args.json}")
    return 0


def _running_stack():
    """``(session, state machine ARN)`` of a stack that ``up`` serves, when its exports are set."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    url = os.environ.get("AWS_ENDPOINT_URL", "")
    if not url.startswith("http://127.0.0.1:"):
        return None
    session = boto3.Session(region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    try:
        machines = session.client("stepfunctions").list_state_machines()["stateMachines"]
    except (BotoCoreError, ClientError) as error:
        raise LocalStackError(
            f"AWS_ENDPOINT_URL={url} is set but does not answer ({error}); unset it"
        ) from error
    arns = [m["stateMachineArn"] for m in machines if m["name"] == f"{STACK_NAME}-ClassifyImage"]
    return (session, arns[0]) if arns else None


def _stack_bucket(session, requested: str) -> str:
    """The bucket of the stack that ``up`` serves: ``requested`` if it holds it, else its one
    bucket (``up --bucket`` may have named another than ``run``'s default)."""
    from local_stack.services import DEFAULT_BUCKET

    buckets = [bucket["Name"] for bucket in session.client("s3").list_buckets()["Buckets"]]
    if requested in buckets:
        return requested
    if requested == DEFAULT_BUCKET and len(buckets) == 1:
        return buckets[0]
    raise LocalStackError(
        f"--bucket {requested}: the stack at {os.environ['AWS_ENDPOINT_URL']} serves "
        f"{', '.join(buckets) or 'no bucket'}; name one of them"
    )


def _demo(args: argparse.Namespace) -> int:
    from local_stack.demo import run_demo

    return run_demo(args.out)


def _bench(args: argparse.Namespace) -> int:
    from local_stack.bench import run_bench

    return run_bench(args.executions, args.concurrency, args.execution_environments)
