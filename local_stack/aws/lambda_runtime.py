"""Run our real Lambda handlers when moto's Step Functions interpreter calls Lambda: in this
process, or in the execution environments of ``local_stack.execution_environment``.

Written for moto 5.2.5 (pinned in pyproject.toml); it patches these internals of moto:

* ``moto.awslambda.models.LambdaFunction._invoke_lambda(self, event) -> (payload, errored, logs)``
  is where moto would start a Docker container. We replace it: a function registered here runs
  its handler through its invoker (``register``: here; ``register_invoker``: elsewhere). An
  error returns ``{"errorType": <exception class name>, ...}`` with ``errored=True``, exactly
  as the Lambda runtime answers, and moto's interpreter turns that ``errorType`` into the ASL
  error name that ``Retry``/``Catch`` match.
* ``moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils.boto_client_for``:
  the interpreter builds a new boto3 Lambda client for every Lambda task (about 14 ms) and, in
  server mode, sends each invocation over HTTP back into the moto server, through its global
  request dispatcher. We hand it one client per (region, service) whose ``invoke`` calls a
  registered handler directly and passes anything else on to the real client. The answer has
  the shape of Lambda's Invoke response (``StatusCode``, ``Payload`` stream, ``FunctionError``).
* ``moto.stepfunctions.parser.backend.execution_worker.ExecutionWorker._get_evaluation_entrypoint``
  parses the definition again for every execution (a fifth of the local stack's CPU). We parse
  each definition once: the parsed program keeps no per-execution state (that lives in the
  ``Environment``), except ``EvalComponent.heap_key``, a lazily drawn id that Retry uses as a key
  into the execution's heap, so we draw every id before the program is shared between threads.

* ``parse`` as imported by ``moto.stepfunctions.parser.asl.utils.json_path`` and by
  ``...asl.component.common.path.result_path`` (jsonpath_ng's): each call builds a new yacc
  parser, for every path of every state (a seventh of the stack's CPU in ResultPath alone); we
  memoise both by path. A parsed path is never changed by ``find``/``update_or_create``.

And, for the moto server (``moto_app``), one it subclasses and one more it memoises:

* ``moto.moto_server.werkzeug_app.DomainDispatcherApplication.get_backend_for_host`` lists moto's
  service packages on disk (``backends.list_of_moto_modules``) for every request, under a global
  lock; the answer depends on the host name alone, so we keep it per host.
* ``method_names_from_class`` as imported by ``moto.core.responses``: every request lists the
  methods of its service's response class with ``inspect.getmembers`` (3% of the stack
  process's CPU), only to test whether the action is one of them; we keep the names per class.

Everything else, S3, the state machine, the execution history, goes through moto's public API.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import json
import os
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

Handler = Callable[[Any, Any], Any]
Invoker = Callable[[Any], tuple[str, bool]]  # event -> (payload as JSON, errored), as ``invoke``

_registry: dict[str, Invoker] = {}
_registry_lock = threading.Lock()


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


@contextlib.contextmanager
def environment_set(variables: Mapping[str, str]) -> Iterator[None]:
    """``variables`` in ``os.environ`` for the block, as they were afterwards."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        restore_environment(saved)


def restore_environment(saved: Mapping[str, str | None]) -> None:
    """Put variables back as ``saved`` recorded them (``None``: the variable was not set)."""
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


class FunctionOutput(io.TextIOBase):
    """``sys.stdout`` for a process that runs handlers in threads: what a handler prints (its
    JSON log lines and EMF metrics, which Lambda would send to CloudWatch) goes to ``sink``;
    everything else goes to the real stdout. ``redirect_stdout`` would not do: it is global,
    and handlers run side by side with the table the CLI prints."""

    def __init__(self, stdout: Any, sink: Any) -> None:
        self._stdout, self._sink = stdout, sink
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        if not getattr(_in_handler, "active", False):
            return self._stdout.write(text)
        with self._lock:  # whole lines, never interleaved with another writer's
            return self._sink.write(text) if self._sink else len(text)

    def flush(self) -> None:
        self._stdout.flush()
        if self._sink:
            self._sink.flush()


_in_handler = threading.local()


# Lambda runs one invocation at a time in an execution environment, and Powertools relies on it:
# its Metrics set and its Logger's keys are class-level state, shared here by all three functions.
# Two handlers at once mixed their EMF metrics and failed executions with Powertools'
# SchemaValidationError ("Must contain at least one metric"); so one handler runs at a time.
_one_invocation_at_a_time = threading.Lock()


def invoke(
    function_name: str, handler: Handler, event: Any, request_id: str | None = None
) -> tuple[str, bool]:
    """Call a handler the way the Lambda runtime does: JSON in, JSON out, errors as a payload."""
    with _one_invocation_at_a_time:
        return _invoke(function_name, handler, event, request_id or str(uuid.uuid4()))


def _invoke(function_name: str, handler: Handler, event: Any, request_id: str) -> tuple[str, bool]:
    _in_handler.active = True
    try:
        result = handler(event, FakeLambdaContext(function_name=function_name, aws_request_id=request_id))
    except Exception as error:
        return json.dumps(
            {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
        ), True
    finally:
        _in_handler.active = False
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


def register(function_name: str, handler: Handler) -> None:
    """Run ``function_name``'s invocations with ``handler``, here, one at a time."""
    register_invoker(function_name, functools.partial(invoke, function_name, handler))


def register_invoker(function_name: str, invoker: Invoker) -> None:
    """Run ``function_name``'s invocations with ``invoker`` (e.g. in an execution environment
    of ``local_stack.execution_environment``)."""
    with _registry_lock:
        _registry[function_name] = invoker


def unregister_all() -> None:
    with _registry_lock:
        _registry.clear()


_ASL_PACKAGE = "moto.stepfunctions.parser.asl"


def _draw_heap_keys(component: Any, eval_component: type, seen: set[int] | None = None) -> None:
    """Touch ``heap_key`` on every component of the program tree, once, before it is shared."""
    seen = set() if seen is None else seen
    if id(component) in seen:
        return
    seen.add(id(component))
    if isinstance(component, eval_component):
        _ = component.heap_key
    if isinstance(component, list | tuple):
        children = component
    elif isinstance(component, dict):
        children = component.values()
    elif type(component).__module__.startswith(_ASL_PACKAGE) and hasattr(component, "__dict__"):
        children = vars(component).values()
    else:
        return
    for child in children:
        _draw_heap_keys(child, eval_component, seen)


class _InProcessLambda:
    """A Lambda client for the interpreter: registered functions run right here."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def invoke(self, **parameters: Any) -> dict:
        # FunctionName may be a name, an ARN, or either with a :qualifier.
        name = str(parameters["FunctionName"]).split(":function:")[-1].split(":")[0]
        invoker = _registry.get(name)
        if invoker is None:
            return self._client.invoke(**parameters)
        payload, errored = invoker(json.loads(parameters.get("Payload") or b"{}"))
        response = {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": io.BytesIO(payload.encode())}
        if errored:
            response["FunctionError"] = "Unhandled"
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


_installed = False


def install() -> None:
    """Patch moto (idempotent). Functions not registered here keep moto's own behaviour."""
    global _installed
    if _installed:
        return
    from moto.awslambda.models import LambdaFunction
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.utils import boto_client, json_path
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original_invoke = LambdaFunction._invoke_lambda

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        invoker = _registry.get(self.function_name)
        if invoker is None:
            return original_invoke(self, event)
        payload, errored = invoker(event if event is not None else {})
        return payload, errored, ""

    original_client_for = boto_client.boto_client_for
    clients: dict[tuple, Any] = {}
    clients_lock = threading.Lock()

    def cached_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # botocore clients are thread-safe; moto only ever passes its fixed fake credentials.
        key = (region, service, boto_client.botocore_stubber.enabled, boto_client.moto_server_port())
        with clients_lock:
            if key not in clients:
                client = original_client_for(region, service, state_credentials)
                clients[key] = _InProcessLambda(client) if service == "lambda" else client
            return clients[key]

    for module in (json_path, result_path):
        module.parse = functools.lru_cache(maxsize=1024)(module.parse)

    original_parse = AmazonStateLanguageParser.parse
    programs: dict[str, Any] = {}
    programs_lock = threading.Lock()

    def parse_once(self: Any) -> Any:
        definition = self._evaluation_details.state_machine_details.definition
        with programs_lock:
            if definition not in programs:
                program = original_parse(definition)[0]
                _draw_heap_keys(program, EvalComponent)
                programs[definition] = program
            return programs[definition]

    LambdaFunction._invoke_lambda = _invoke_lambda
    ExecutionWorker._get_evaluation_entrypoint = parse_once
    lambda_eval_utils.boto_client_for = cached_client_for
    _installed = True


def moto_app() -> Any:
    """moto's server as a WSGI app (what ``moto_server`` serves), with its backend lookup kept
    per host name and its response classes' method names kept per class."""
    from moto.core import responses
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    if not hasattr(responses.method_names_from_class, "cache_info"):
        # a tuple: the names are only tested with ``in``, and a cached list could be changed
        names = responses.method_names_from_class
        responses.method_names_from_class = functools.lru_cache(maxsize=None)(lambda cls: tuple(names(cls)))

    class CachedDispatcher(DomainDispatcherApplication):
        def __init__(self) -> None:
            super().__init__(create_backend_app)
            self._backends: dict[str | None, Any] = {}

        def get_backend_for_host(self, host: str | None) -> Any:
            # called under self.lock
            if host not in self._backends:
                self._backends[host] = super().get_backend_for_host(host)
            return self._backends[host]

    return CachedDispatcher()
