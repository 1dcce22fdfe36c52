"""What the Lambda runtime does around our handlers, for the local stack: import a function
as its Lambda would, call its handler with a context (JSON in, JSON out, errors as a payload),
log the invocation as Lambda does (``START``, the handler's lines, ``END``, ``REPORT``: see
``aws.function_logs``), and know which invoker runs each function (here, or in an execution
environment of ``local_stack.processes.execution_environments``). moto reaches the registry
through ``aws.moto_patches``; nothing here touches moto."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import resource
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from local_stack.aws.cloudwatch_logs import LogSender
from local_stack.aws.function_logs import (
    FunctionLog,
    Report,
    end_line,
    error_line,
    handler_output,
    new_log_stream_name,
    report_line,
    start_line,
)
from local_stack.process_state import environment_set

Handler = Callable[[Any, Any], Any]
Invoker = Callable[[Any], tuple[str, bool]]  # event -> (payload as JSON, errored), as ``invoke``

_registry: dict[str, Invoker] = {}
_registry_lock = threading.Lock()
_sender: LogSender | None = None  # the functions registered here send their logs with it


@dataclass
class FakeLambdaContext:
    """What the Powertools decorators read from the Lambda context object."""

    function_name: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    invoked_function_arn: str = ""
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def load_function(code_dir: Path, environment: Mapping[str, str] | None = None) -> SimpleNamespace:
    """Import ``code_dir/app.py`` as its Lambda would; return its modules by name (``.app``, ...).

    Each function folder has its own ``app``, ``event`` and ``exceptions`` modules; they are
    imported with the folder first on ``sys.path`` and then taken out of ``sys.modules``, so
    the three functions live side by side in one process without seeing each other's modules.
    ``environment`` is in force while the module-level code reads its configuration.
    """
    code_dir = Path(code_dir).resolve()
    before = set(sys.modules)
    sys.path.insert(0, str(code_dir))
    try:
        with environment_set(environment or {}):
            spec = importlib.util.spec_from_file_location(f"lambda_app_{code_dir.name}", code_dir / "app.py")
            app = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(app)
    finally:
        sys.path.remove(str(code_dir))
        modules = {"app": app} if "app" in locals() else {}
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if origin.startswith(str(code_dir)):
                modules[name] = sys.modules.pop(name)
    return SimpleNamespace(**modules)


# Lambda runs one invocation at a time in an execution environment, and Powertools relies on it:
# its Metrics set and its Logger's keys are class-level state, shared here by all three functions.
# Two handlers at once mixed their EMF metrics and failed executions with Powertools'
# SchemaValidationError ("Must contain at least one metric"); so one handler runs at a time.
_one_invocation_at_a_time = threading.Lock()


def invoke(
    function_name: str,
    handler: Handler,
    event: Any,
    request_id: str | None = None,
    log: FunctionLog | None = None,
    session: Any = None,
) -> tuple[str, bool]:
    """Call a handler the way the Lambda runtime does: JSON in, JSON out, errors as a payload;
    with a ``log``, the invocation's lines go to its stream as Lambda writes them. With a
    ``session`` (``role_session``: its role's credentials), the handler's ``boto3.client(...)``
    calls use it, as in its Lambda they would find its role's credentials."""
    request_id = request_id or str(uuid.uuid4())
    with _one_invocation_at_a_time, _default_session(session):
        if log is None:
            return _invoke(function_name, handler, event, request_id, None)
        return _invoke_logged(function_name, handler, event, request_id, log)


def _invoke_logged(
    function_name: str, handler: Handler, event: Any, request_id: str, log: FunctionLog
) -> tuple[str, bool]:
    log.write(start_line(request_id))
    started = time.perf_counter()
    payload, errored = _invoke(function_name, handler, event, request_id, log)
    duration_ms = (time.perf_counter() - started) * 1000
    if errored:
        log.write(error_line(json.loads(payload)))
    log.write(end_line(request_id))
    report = Report(duration_ms, log.memory_size_mb, peak_memory_mb(), log.take_init_ms())
    log.write(report_line(request_id, report))
    return payload, errored


def role_session(credentials: Mapping[str, str]) -> Any:
    """A boto3 session holding a function's role's credentials (the AWS_* variables Lambda sets:
    ``iam.credentials.function_environment``), or None for none. The functions create their
    clients on first use with ``boto3.client``, i.e. boto3's default session, which resolves
    credentials once and keeps them; here several functions share one process (and moto's or
    the tests' code), so each invocation is given its function's session instead, under the
    one-at-a-time lock (never another function's), and no environment variable changes while
    other threads may read it."""
    if not credentials.get("AWS_ACCESS_KEY_ID"):
        return None
    import boto3

    return boto3.session.Session(
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials.get("AWS_SESSION_TOKEN"),
    )


@contextlib.contextmanager
def _default_session(session: Any) -> Iterator[None]:
    if session is None:
        yield
        return
    import boto3

    previous, boto3.DEFAULT_SESSION = boto3.DEFAULT_SESSION, session
    try:
        yield
    finally:
        boto3.DEFAULT_SESSION = previous


def peak_memory_mb() -> int:
    """This process's largest resident set so far (Linux reports kilobytes)."""
    return max(1, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)


def _context(function_name: str, request_id: str, log: FunctionLog | None) -> FakeLambdaContext:
    if log is None:
        return FakeLambdaContext(function_name=function_name, aws_request_id=request_id)
    return FakeLambdaContext(
        function_name=function_name,
        memory_limit_in_mb=log.memory_size_mb,
        aws_request_id=request_id,
        log_group_name=log.group,
        log_stream_name=log.stream,
    )


def _invoke(
    function_name: str, handler: Handler, event: Any, request_id: str, log: FunctionLog | None
) -> tuple[str, bool]:
    try:
        with handler_output(log.write if log else None):
            result = handler(event, _context(function_name, request_id, log))
    except Exception as error:
        return json.dumps(
            {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
        ), True
    try:
        return json.dumps(result), False
    except (TypeError, ValueError) as error:  # what the Lambda runtime answers for such a result
        return json.dumps(
            {
                "errorMessage": f"Unable to marshal response: {error}",
                "errorType": "Runtime.MarshalError",
                "requestId": request_id,
                "stackTrace": [],
            }
        ), True


def register(
    function_name: str,
    handler: Handler,
    log_group: str | None = None,
    memory_size_mb: int = 128,
    init_ms: float | None = None,
    credentials: Mapping[str, str] | None = None,
) -> None:
    """Run ``function_name``'s invocations with ``handler``, here, one at a time; with a
    ``log_group``, they log there as Lambda does, this process being the function's one
    execution environment (``init_ms``: its cold start, reported with the first invocation).
    ``credentials``: the role's, in force while the handler runs. The handler's own lines
    reach the group where ``function_logs.FunctionOutput`` is
    ``sys.stdout`` (``processes.services`` makes it so)."""
    log = None
    if log_group is not None:
        log = FunctionLog(_log_sender(), log_group, new_log_stream_name(), memory_size_mb, init_ms)
    session = role_session(credentials or {})
    register_invoker(
        function_name, functools.partial(invoke, function_name, handler, log=log, session=session)
    )


def _log_sender() -> LogSender:
    global _sender
    with _registry_lock:
        if _sender is None:
            _sender = LogSender()
        return _sender


def register_invoker(function_name: str, invoker: Invoker) -> None:
    """Run ``function_name``'s invocations with ``invoker`` (e.g. in an execution environment)."""
    with _registry_lock:
        _registry[function_name] = invoker


def invoker_for(function_name: str) -> Invoker | None:
    """The registered invoker of ``function_name``; None: moto keeps its own behaviour."""
    return _registry.get(function_name)


def unregister_all() -> None:
    """Forget every invoker, and send what the functions here logged (before CloudWatch Logs
    stops: call it while moto still serves)."""
    global _sender
    with _registry_lock:
        _registry.clear()
        sender, _sender = _sender, None
    if sender is not None:
        sender.close()
