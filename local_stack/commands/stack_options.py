"""The options of the commands that start a stack (``up``, ``run``, ``demo``) and the start
itself: the services, then the local ``sam deploy`` into them, refusing first what AWS would
refuse (the template's parameter constraints, S3's bucket naming rules)."""

from __future__ import annotations

import argparse
from pathlib import Path

from local_stack.errors import InvalidBucketName, ParameterValidationError, TemplateRuleFailed, UsageError
from local_stack.settings import (
    DEFAULT_BUCKET,
    DEFAULT_ENDPOINT_NAME,
    DEFAULT_EXECUTION_ENVIRONMENTS,
    DEFAULT_RETAIN_EXECUTIONS,
    DEFAULT_RETAIN_LOG_EVENTS,
    STACK_NAME,
)

# the template parameter each option sets, so that an error names the flag the user typed
_FLAGS = {
    "ConfidenceThreshold": "--threshold",
    "EndpointName": "--endpoint-name",
    "LogLevel": "--log-level",
    "LowConfidenceAction": "--low-confidence-action",
    "ReviewTimeoutSeconds": "--review-timeout-seconds",
    "BatchSize": "--batch-size",
    "BatchMaxConcurrency": "--batch-max-concurrency",
    "CaptureMode": "--capture-mode",
    "CaptureSamplingPercentage": "--sampling-percentage",
    "FunctionReservedConcurrency": "--function-reserved-concurrency",
    "EndpointTimeoutSeconds": "--endpoint-timeout-seconds",
    "WorkflowType": "--workflow-type",
}


def add_stack_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threshold", type=float, help="ConfidenceThreshold (default: the template's)")
    parser.add_argument(
        "--low-confidence-action",
        help="LowConfidenceAction: Fail (refuse, the default) or Review (wait for `python -m review`)",
    )
    parser.add_argument(
        "--workflow-type",
        help="WorkflowType: Standard (the default) or Express (one execution's history only in its "
        "log group, 5 minutes at most, LowConfidenceAction Fail only)",
    )
    parser.add_argument(
        "--review-timeout-seconds", type=int, help="ReviewTimeoutSeconds (default: the template's, 24 h)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        help="BatchSize: photos per child execution of a batch (default: the template's)",
    )
    parser.add_argument(
        "--batch-max-concurrency",
        type=int,
        help="BatchMaxConcurrency: a batch's child executions at once (default: the template's, 100; "
        "each waits its turn for the execution environments here, in a thread per photo)",
    )
    parser.add_argument("--model", type=Path, help="ONNX model (default: the one training_job ships)")
    parser.add_argument("--endpoint-name", default=DEFAULT_ENDPOINT_NAME)
    parser.add_argument("--bucket", default=DEFAULT_BUCKET)
    parser.add_argument("--sampling-percentage", type=int, default=100, help="data capture sampling (0-100)")
    parser.add_argument(
        "--capture-mode",
        help="CaptureMode: Endpoint (the endpoint captures, the default) or Function (ClassifyImage "
        "writes the capture; the endpoint captures nothing, as a serverless one cannot)",
    )
    parser.add_argument(
        "--endpoint-fail-rate", type=float, default=0.0, help="share of endpoint calls throttled"
    )
    parser.add_argument(
        "--seed",
        type=int,
        help="seed of the endpoint's fault injection: the same seed throttles the same calls "
        "(default: a fresh draw each run)",
    )
    parser.add_argument(
        "--endpoint-latency-ms",
        type=float,
        default=0.0,
        help="added to every endpoint call (each execution environment runs one handler at a "
        "time, so this also caps executions/s at environments x 1000 / latency)",
    )
    _add_capacity_options(parser)
    parser.add_argument(
        "--execution-environments",
        type=int,
        default=DEFAULT_EXECUTION_ENVIRONMENTS,
        help="worker processes that run the functions, one invocation each at a time, as Lambda's "
        "execution environments do; 0 runs them in the stack's own process, one at a time "
        f"(default {DEFAULT_EXECUTION_ENVIRONMENTS})",
    )
    parser.add_argument(
        "--retain-executions",
        type=int,
        default=DEFAULT_RETAIN_EXECUTIONS,
        metavar="N",
        help="ended executions the stack keeps for describe, list and history; older ones are "
        "forgotten, oldest first, histories included (AWS keeps them 90 days). Each costs `up` "
        "memory until then, as its input, output and history carry the image's base64 several "
        "times: ~72 KB with the 3 KB samples, ~145 KB with a 180 KB photo (measured by bench "
        f"--soak). The default, {DEFAULT_RETAIN_EXECUTIONS}, holds that to ~150 MB and stays far "
        "above what a client waits on at once (--concurrency)",
    )
    parser.add_argument(
        "--retain-log-events",
        type=int,
        default=DEFAULT_RETAIN_LOG_EVENTS,
        metavar="N",
        help="log events CloudWatch Logs keeps per log group, the oldest dropped first whichever "
        "stream holds them, as a group's retention (RetentionInDays) drops them on AWS. The state "
        "machine's group takes ~21 events an execution, a function's ~6 an invocation, so the "
        f"default, {DEFAULT_RETAIN_LOG_EVENTS}, keeps the last ~470 executions' events and ~1,600 "
        "invocations' lines of each function (docs/local-stack.md: what a long-running up keeps)",
    )
    parser.add_argument(
        "--log-level", help="the functions' POWERTOOLS_LOG_LEVEL (default: the template's LogLevel)"
    )
    parser.add_argument(
        "--no-iam",
        action="store_true",
        help="do not check calls against IAM (for debugging; LOCAL_STACK_IAM=off does the same)",
    )
    parser.add_argument(
        "--function-log",
        type=Path,
        help="append the functions' JSON logs and EMF metrics here (default: drop)",
    )


def _add_capacity_options(parser: argparse.ArgumentParser) -> None:
    """The endpoint's and Lambda's capacity (docs/local-stack.md, "Capacity")."""
    from local_stack.aws.endpoint_capacity import DEFAULT_INSTANCE_TYPE
    from local_stack.aws.lambda_concurrency_limits import DEFAULT_ACCOUNT_CONCURRENCY

    parser.add_argument(
        "--endpoint-timeout-seconds",
        type=int,
        help="EndpointTimeoutSeconds: ClassifyImage's read timeout (default: the template's)",
    )
    parser.add_argument(
        "--endpoint-instances",
        type=int,
        help="the endpoint's InstanceCount (default: the local SageMaker's endpoint config, else 1)",
    )
    parser.add_argument(
        "--endpoint-instance-type", help=f"its InstanceType (default {DEFAULT_INSTANCE_TYPE})"
    )
    parser.add_argument(
        "--endpoint-workers",
        type=int,
        help="requests one instance serves at once (default: the instance type's vCPUs)",
    )
    parser.add_argument(
        "--endpoint-service-ms",
        type=float,
        help="the time one request holds a worker (default: the model's, measured on this machine)",
    )
    parser.add_argument(
        "--endpoint-max-concurrency",
        type=int,
        help="serve as a serverless endpoint with this MaxConcurrency (1-200): requests past it "
        "are throttled (ThrottlingException), none queue",
    )
    parser.add_argument(
        "--endpoint-cold-start-seconds",
        type=float,
        help="the first request, and the first after --endpoint-idle-seconds without one, waits "
        "this long (default 0)",
    )
    parser.add_argument(
        "--endpoint-idle-seconds",
        type=float,
        help="idle time after which the endpoint is cold again (default: never)",
    )
    parser.add_argument(
        "--endpoint-unlimited",
        action="store_true",
        help="answer every request at once, as fast as this machine can (no capacity)",
    )
    parser.add_argument(
        "--function-reserved-concurrency",
        type=int,
        help="FunctionReservedConcurrency: each workflow function's reserved concurrency "
        "(default: the template's, -1: none)",
    )
    parser.add_argument(
        "--lambda-concurrency",
        type=int,
        default=DEFAULT_ACCOUNT_CONCURRENCY,
        help="the account's Lambda concurrency: invocations past it (and past a function's reserved "
        f"concurrency) get TooManyRequestsException (default {DEFAULT_ACCOUNT_CONCURRENCY}, AWS's quota)",
    )


_CAPACITY_OPTIONS = {
    "endpoint_instances": "instance_count",
    "endpoint_instance_type": "instance_type",
    "endpoint_workers": "workers_per_instance",
    "endpoint_max_concurrency": "max_concurrency",
    "endpoint_cold_start_seconds": "cold_start_seconds",
    "endpoint_idle_seconds": "idle_seconds",
}


def endpoint_capacity(args: argparse.Namespace) -> dict | None:
    """The capacity the options set (only those given: the endpoint config fills the others),
    checked; None: unlimited."""
    from local_stack.aws.endpoint_capacity import CapacityError, EndpointCapacity

    if getattr(args, "endpoint_unlimited", False):
        return None
    fields = {
        field: getattr(args, option)
        for option, field in _CAPACITY_OPTIONS.items()
        if getattr(args, option, None) is not None
    }
    if getattr(args, "endpoint_service_ms", None) is not None:
        fields["service_seconds"] = args.endpoint_service_ms / 1000
    try:
        EndpointCapacity(**fields)
    except CapacityError as error:
        raise UsageError(f"endpoint capacity: {error}") from error
    return fields


def default_stack_options(**overrides: object) -> argparse.Namespace:
    """The stack options as ``up``/``run`` default them, for the commands that take none."""
    parser = argparse.ArgumentParser()
    add_stack_options(parser)
    options = parser.parse_args([])
    vars(options).update(overrides)
    return options


def start_stack(args: argparse.Namespace):
    """Start the services and deploy the template's workflow into them: ``(services, deployed)``.
    An upload to ``services.upload_location`` then starts an execution (the template's
    ``UploadRule``)."""
    from local_stack.aws import deploy, upload_trigger
    from local_stack.aws.template import Template
    from local_stack.processes import services
    from training_job.local_model import MODEL_PATH

    template = Template.load()
    parameters = _template_parameters(args, template)
    model = _check_service_options(args, args.model or MODEL_PATH)
    running = services.start(
        model_path=model,
        endpoint_name=args.endpoint_name,
        bucket=args.bucket,
        # under CaptureMode Function the endpoint captures nothing: ClassifyImage samples instead
        sampling_percentage=0 if parameters.get("CaptureMode") == "Function" else args.sampling_percentage,
        endpoint_fail_rate=args.endpoint_fail_rate,
        endpoint_latency_ms=args.endpoint_latency_ms,
        seed=args.seed,
        function_log=args.function_log,
        retain_executions=args.retain_executions,
        endpoint_capacity=endpoint_capacity(args),
        lambda_concurrency=args.lambda_concurrency,
        iam=not getattr(args, "no_iam", False),
        retain_log_events=args.retain_log_events,
    )
    try:
        deployed = deploy.deploy(
            running.session(),
            endpoint_name=args.endpoint_name,
            bucket=args.bucket,
            stack_name=STACK_NAME,
            parameters=parameters,
            template=template,
            execution_environments=args.execution_environments,
            function_log=args.function_log,
        )
        running.execution_environments = deployed.environments  # closed first when the services close
        # the rule as deployed (EventBridge's copy of the transformed template's UploadRule)
        rule = upload_trigger.deployed_upload_rule(
            running.session().client("events"), deployed.resources[upload_trigger.RULE_ID].physical_id
        )
        running.arm_upload_trigger(rule, deployed.outputs[upload_trigger.UPLOAD_LOCATION_OUTPUT])
    except BaseException:  # Ctrl-C too: nothing is left running
        running.close()
        raise
    return running, deployed


def _check_service_options(args: argparse.Namespace, model: Path) -> Path:
    """The options that are not template parameters, refused by name; the model to serve."""
    if args.retain_executions < 1:
        raise UsageError(f"--retain-executions {args.retain_executions}: must be at least 1")
    if args.retain_log_events < 1:
        raise UsageError(f"--retain-log-events {args.retain_log_events}: must be at least 1")
    if args.execution_environments < 0:
        raise UsageError(f"--execution-environments {args.execution_environments}: must be 0 or more")
    if not 0 <= args.sampling_percentage <= 100:
        raise UsageError(f"--sampling-percentage {args.sampling_percentage}: must lie in 0..100")
    if args.lambda_concurrency < 1:
        raise UsageError(f"--lambda-concurrency {args.lambda_concurrency}: must be at least 1")
    if not 0 <= args.endpoint_fail_rate <= 1:
        raise UsageError(f"--endpoint-fail-rate {args.endpoint_fail_rate}: must lie in 0..1")
    if not model.is_file():
        raise UsageError(f"model {model} not found: train one with `python -m training_job train-local`")
    return model


def _template_parameters(args: argparse.Namespace, template) -> dict[str, str]:
    """The template parameters the options set, refused as `sam deploy` would refuse them
    (the template's constraints, S3's bucket naming rules) before anything starts."""
    from local_stack.aws.deploy import check_bucket_name

    parameters = {"LogLevel": args.log_level or template.parameter_defaults()["LogLevel"]}
    if args.threshold is not None:
        parameters["ConfidenceThreshold"] = str(args.threshold)
    if getattr(args, "low_confidence_action", None) is not None:
        parameters["LowConfidenceAction"] = args.low_confidence_action
    if getattr(args, "workflow_type", None) is not None:
        parameters["WorkflowType"] = args.workflow_type
    if getattr(args, "review_timeout_seconds", None) is not None:
        parameters["ReviewTimeoutSeconds"] = str(args.review_timeout_seconds)
    for parameter, option in (
        ("BatchSize", "batch_size"),
        ("BatchMaxConcurrency", "batch_max_concurrency"),
        ("FunctionReservedConcurrency", "function_reserved_concurrency"),
        ("EndpointTimeoutSeconds", "endpoint_timeout_seconds"),
    ):
        if getattr(args, option, None) is not None:
            parameters[parameter] = str(getattr(args, option))
    if getattr(args, "capture_mode", None) is not None:
        parameters["CaptureMode"] = args.capture_mode
        parameters["CaptureSamplingPercentage"] = str(args.sampling_percentage)
    values = {**parameters, "EndpointName": args.endpoint_name}
    try:
        template.check_parameters(values)
        check_bucket_name(args.bucket)
    except TemplateRuleFailed as error:  # a Rule names no one parameter: its assertion says which
        raise UsageError(f"{error.parameter}: {error}") from error
    except ParameterValidationError as error:
        raise UsageError(f"{_FLAGS[error.parameter]} {values[error.parameter]}: {error}") from error
    except InvalidBucketName as error:
        raise UsageError(f"--bucket: {error}") from error
    return parameters
