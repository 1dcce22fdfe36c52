"""``python -m local_stack invoke LogicalId -e events/x.json``: ``sam local invoke`` without Docker.

The function's real code runs in a fresh Lambda execution environment (a worker process of
``processes.execution_environments``) with the environment template.yaml gives it, the
parameters overridden as ``sam local invoke --parameter-overrides`` and ``--env-vars`` do. As
``sam local invoke`` prints them: the function's logs and ``START``/``END``/``REPORT`` lines on
stderr, its result (or its error, as the Lambda runtime answers it) on stdout. With ``up``'s
exports in the shell, the function reads the local S3 and calls the local endpoint.
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack.aws.function_logs import Report, end_line, report_line, start_line
from local_stack.aws.template import Template, make_resolver
from local_stack.errors import UsageError
from local_stack.processes.execution_environments import (
    EnvironmentDidNotStart,
    ExecutionEnvironments,
    FunctionSpec,
)
from local_stack.settings import ACCOUNT_ID, DEFAULT_ENDPOINT_NAME, REGION, STACK_NAME


@dataclass(frozen=True)
class Invocation:
    """What one ``invoke`` ran and measured."""

    payload: str  # the function's answer as the Lambda runtime gives it (JSON)
    errored: bool
    init_ms: float
    duration_ms: float
    max_memory_mb: int
    logs: str


def add_invoke_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("function", metavar="LogicalId", help="the function's logical id in template.yaml")
    parser.add_argument("-e", "--event", type=Path, help="JSON event file (default: an empty event {})")
    parser.add_argument(
        "-n",
        "--env-vars",
        type=Path,
        help='JSON file as sam local invoke reads it: {"LogicalId": {"VAR": "value"}, "Parameters": {...}}',
    )
    parser.add_argument(
        "--parameter-overrides",
        default="",
        help="template parameters, 'Key=Value Key2=Value2' or 'ParameterKey=K,ParameterValue=V' (as sam)",
    )


def invoke_command(args: argparse.Namespace) -> int:
    template = Template.load()
    spec = function_spec(template, args.function, parse_overrides(args.parameter_overrides), args.env_vars)
    event = read_event(args.event)
    done = invoke_once(args.function, spec, event)
    print_as_sam_does(done, template.function_memory_mb(args.function))
    return 1 if done.errored else 0


def parse_overrides(text: str) -> dict[str, str]:
    """``Key=Value`` pairs, or sam's long form ``ParameterKey=K,ParameterValue=V``."""
    overrides = {}
    for item in shlex.split(text):
        if item.startswith("ParameterKey="):
            fields = dict(part.split("=", 1) for part in item.split(",") if "=" in part)
            if "ParameterValue" not in fields:
                raise UsageError(f"--parameter-overrides {item!r}: no ParameterValue")
            overrides[fields["ParameterKey"]] = fields["ParameterValue"]
        elif "=" in item:
            key, value = item.split("=", 1)
            overrides[key] = value
        else:
            raise UsageError(f"--parameter-overrides {item!r}: expected Key=Value")
    return overrides


def function_spec(
    template: Template, logical_id: str, overrides: dict[str, str], env_vars: Path | None
) -> FunctionSpec:
    functions = template.resources_of_type("AWS::Serverless::Function")
    if logical_id not in functions:
        raise UsageError(f"{logical_id}: not a function of template.yaml (it has {', '.join(functions)})")
    parameters = {**template.parameter_defaults(), "EndpointName": DEFAULT_ENDPOINT_NAME, **overrides}
    try:
        template.check_parameters(parameters)
    except ValueError as error:
        raise UsageError(f"--parameter-overrides: {error}") from error
    pseudo = {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::StackName": STACK_NAME,
        "AWS::Partition": "aws",
    }
    resolve = make_resolver(parameters, {}, pseudo)
    environment = template.function_environment(logical_id, resolve)
    if env_vars is not None:
        environment.update(_env_vars(env_vars, logical_id, environment))
    return FunctionSpec(
        template.function_code_dir(logical_id), environment, template.function_timeout(logical_id)
    )


def _env_vars(path: Path, logical_id: str, environment: dict[str, str]) -> dict[str, str]:
    """sam's --env-vars: ``Parameters`` applies to every function's variables that exist, the
    function's own section to its own; values become strings."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UsageError(f"--env-vars {path}: {error}") from error
    if not isinstance(document, dict):
        raise UsageError(f"--env-vars {path}: expected a JSON object")
    shared = {k: str(v) for k, v in (document.get("Parameters") or {}).items() if k in environment}
    own = {k: str(v) for k, v in (document.get(logical_id) or {}).items()}
    return {**shared, **own}


def read_event(path: Path | None) -> Any:
    if path is None:
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UsageError(f"--event {path}: {error}") from error


def invoke_once(name: str, spec: FunctionSpec, event: Any) -> Invocation:
    """A fresh execution environment, one invocation, closed: its init and run timed, its peak
    memory from the worker's rusage once it has ended."""
    with tempfile.TemporaryDirectory(prefix="local-stack-invoke-") as folder:
        log = Path(folder) / "function.log"
        started = time.perf_counter()
        try:
            environments = ExecutionEnvironments({name: spec}, size=1, function_log=log)
        except EnvironmentDidNotStart as failure:  # Lambda answers the invocation with its init error
            return Invocation(
                json.dumps(failure.payload),
                True,
                (time.perf_counter() - started) * 1000,
                0.0,
                _peak_memory_mb(),
                log.read_text() if log.exists() else "",
            )
        initialised = time.perf_counter()
        try:
            payload, errored = environments.invoke(name, event)
            finished = time.perf_counter()
        finally:
            environments.close()
        return Invocation(
            payload,
            errored,
            (initialised - started) * 1000,
            (finished - initialised) * 1000,
            _peak_memory_mb(),
            log.read_text() if log.exists() else "",
        )


def _peak_memory_mb() -> int:
    """The largest resident set of the ended worker processes (Linux reports kilobytes)."""
    return max(1, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)


def print_as_sam_does(done: Invocation, memory_mb: int, out=None, err=None) -> None:
    out, err = out or sys.stdout, err or sys.stderr
    print(start_line(None), file=err)
    err.write(done.logs)
    print(end_line(None), file=err)
    print(report_line(None, Report(done.duration_ms, memory_mb, done.max_memory_mb, done.init_ms)), file=err)
    print(done.payload, file=out)
