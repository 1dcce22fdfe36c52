"""Every change the local stack makes to moto's internals, behind one door: ``install()`` applies
them, ``uninstall()`` takes them back, and this module refuses to load on any other moto than
the one it was written for (``MOTO_VERSION``, pinned in pyproject.toml). Each patch names the
internal it replaces and the parameters that internal had; ``tests/unit/test_moto_patches.py``
checks each one against the installed moto, so an upgrade that moves one fails a test by name
instead of misbehaving quietly.

The interpreter's patches (``install("interpreter")``, in the stack's process):

* ``moto.awslambda.models.LambdaFunction._invoke_lambda(self, event) -> (payload, errored, logs)``
  is where moto would start a Docker container. A function registered in
  ``aws.lambda_runtime`` runs through its invoker instead; an error comes back as
  ``{"errorType": <exception class name>, ...}`` with ``errored=True``, as the Lambda runtime
  answers, and moto's interpreter turns that ``errorType`` into the ASL error name that
  ``Retry``/``Catch`` match.
* ``moto.logs.models.LogStream.put_log_events(self, log_events)`` keeps every event for as long
  as the server runs (the functions' lines and the executions' events, ~17 KB per execution):
  after each put we keep at most ``keep_log_events(limit)`` events per stream, oldest dropped
  first, as a group's retention would (no limit, the default here, keeps them all).
* ``moto.awslambda.models.LambdaFunction.invoke(self, body, request_headers, response_headers)``
  answers a function's error with ``X-Amz-Function-Error: Handled``; Lambda answers an exception
  raised by a Python handler with ``Unhandled`` (``aws lambda invoke`` prints it as
  ``FunctionError``), so we answer that.
* ``...asl.component.state.exec.state_task.lambda_eval_utils.boto_client_for``: the interpreter
  builds a new boto3 Lambda client for every Lambda task (about 14 ms) and, in server mode, sends
  each invocation over HTTP back into the moto server. We hand it one client per (region,
  service) whose ``invoke`` calls a registered function directly (the answer has the shape of
  Lambda's Invoke response) and passes anything else on to the real client.
* ``...backend.execution_worker.ExecutionWorker._get_evaluation_entrypoint`` parses the
  definition again for every execution (a fifth of the stack's CPU). We parse each definition
  once: the parsed program keeps no per-execution state (that lives in the ``Environment``),
  except ``EvalComponent.heap_key``, a lazily drawn id that Retry uses as a key into the
  execution's heap, so we draw every id before the program is shared between threads.
* ``parse`` as imported by ``...asl.utils.json_path`` and by ``...asl.component.common.path.
  result_path`` (jsonpath_ng's): each call builds a new yacc parser, for every path of every
  state (a seventh of the stack's CPU in ResultPath alone); we memoise both by path. A parsed
  path is never changed by ``find``/``update_or_create``.
* ``moto.stepfunctions.parser.models.StepFunctionsParserBackend.start_execution(self,
  state_machine_arn, name, execution_input, trace_header)`` appends every execution to its state
  machine's ``executions`` list, which moto never trims: each keeps its input, output and whole
  history (``up`` grew ~72 KB per execution with 3 KB images, ~3 MB with 189 KB ones). After each
  start we keep at most ``keep_ended_executions(limit)`` ended executions (oldest forgotten
  first; running ones always stay), as AWS forgets executions after 90 days. No limit (the
  default in this module) keeps every execution, as moto does. The machine's list is never
  changed in place: each start swaps in a new one (``_Executions``), so that a describe or
  list in another thread goes on over the list it began with and cannot skip an execution
  that moved; only the swaps take turns, not the starts. The same patch closes a race of
  moto's: it appends the execution before ``start()`` gives it a status, and a ListExecutions
  with a status filter in between failed on it (``AttributeError`` on ``None.value``, a 500;
  seen once in a 5000-execution soak); the append is held back and the execution listed once
  it is RUNNING.
  (The threads of ended executions are not kept either: see ``_NoThreadsKept``.)
  Around all that, the same replacement answers StartExecution as its API reference says AWS
  does (moto's interpreter backend skips the checks, and the UUID, of moto's plain one): a name
  or input outside the API's constraints (a name of 1 to 80 characters, input of 256 KiB of
  UTF-8 at most) is a ``ValidationException``, before anything else, as AWS's front end answers
  it; then a missing state machine; a name with a character AWS forbids is ``InvalidName``;
  input that is not JSON is ``InvalidExecutionInput``; no name is a fresh UUID (moto named every
  unnamed execution ``None``: a second unnamed start was the first again, or
  ``ExecutionAlreadyExists``). moto's own idempotency stands (the same name and input while the
  first runs is that execution; other input, or a first that ended, ``ExecutionAlreadyExists``),
  and the starts of one name take turns, so two at once (a client retrying a start it thinks was
  lost) start one execution, not two of one ARN. moto's parser errors reach the wire with an
  empty code unless given it (``InvalidExecutionInput(message)`` answered "An error occurred
  ()"), so each refusal here passes its code.
* ``moto.stepfunctions.parser.backend.execution:BaseExecutionWorkerCommunication.terminated(self)``
  is where an execution's worker reports that the program ended (every status, StartExecution's
  and StartSyncExecution's). Before moto reflects the end in the execution's status, we write
  its history to CloudWatch Logs as Step Functions does for a state machine whose
  ``loggingConfiguration`` names a log group (``aws.state_machine_logs`` renders the events):
  one PutLogEvents per execution, into moto's ``logs`` backend in this process (the call moto's
  own logs responses make; ~0.7 ms per execution of the workflow, 21 events), so a client that
  sees the execution ended finds its log events. A machine without logging configuration (or
  level ``OFF``) writes nothing; a log group that does not exist loses the events (AWS's
  delivery is best-effort too) and is named in one warning. moto's interpreter has a per-event
  logging session of its own, but its backend never starts one.

* ``moto.stepfunctions.responses:StepFunctionResponse.send_task_failure(self)`` reads SendTaskFailure's
  ``taskToken`` and ``error`` and drops its ``cause``; the interpreter's backend takes one, and a
  Fail state's ``CausePath`` reads it (``RejectedByReviewer``'s cause is the reviewer's note). We
  pass it on. The rest of the callback pattern (``sqs:sendMessage.waitForTaskToken`` with
  ``$$.Task.Token``, SendTaskSuccess, ``TimeoutSeconds`` as ``States.Timeout``) works as shipped;
  a token whose task ended answers ``InvalidToken`` (AWS may say ``TaskTimedOut``), which
  ``review`` reads as the same "already ended".

The Distributed Map's patches (in the ``interpreter`` group; what each provides, and why, is in
``aws.distributed_map``, which holds the plain logic):

* ``...asl.parse.asl_parser:AmazonStateLanguageParser.parse(definition)`` cannot parse
  ``ItemBatcher``, ``"ExecutionType": "EXPRESS"`` or an integer ``ToleratedFailurePercentage``;
  it gets the definition ``distributed_map.local_definition`` rewrites, and each batched Map's
  iteration component gets its ``ItemBatcher`` (attribute ``local_item_batcher``).
* ``...state_map.iteration.distributed_iteration_component:DistributedIterationComponent._map_run(
  self, env, eval_input)`` runs the children: with a batcher, one child per batch of items
  (``{"Items", "BatchInput"}``); it keeps each child's input and end on the Map Run's record
  (``local_results``) and fails the Map with ``States.ExceedToleratedFailureThreshold`` when more
  items failed than ``ToleratedFailureCount``/``ToleratedFailurePercentage`` tolerate (moto never
  did), once every child has ended (AWS stops at the first failure over the threshold).
* ``...itemprocessor.distributed_item_processor_worker:DistributedItemProcessorWorker._eval_job(
  self, env, job)`` gave a failed child the output ``None``; it gets ``FailedChild(error, cause)``.
  moto also gave all the children of a Map Run one event list, kept until the Map Run ended (a
  batch's memory grew with its photos: each photo's base64 is in its child's events): each child
  gets its own, forgotten when it ends. And moto counted a batch of items as one item and left a
  failed child running in DescribeMapRun: ``distributed_map.count_started/count_ended`` count
  each child once and each of its items, as AWS does.
* ``...distributed_item_processor_worker:DistributedItemProcessorWorker._eval_pool(self, job,
  worker_frame)`` called itself for each next child, keeping every child's environment until the
  worker's last, and raised a RecursionError past ~1,000 children a worker: it loops.
* ``moto.stepfunctions.parser.models:StepFunctionsParserBackend.list_map_runs(self,
  execution_arn)`` and ``.describe_map_run(self, map_run_arn)`` answered 500 while an execution
  had not begun (any execution, for DescribeMapRun), and DescribeMapRun of an unknown Map Run
  raised a TypeError: they answer ``[]`` and ``ResourceNotFound``.
* ``...result_writer.resource_eval.resource_eval_s3:ResourceEvalS3._handle_put_object(env,
  resource_runtime_part, state_credentials)`` wrote only an empty manifest.json; it writes
  ``SUCCEEDED_0.json``/``FAILED_0.json`` as AWS does (``distributed_map.result_files``).
* ``...result_writer.result_writer_decl:ResultWriter._eval_body(self, env)`` read its
  Parameters' paths (``"Bucket.$": "$.s3_bucket"``) from the Map's outputs; it reads them from
  the Map state's input, as AWS does.
* ``...item_reader.eval.resource_eval_s3:ResourceEvalS3._handle_list_objects_v2(...)`` read one
  page (1,000 objects) and failed on an empty prefix; it reads every page.
* ``boto_client_for`` as imported by those two ``resource_eval_s3`` modules sent S3 calls to the
  moto server of the stack's own process; with ``AWS_ENDPOINT_URL_S3`` set (the local stack's S3
  process), they go there, as a client of AWS would. In-process moto (``mock_aws``, the unit
  tests) keeps moto's own client.

The server's patch (``install("server")``, in every process that serves moto):

* ``method_names_from_class`` as imported by ``moto.core.responses``: every request lists the
  methods of its service's response class with ``inspect.getmembers`` (3% of the stack
  process's CPU), only to test whether the action is one of them; we keep the names per class.

``moto_app()`` serves moto as ``moto_server`` does, with
``moto.moto_server.werkzeug_app.DomainDispatcherApplication.get_backend_for_host`` kept per
host name (it lists moto's service packages on disk for every request, under a global lock).
``retry_sleeps_recorded()`` is for tests: the interpreter's Retry really sleeps.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import importlib
import io
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import boto3
import moto
from botocore.config import Config as BotoConfig

from local_stack.aws import distributed_map
from local_stack.aws.lambda_runtime import invoker_for
from local_stack.aws.state_machine_logs import LogStreamNames, execution_log_events, log_destination
from local_stack.errors import MotoVersionError

MOTO_VERSION = "5.2.5"

if moto.__version__ != MOTO_VERSION:
    raise MotoVersionError(
        f"local_stack.aws.moto_patches was written for moto {MOTO_VERSION} (pyproject.toml pins "
        f"moto[server]=={MOTO_VERSION}), but moto {moto.__version__} is installed: run `make setup`, "
        "or check every patch in this module against the new version before changing the pin"
    )

_ASL = "moto.stepfunctions.parser.asl"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Patch:
    """One moto internal we replace: ``target`` is ``module:Attribute[.attribute]``,
    ``parameters`` the internal's parameter names as written for, ``make`` builds the
    replacement from the original."""

    target: str
    parameters: tuple[str, ...] | None  # None: the target is a value, not a function
    make: Callable[[Any], Any]

    def owner_and_name(self) -> tuple[Any, str]:
        module_name, _, path = self.target.partition(":")
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        return owner, name


# -- the interpreter's patches ------------------------------------------------------------------


def _run_registered_function(original: Callable) -> Callable:
    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        invoker = invoker_for(self.function_name)
        if invoker is None:
            return original(self, event)
        payload, errored = invoker(event if event is not None else {})
        return payload, errored, ""

    return _invoke_lambda


def _function_errors_unhandled(original: Callable) -> Callable:
    def invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
        answer = original(self, body, request_headers, response_headers)
        if response_headers.get("x-amz-function-error") == "Handled":
            response_headers["x-amz-function-error"] = "Unhandled"
        return answer

    return invoke


class _InProcessLambda:
    """A Lambda client for the interpreter: registered functions run right here."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def invoke(self, **parameters: Any) -> dict:
        # FunctionName may be a name, an ARN, or either with a :qualifier.
        name = str(parameters["FunctionName"]).split(":function:")[-1].split(":")[0]
        invoker = invoker_for(name)
        if invoker is None:
            return self._client.invoke(**parameters)
        payload, errored = invoker(json.loads(parameters.get("Payload") or b"{}"))
        response = {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": io.BytesIO(payload.encode())}
        if errored:
            response["FunctionError"] = "Unhandled"
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _one_client_per_service(original: Callable) -> Callable:
    boto_client = importlib.import_module(f"{_ASL}.utils.boto_client")
    clients: dict[tuple, Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # botocore clients are thread-safe; moto only ever passes its fixed fake credentials.
        key = (region, service, boto_client.botocore_stubber.enabled, boto_client.moto_server_port())
        with lock:
            if key not in clients:
                client = original(region, service, state_credentials)
                clients[key] = _InProcessLambda(client) if service == "lambda" else client
            return clients[key]

    return boto_client_for


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
    elif type(component).__module__.startswith(_ASL) and hasattr(component, "__dict__"):
        children = vars(component).values()
    else:
        return
    for child in children:
        _draw_heap_keys(child, eval_component, seen)


def _parse_each_definition_once(_original: Callable) -> Callable:
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    programs: dict[str, Any] = {}
    lock = threading.Lock()

    def _get_evaluation_entrypoint(self: Any) -> Any:
        definition = self._evaluation_details.state_machine_details.definition
        with lock:
            if definition not in programs:
                program = AmazonStateLanguageParser.parse(definition)[0]
                _draw_heap_keys(program, EvalComponent)
                programs[definition] = program
            return programs[definition]

    return _get_evaluation_entrypoint


def _memoised(original: Callable) -> Callable:
    return functools.lru_cache(maxsize=1024)(original)


_ended_executions_kept: int | None = None  # None: keep them all, as moto does


def keep_ended_executions(limit: int | None) -> int | None:
    """From the next start on, keep at most ``limit`` ended executions per state machine (None:
    all of them); returns the limit that was in force, to put it back."""
    global _ended_executions_kept
    if limit is not None and limit < 1:
        raise ValueError(f"keep at least 1 ended execution, got {limit}")
    previous, _ended_executions_kept = _ended_executions_kept, limit
    return previous


_log_events_kept: int | None = None  # None: keep them all, as moto does


def keep_log_events(limit: int | None) -> int | None:
    """From the next PutLogEvents on, keep at most ``limit`` events per log stream, the oldest
    dropped first (None: all of them); returns the limit that was in force, to put it back."""
    global _log_events_kept
    if limit is not None and limit < 1:
        raise ValueError(f"keep at least 1 log event per stream, got {limit}")
    previous, _log_events_kept = _log_events_kept, limit
    return previous


def _forget_old_log_events(original: Callable) -> Callable:
    def put_log_events(self: Any, log_events: Any) -> str:
        token = original(self, log_events)
        limit = _log_events_kept
        if limit is not None and len(self.events) > limit:
            # a new list, swapped in: a reader in another thread goes on over the one it began with
            self.events = self.events[-limit:]
        return token

    return put_log_events


class _Executions(list):
    """One state machine's executions as this patch keeps them: a list that is never changed
    once the machine holds it (a change is a new list, swapped in), so a reader in another
    thread goes on over the one it began with. moto's ``append`` (made before ``start()`` gives
    the execution a status) is held back for the thread that made it: ``start_execution``
    lists the execution once it has started. Never copied into the snapshot of the machine
    that each execution keeps (moto asks for that with a ``deepcopy`` memo keyed on the list's
    id, which a swap in between would defeat)."""

    held_back = threading.local()

    def append(self, execution: Any) -> None:
        self.held_back.execution = execution

    def __deepcopy__(self, memo: dict) -> list:
        return []


def _forget_old_executions(original: Callable) -> Callable:
    from moto.stepfunctions.parser.api import ExecutionStatus

    one_change_at_a_time = threading.Lock()

    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: Any = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        machine = self.describe_state_machine(state_machine_arn)
        with one_change_at_a_time:
            if type(machine.executions) is not _Executions:
                machine.executions = _Executions(machine.executions)
        _Executions.held_back.execution = None
        execution = original(self, state_machine_arn, name, execution_input, trace_header)
        started, _Executions.held_back.execution = _Executions.held_back.execution, None
        if started is not None:  # None: an earlier execution of the same name and input
            with one_change_at_a_time:
                executions = [*machine.executions, started]
                limit = _ended_executions_kept
                if limit is not None:
                    executions = _without_oldest_ended(executions, limit, ExecutionStatus.RUNNING)
                machine.executions = _Executions(executions)
        return execution

    return start_execution


def _without_oldest_ended(executions: list, limit: int, running: Any) -> list:
    """``executions`` (oldest first) less its oldest ended ones beyond ``limit``."""
    ended = [index for index, e in enumerate(executions) if e.exec_status not in (None, running)]
    if len(ended) <= limit:
        return executions
    forgotten = set(ended[: len(ended) - limit])
    return [e for index, e in enumerate(executions) if index not in forgotten]


# StartExecution's constraints (its API reference)
MAX_EXECUTION_NAME_LENGTH = 80
MAX_EXECUTION_INPUT_BYTES = 262_144  # 256 KiB of UTF-8

# what a name must not contain: whitespace, brackets, wildcards, special characters, control
# characters (U+0000-001F, U+007F-009F), the non-characters U+FFFE-FFFF, surrogates, U+10FFFF
_FORBIDDEN_IN_EXECUTION_NAMES = re.compile(
    r'[\s<>{}\[\]?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff\U0010ffff]'
)


def start_execution_constraint_violation(name: str | None, execution_input: str | None) -> str | None:
    """AWS's message for a name or input outside StartExecution's length constraints (answered
    as ``ValidationException``), or None."""
    if name is not None and not 1 <= len(name) <= MAX_EXECUTION_NAME_LENGTH:
        bound = f"less than or equal to {MAX_EXECUTION_NAME_LENGTH}" if name else "greater than or equal to 1"
        return (
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
            f"Member must have length {bound}"
        )
    if execution_input is not None:
        size = len(execution_input.encode(errors="surrogatepass"))
        if size > MAX_EXECUTION_INPUT_BYTES:
            return (
                "1 validation error detected: Value at 'input' failed to satisfy constraint: Member "
                f"must have size less than or equal to {MAX_EXECUTION_INPUT_BYTES} bytes in UTF-8 encoding"
            )
    return None


def is_valid_execution_name(name: str) -> bool:
    return _FORBIDDEN_IN_EXECUTION_NAMES.search(name) is None


def _refusal(error: type, message: str) -> Exception:
    # moto's parser errors answer with an empty code unless given theirs
    return error(message, error.code)


def _start_executions_as_aws_does(start_execution: Callable) -> Callable:
    from moto.stepfunctions.parser.api import InvalidExecutionInput, InvalidName, ValidationException

    # starts of one name take turns (moto checks the name, then starts); others rarely share a lock
    same_name_turns = tuple(threading.Lock() for _ in range(64))

    def start_execution_as_aws_does(
        self: Any,
        state_machine_arn: str,
        name: Any = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        violation = start_execution_constraint_violation(name, execution_input)
        if violation is not None:
            raise _refusal(ValidationException, violation)
        self.describe_state_machine(state_machine_arn)  # a missing machine comes before a bad name
        if name is not None and not is_valid_execution_name(name):
            raise _refusal(InvalidName, f"Invalid Name: '{name}'")
        if execution_input is not None:
            try:
                json.loads(execution_input)
            except (ValueError, RecursionError) as error:
                message = f"Invalid State Machine Execution Input: '{error}'"
                raise _refusal(InvalidExecutionInput, message) from None
        if name is None:  # a fresh name: no other start has it
            return start_execution(self, state_machine_arn, str(uuid.uuid4()), execution_input, trace_header)
        with same_name_turns[hash((state_machine_arn, name)) % len(same_name_turns)]:
            return start_execution(self, state_machine_arn, name, execution_input, trace_header)

    return start_execution_as_aws_does


def _start_executions(original: Callable) -> Callable:
    """moto's start, checked as AWS checks it, forgetting old executions (both above)."""
    return _start_executions_as_aws_does(_forget_old_executions(original))


def _log_ended_executions(terminated: Callable) -> Callable:
    from moto.logs.exceptions import ResourceNotFoundException
    from moto.logs.models import logs_backends

    streams = LogStreamNames()
    # moto's log streams are not thread-safe (its own TODO): executions end in threads of their own
    one_delivery_at_a_time = threading.Lock()
    missing_groups_named: set[str] = set()  # a stack without its log group warns once, not per execution

    def log_history(execution: Any) -> None:
        destination = log_destination(execution.state_machine.loggingConfiguration)
        if destination is None:
            return
        history = execution.to_history_output()["events"]  # what GetExecutionHistory answers
        events = execution_log_events(history, execution.exec_arn, destination)
        if not events:
            return
        logs = logs_backends[destination.account_id][destination.region]
        with one_delivery_at_a_time:
            stream = streams.name_for(execution.state_machine.name, datetime.datetime.now(datetime.UTC))
            try:
                logs.ensure_log_stream(destination.log_group_name, stream)
                logs.put_log_events(destination.log_group_name, stream, events)
            except ResourceNotFoundException:  # AWS drops them too: logging never fails an execution
                if destination.log_group_name not in missing_groups_named:
                    missing_groups_named.add(destination.log_group_name)
                    logger.warning(
                        "log group %s does not exist: the events of %s's executions are not logged",
                        destination.log_group_name,
                        execution.state_machine.name,
                    )

    def terminated_and_logged(self: Any) -> None:
        try:
            log_history(self.execution)
        finally:
            terminated(self)  # whatever logging did, the execution ends

    return terminated_and_logged


def _send_task_failure_with_its_cause(_original: Callable) -> Callable:
    from moto.core.responses import EmptyResult

    def send_task_failure(self: Any) -> Any:
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
        )
        return EmptyResult()

    return send_task_failure


# -- the Distributed Map's patches --------------------------------------------------------------

_STATE_MAP = f"{_ASL}.component.state.exec.state_map"


def _parse_local_distributed_maps(original: Callable) -> Callable:
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap

    def parse(definition: str) -> Any:
        rewritten, batchers = distributed_map.local_definition(definition)
        program, tree = original(rewritten)
        if batchers:
            for state in _components_of(program, StateMap):
                if state.name in batchers:
                    state.iteration_component.local_item_batcher = batchers[state.name]
        return program, tree

    return parse


def _components_of(component: Any, kind: type, seen: set[int] | None = None) -> Iterator[Any]:
    """Every component of ``kind`` in a parsed program."""
    seen = set() if seen is None else seen
    if id(component) in seen:
        return
    seen.add(id(component))
    if isinstance(component, kind):
        yield component
    if isinstance(component, list | tuple):
        children: Any = component
    elif isinstance(component, dict):
        children = component.values()
    elif type(component).__module__.startswith(_ASL) and hasattr(component, "__dict__"):
        children = vars(component).values()
    else:
        return
    for child in children:
        yield from _components_of(child, kind, seen)


def _map_run_with_batches_and_tolerance(_original: Callable) -> Callable:
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job import JobPool
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.max_concurrency import (
        DEFAULT_MAX_CONCURRENCY_VALUE,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    def _map_run(self: Any, env: Any, eval_input: Any) -> None:
        items = env.stack.pop()
        batcher = getattr(self, "local_item_batcher", None)
        if batcher is not None:
            batch_input = distributed_map.evaluated_payload(batcher.batch_input, env.states.get_input())
            inputs = distributed_map.batches(items, batcher, batch_input if batcher.batch_input else None)
        else:
            inputs = list(items)
        pool = JobPool(job_program=self._get_iteration_program(), job_inputs=inputs)
        record = eval_input.map_run_record
        record.local_batched = batcher is not None
        record.local_times = {}
        concurrency = record.max_concurrency
        for _ in range(
            len(inputs) if concurrency == DEFAULT_MAX_CONCURRENCY_VALUE else min(concurrency, len(inputs))
        ):
            self._launch_worker(env=env, eval_input=eval_input, job_pool=pool)
        pool.await_jobs()
        if pool.get_worker_exception() is not None:
            raise pool.get_worker_exception()
        ended = datetime.datetime.now(datetime.UTC)  # for a job closed unrun (its worker stopped)
        results = [
            distributed_map.ChildResult(
                inputs[job.job_index], job.job_output, *record.local_times.get(job.job_index, (ended, ended))
            )
            for job in pool.get_closed_jobs()
        ]
        record.local_results = results
        failed = sum(distributed_map.items_in(r.input, batcher is not None) for r in results if r.failed)
        percentage = float(eval_input.tolerated_failure_percentage or 0)
        count = int(eval_input.tolerated_failure_count or 0)
        if not distributed_map.failure_tolerated(failed, len(items), count=count, percentage=percentage):
            error = StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold)
            cause = distributed_map.tolerance_exceeded_cause(failed, len(items), percentage)
            raise FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=error,
                    event_type=HistoryEventType.MapRunFailed,
                    event_details=EventDetails(
                        mapRunFailedEventDetails={"error": error.error_name, "cause": cause}
                    ),
                )
            )
        env.stack.append([r.output for r in results if not r.failed])

    return _map_run


def _children_one_after_another(_original: Callable) -> Callable:
    def _eval_pool(self: Any, job: Any, worker_frame: Any) -> None:
        # moto's worker called itself for its next child, so every child it had run stayed on
        # its stack with its whole environment (its events, each photo's base64 among them)
        # until its last child ended, and past ~1,000 children a worker (MaxConcurrency 1) it
        # raised a RecursionError. A loop, each child's frame let go when it ends.
        while job is not None:
            job_frame = worker_frame.open_inner_frame()
            self._eval_job(env=job_frame, job=job)
            worker_frame.delete_frame(job_frame)
            job_frame = None
            if isinstance(job.job_output, Exception) or self.stopped():
                break
            next_job = self._job_pool.next_job()
            if next_job is None:
                break
            self._job_pool.close_job(job)
            job = next_job
        self._env.delete_frame(worker_frame)
        if job is not None:
            self._job_pool.close_job(job)

    return _eval_pool


@dataclass
class _UncountedMapRun:
    """What moto's worker counts a child in, thrown away: ``distributed_map.count_*`` count it."""

    execution_counter: Any
    item_counter: Any


def _children_on_their_own(eval_job: Callable) -> Callable:
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
        map_run_record,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    from moto.stepfunctions.parser.asl.eval.program_state import (
        ProgramEnded,
        ProgramError,
        ProgramStopped,
        ProgramTimedOut,
    )

    def _eval_job(self: Any, env: Any, job: Any) -> None:
        record = self._map_run_record
        items = distributed_map.items_in(job.job_input, getattr(record, "local_batched", False))
        distributed_map.count_started(record, items)
        # Each child keeps its own events, forgotten when it ends (an Express child's history
        # is not kept): moto gave all the children of a Map Run one list, which held each
        # photo's events, its base64 among them, until the whole batch ended
        env.event_manager = EventManager()
        started = datetime.datetime.now(datetime.UTC)  # the result files' StartDate
        # moto counted a batch of items as one item, and a failed child as running forever
        self._map_run_record = _UncountedMapRun(
            map_run_record.ExecutionCounter(), map_run_record.ItemCounter()
        )
        try:
            eval_job(self, env, job)
        finally:
            self._map_run_record = record
            # by index: the pool keeps a closed job as a copy of its index and output only
            record.local_times[job.job_index] = (started, datetime.datetime.now(datetime.UTC))
        state = env.program_state()
        if isinstance(state, ProgramEnded):
            outcome = distributed_map.SUCCEEDED
        elif isinstance(state, ProgramError):
            outcome = distributed_map.FAILED
            details = state.error or {}
            job.job_output = distributed_map.FailedChild(
                details.get("error", "States.Runtime"), details.get("cause", "")
            )
        elif isinstance(state, ProgramTimedOut):
            outcome = distributed_map.TIMED_OUT
            job.job_output = distributed_map.FailedChild("States.Timeout", "The child execution timed out")
        else:
            outcome = distributed_map.ABORTED if isinstance(state, ProgramStopped) else distributed_map.FAILED
            job.job_output = distributed_map.FailedChild(
                "States.Runtime", f"the child execution ended {type(state).__name__}"
            )
        distributed_map.count_ended(record, items, outcome)

    return _eval_job


def _execution_environment(execution: Any) -> Any:
    """The interpreter's environment of an execution; None until its worker has begun."""
    worker = getattr(execution, "exec_worker", None)
    return getattr(worker, "env", None)


def _map_runs_once_started(original: Callable) -> Callable:
    def list_map_runs(self: Any, execution_arn: str) -> dict[str, Any]:
        # moto answered 500 (an AttributeError) until the execution's worker had begun
        if _execution_environment(self.describe_execution(execution_arn=execution_arn)) is None:
            return {"mapRuns": []}
        return original(self, execution_arn)

    return list_map_runs


def _map_run_described_while_others_start(_original: Callable) -> Callable:
    from moto.stepfunctions.exceptions import ResourceNotFound

    def describe_map_run(self: Any, map_run_arn: str) -> dict[str, Any]:
        # moto looked through every execution and answered 500 when any one had not begun, or
        # when none had the Map Run (its ResourceNotFound() lacked the message it requires)
        for execution in self._get_executions():
            env = _execution_environment(execution)
            record = env.map_run_record_pool_manager.get(map_run_arn) if env is not None else None
            if record is not None:
                return record.describe()
        raise ResourceNotFound(map_run_arn)

    return describe_map_run


def _result_files_written(_original: Callable) -> Callable:
    def _handle_put_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
            resource_eval_s3,
        )

        parameters = env.stack.pop()
        env.stack.pop()  # the Map's outputs: the records below also have the failed children
        s3 = resource_eval_s3.ResourceEvalS3._get_s3_client(resource_runtime_part, state_credentials)
        record = env.map_run_record_pool_manager.get_all().pop()
        manifest_key, files = distributed_map.result_files(
            getattr(record, "local_results", []),
            bucket=parameters["Bucket"],
            prefix=parameters.get("Prefix", ""),
            map_run_arn=record.map_run_arn,
            state_machine_arn=record.map_state_machine_arn,
        )
        for key, body in files.items():
            s3.put_object(Bucket=parameters["Bucket"], Key=key, Body=body)
        record.local_results = []  # written: the Map Run's record is kept as long as its execution
        env.stack.append(
            {
                "MapRunArn": record.map_run_arn,
                "ResultWriterDetails": {"Bucket": parameters["Bucket"], "Key": manifest_key},
            }
        )

    return _handle_put_object


def _result_writer_reads_the_maps_input(_original: Callable) -> Callable:
    def _eval_body(self: Any, env: Any) -> None:
        # moto read Parameters' paths from the Map's outputs (the top of its stack); AWS reads
        # them from the Map state's input, as every other field of the state
        outputs = env.stack.pop()
        env.stack.append(env.states.get_input())
        self.parargs.eval(env=env)
        parameters = env.stack.pop()
        env.stack.pop()
        env.stack.extend([outputs, parameters])
        self.resource_eval.eval_resource(env=env)

    return _eval_body


def _every_page_listed(_original: Callable) -> Callable:
    def _handle_list_objects_v2(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import (
            resource_eval_s3,
        )

        s3 = resource_eval_s3.ResourceEvalS3._get_s3_client(resource_runtime_part, state_credentials)
        parameters = env.stack.pop()
        items = []
        for page in s3.get_paginator("list_objects_v2").paginate(**parameters):
            for item in page.get("Contents", []):
                # AWS gives the item's LastModified as text; JSON has no datetime
                items.append({**item, "LastModified": str(item["LastModified"])})
        env.stack.append(items)

    return _handle_list_objects_v2


def _s3_at_its_endpoint(original: Callable) -> Callable:
    from moto.core.models import botocore_stubber

    clients: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        url = os.environ.get("AWS_ENDPOINT_URL_S3")
        if service != "s3" or not url or botocore_stubber.enabled:
            return original(region, service, state_credentials)
        with lock:
            if (region, url) not in clients:
                clients[(region, url)] = boto3.client(
                    "s3",
                    region_name=region,
                    endpoint_url=url,
                    config=BotoConfig(retries={"total_max_attempts": 1}),
                )
            return clients[(region, url)]

    return boto_client_for


# -- the server's patch -------------------------------------------------------------------------


def _method_names_kept_per_class(original: Callable) -> Callable:
    # a tuple: the names are only tested with ``in``, and a cached list could be changed
    return functools.lru_cache(maxsize=None)(lambda cls: tuple(original(cls)))


class _NoThreadsKept(list):
    """What moto's interpreter appends every thread it starts to: ``TMP_THREADS`` (localstack's
    list of threads to join at shutdown), imported by name wherever a thread starts (each
    execution's, each state's with a timeout, each Parallel branch's and Map worker's). moto
    never reads nor trims it: ~5 threads, ~20 KB an execution, for ever, and a batch's one
    execution ~4 a photo. Each of those modules gets this list instead, which keeps none."""

    def append(self, thread: Any) -> None:
        pass


_NO_THREADS_KEPT = _NoThreadsKept()
# the modules that imported moto's list by name (``from ...utils import TMP_THREADS``), and last
# the one they import it from: a module first imported while ``utils`` is patched would take
# ours for the original, and uninstall would leave ours there
_THREAD_LISTS = (
    "moto.stepfunctions.parser.backend.execution_worker",
    f"{_ASL}.component.program.program",
    f"{_ASL}.component.state.exec.execute_state",
    f"{_STATE_MAP}.iteration.inline_iteration_component",
    f"{_ASL}.component.state.exec.state_task.service.state_task_service_callback",
    f"{_ASL}.component.state.exec.state_parallel.branch_worker",
    f"{_ASL}.component.test_state.program.test_state_program",
    "moto.stepfunctions.parser.utils",
)


PATCHES: dict[str, tuple[Patch, ...]] = {
    "interpreter": (
        *(Patch(f"{module}:TMP_THREADS", None, lambda _list: _NO_THREADS_KEPT) for module in _THREAD_LISTS),
        Patch(
            "moto.awslambda.models:LambdaFunction._invoke_lambda", ("self", "event"), _run_registered_function
        ),
        Patch("moto.logs.models:LogStream.put_log_events", ("self", "log_events"), _forget_old_log_events),
        Patch(
            "moto.awslambda.models:LambdaFunction.invoke",
            ("self", "body", "request_headers", "response_headers"),
            _function_errors_unhandled,
        ),
        Patch(
            f"{_ASL}.component.state.exec.state_task.lambda_eval_utils:boto_client_for",
            ("region", "service", "state_credentials"),
            _one_client_per_service,
        ),
        Patch(
            "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker._get_evaluation_entrypoint",
            ("self",),
            _parse_each_definition_once,
        ),
        Patch(f"{_ASL}.utils.json_path:parse", ("path", "debug"), _memoised),
        Patch(f"{_ASL}.component.common.path.result_path:parse", ("string",), _memoised),  # jsonpath_ng's
        Patch(
            "moto.stepfunctions.parser.models:StepFunctionsParserBackend.start_execution",
            ("self", "state_machine_arn", "name", "execution_input", "trace_header"),
            _start_executions,
        ),
        Patch(
            "moto.stepfunctions.parser.backend.execution:BaseExecutionWorkerCommunication.terminated",
            ("self",),
            _log_ended_executions,
        ),
        Patch(
            "moto.stepfunctions.responses:StepFunctionResponse.send_task_failure",
            ("self",),
            _send_task_failure_with_its_cause,
        ),
        Patch(
            f"{_ASL}.parse.asl_parser:AmazonStateLanguageParser.parse",
            ("definition",),
            _parse_local_distributed_maps,
        ),
        Patch(
            f"{_STATE_MAP}.iteration.distributed_iteration_component:DistributedIterationComponent._map_run",
            ("self", "env", "eval_input"),
            _map_run_with_batches_and_tolerance,
        ),
        Patch(
            f"{_STATE_MAP}.iteration.itemprocessor.distributed_item_processor_worker:"
            "DistributedItemProcessorWorker._eval_pool",
            ("self", "job", "worker_frame"),
            _children_one_after_another,
        ),
        Patch(
            f"{_STATE_MAP}.iteration.itemprocessor.distributed_item_processor_worker:"
            "DistributedItemProcessorWorker._eval_job",
            ("self", "env", "job"),
            _children_on_their_own,
        ),
        Patch(
            "moto.stepfunctions.parser.models:StepFunctionsParserBackend.list_map_runs",
            ("self", "execution_arn"),
            _map_runs_once_started,
        ),
        Patch(
            "moto.stepfunctions.parser.models:StepFunctionsParserBackend.describe_map_run",
            ("self", "map_run_arn"),
            _map_run_described_while_others_start,
        ),
        Patch(
            f"{_STATE_MAP}.result_writer.resource_eval.resource_eval_s3:ResourceEvalS3._handle_put_object",
            ("env", "resource_runtime_part", "state_credentials"),
            _result_files_written,
        ),
        Patch(
            f"{_STATE_MAP}.result_writer.result_writer_decl:ResultWriter._eval_body",
            ("self", "env"),
            _result_writer_reads_the_maps_input,
        ),
        Patch(
            f"{_STATE_MAP}.item_reader.eval.resource_eval_s3:ResourceEvalS3._handle_list_objects_v2",
            ("env", "resource_runtime_part", "state_credentials"),
            _every_page_listed,
        ),
        Patch(
            f"{_STATE_MAP}.item_reader.eval.resource_eval_s3:boto_client_for",
            ("region", "service", "state_credentials"),
            _s3_at_its_endpoint,
        ),
        Patch(
            f"{_STATE_MAP}.result_writer.resource_eval.resource_eval_s3:boto_client_for",
            ("region", "service", "state_credentials"),
            _s3_at_its_endpoint,
        ),
    ),
    "server": (
        Patch("moto.core.responses:method_names_from_class", ("clazz",), _method_names_kept_per_class),
    ),
}

_applied: dict[Patch, Any] = {}  # patch -> the original it replaced
_lock = threading.Lock()


def install(*groups: str) -> None:
    """Apply the patches of ``groups`` (default: all), each once. Functions not registered in
    ``aws.lambda_runtime`` keep moto's own behaviour."""
    with _lock:
        for group in groups or tuple(PATCHES):
            for patch in PATCHES[group]:
                if patch not in _applied:
                    owner, name = patch.owner_and_name()
                    # a staticmethod stays one (moto calls some through an instance)
                    raw = vars(owner).get(name) if isinstance(owner, type) else None
                    original = getattr(owner, name)
                    replacement = patch.make(original)
                    if isinstance(raw, staticmethod):
                        replacement = staticmethod(replacement)
                    setattr(owner, name, replacement)
                    _applied[patch] = raw if isinstance(raw, staticmethod) else original


def uninstall() -> None:
    """Put every original back (the replacements' caches go with them)."""
    with _lock:
        for patch, original in reversed(list(_applied.items())):
            owner, name = patch.owner_and_name()
            setattr(owner, name, original)
        _applied.clear()


def installed() -> set[str]:
    """The targets patched now."""
    with _lock:
        return {patch.target for patch in _applied}


def moto_app() -> Any:
    """moto's server as a WSGI app (what ``moto_server`` serves), with its backend lookup kept
    per host name and the server's patch installed."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    install("server")

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


@contextlib.contextmanager
def retry_sleeps_recorded() -> Iterator[list[float]]:
    """The interpreter's Retry sleeps its intervals for real: record them instead, for the
    block. Only ``retrier_decl``'s own reference to ``time`` changes: polling still sleeps."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    slept: list[float] = []
    original = retrier_decl.time
    retrier_decl.time = SimpleNamespace(sleep=slept.append)
    try:
        yield slept
    finally:
        retrier_decl.time = original
