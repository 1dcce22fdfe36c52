"""Express executions answered as AWS answers them (in the ``server`` group): moto runs an
EXPRESS state machine's executions as Standard ones and answers every API about them, so a
client that reads an execution through DescribeExecution or GetExecutionHistory works here and
fails on its first day in AWS.

AWS keeps no execution history of an Express workflow but its log group
(https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html), and:

* DescribeExecution: "Executions of an EXPRESS state machine aren't supported by
  DescribeExecution unless a Map Run dispatched them";
* GetExecutionHistory, DescribeStateMachineForExecution: "This API action is not supported by
  EXPRESS state machines";
* ListExecutions: "This API action is not supported by EXPRESS state machines" (unless given a
  Map Run's ARN)

(the API reference of each, https://docs.aws.amazon.com/step-functions/latest/apireference/).
StopExecution: "This API action is not supported by EXPRESS state machines"
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html).

An Express execution's ARN has the resource type ``express``:
``arn:<partition>:states:<region>:<account>:express:<state machine>:<execution name>:<id>``
(the ``express`` resource type of
https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html;
its three last parts as AWS's own Express end events carry them, recorded in localstack's
``tests/aws/services/stepfunctions/v2/express`` snapshots), and AWS refuses it where an
execution is meant with ``InvalidArn``, "Invalid Arn: 'Resource type not valid in this context:
express'"; a listing of an Express state machine is ``StateMachineTypeNotSupported``. moto gives
every execution an ``execution:<machine>:<name>`` ARN; ``_express_execution_arns`` (in the
``interpreter`` group) gives an Express one AWS's, which moto still finds (it reads the machine's
name from the ARN's seventh part, which both forms share) and which ``$$.Execution.Id`` and the
log events carry. The batch's Express children run on a STANDARD state machine here (map_runs),
so its Map Run reads are untouched.

The 5-minute limit (``_timed_out_as_aws_ends_it``, ``interpreter`` group): moto's interpreter
stops waiting at the definition's ``TimeoutSeconds`` and reports the execution TIMED_OUT, but
its ``ExecutionTimedOut`` event is added only once the state then running returns (a Wait, a
slow function: seconds or never later), after the execution's history has gone to its log
group; and the states after it still add events. AWS ends the execution there: its history
ends with ``ExecutionTimedOut``, error ``States.Timeout`` ("if a state machine runs longer than
the specified TimeoutSeconds value, the execution fails with a States.Timeout error",
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html). So at the
timeout the event is written, with that error, and nothing after it.

Reading the ends (``_json_filter_patterns``, ``server`` group): a client of AWS asks
FilterLogEvents for an Express workflow's end events with a JSON filter pattern, ``{ $.type =
"ExecutionSucceeded" || ... }``
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html). moto
reads only plain terms and matches every event to any other pattern: each read returned every
event of the window, base64 photos included (bench: 26 ms of the stack's CPU per Express
execution against 13 for Standard). Equality tests of string fields joined by ``||`` are matched
as CloudWatch Logs matches them; other patterns stay moto's.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from local_stack.aws.moto_patches.patch import Patch

EXPRESS_ARN_REFUSED = "Invalid Arn: 'Resource type not valid in this context: express'"
EXPRESS_LISTING_REFUSED = "This operation is not supported by this type of state machine"
EXECUTION_TIMED_OUT_ERROR = "States.Timeout"


def express_execution_arn(execution_arn: str, unique_id: str) -> str:
    """AWS's ARN of an Express execution from moto's ``arn:...:execution:<machine>:<name>``:
    ``arn:...:express:<machine>:<name>:<unique_id>``."""
    head, _, tail = execution_arn.partition(":execution:")
    if not tail:
        return execution_arn
    return f"{head}:express:{tail}:{unique_id}"


def is_express_execution_arn(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) > 5 and parts[0] == "arn" and parts[2] == "states" and parts[5] == "express"


def _machine_type_of_execution(response: Any, execution_arn: str) -> str | None:
    """The type of the state machine that ran ``execution_arn``, or None where there is none (moto
    answers that itself, as AWS does)."""
    try:
        machine = response.stepfunction_backend._get_state_machine_for_execution(execution_arn)
    except Exception:  # moto's own error (no such machine, a bad ARN) is the answer: leave it to moto
        return None
    return getattr(machine, "type", None)


def _refused_for_express_executions(original: Callable) -> Callable:
    from moto.stepfunctions.exceptions import InvalidArn

    def answer(self: Any) -> Any:
        execution_arn = self._get_param("executionArn")
        if isinstance(execution_arn, str) and (
            is_express_execution_arn(execution_arn)
            or _machine_type_of_execution(self, execution_arn) == "EXPRESS"
        ):
            raise InvalidArn(EXPRESS_ARN_REFUSED)
        return original(self)

    return answer


def _listing_refused_for_express_machines(original: Callable) -> Callable:
    from moto.core.exceptions import AWSError

    class StateMachineTypeNotSupported(AWSError):
        TYPE = "StateMachineTypeNotSupported"
        STATUS = 400

    def list_executions(self: Any) -> Any:
        arn = self._get_param("stateMachineArn")
        if isinstance(arn, str) and arn:
            try:
                machine = self.stepfunction_backend.describe_state_machine(arn)
            except Exception:  # moto answers a missing machine itself
                machine = None
            if getattr(machine, "type", None) == "EXPRESS":
                raise StateMachineTypeNotSupported(EXPRESS_LISTING_REFUSED)
        return original(self)

    return list_executions


def _express_execution_arns(original: Callable) -> Callable:
    """``moto.stepfunctions.parser.backend.execution:Execution.__init__``: an EXPRESS machine's
    execution gets AWS's ``express:`` ARN before anything reads it (the context object, the log
    events, StartExecution's answer)."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        # the machine's ``type`` (moto sets every machine's ``sm_type`` to STANDARD)
        if getattr(self.state_machine, "type", None) == "EXPRESS":
            self.exec_arn = self.execution_arn = express_execution_arn(self.exec_arn, str(uuid.uuid4()))

    return __init__


def _timed_out_as_aws_ends_it(original: Callable) -> Callable:
    """``moto.stepfunctions.parser.asl.component.program.program:Program.eval(self, env)``
    returns at the definition's TimeoutSeconds with the program TIMED_OUT and its worker thread
    still in a state. Then, before the execution's end is reported (and logged), the history
    gets its ``ExecutionTimedOut`` event (error ``States.Timeout``) and takes no event after it:
    the worker's later events (the state's end, moto's own late ``ExecutionTimedOut``) are
    dropped."""
    from moto.stepfunctions.parser.api import ExecutionTimedOutEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramTimedOut

    def eval(self: Any, env: Any) -> None:
        original(self, env)
        if env.is_frame() or not isinstance(env.program_state(), ProgramTimedOut):
            return
        manager = env.event_manager
        last_id = manager.add_event(
            context=env.event_history_context,
            event_type=HistoryEventType.ExecutionTimedOut,
            event_details=EventDetails(
                executionTimedOutEventDetails=ExecutionTimedOutEventDetails(error=EXECUTION_TIMED_OUT_ERROR)
            ),
        )

        def after_the_end(*args: Any, **kwargs: Any) -> int:
            return last_id

        manager.add_event = after_the_end  # this execution's manager only: its history has ended

    return eval


# ``{ $.a.b = "x" || $.c = "y" }``: string equalities joined by ||, the one JSON form read here
_JSON_EQUALITY = r'\$((?:\.\w+)+)\s*=\s*"([^"]*)"'
_JSON_ALTERNATIVES = re.compile(rf"^\{{\s*{_JSON_EQUALITY}(?:\s*\|\|\s*{_JSON_EQUALITY})*\s*\}}$")


@functools.lru_cache(maxsize=64)
def json_equalities(pattern: str) -> tuple[tuple[tuple[str, ...], str], ...] | None:
    """``((path, value), ...)`` of a JSON filter pattern of string equalities joined by ``||``,
    or None for any other pattern."""
    if not _JSON_ALTERNATIVES.match(pattern.strip()):
        return None
    return tuple(
        (tuple(path.strip(".").split(".")), value) for path, value in re.findall(_JSON_EQUALITY, pattern)
    )


def matches_json_equalities(equalities: tuple, message: str) -> bool:
    try:
        record = json.loads(message)
    except ValueError:
        return False  # CloudWatch Logs matches a JSON pattern to JSON events only
    for path, value in equalities:
        found: Any = record
        for key in path:
            found = found.get(key) if isinstance(found, dict) else None
        if found == value:
            return True
    return False


def _json_filter_patterns(original: Callable) -> Callable:
    """``moto.logs.utils:EventMessageFilter.matches(self, message)``: a pattern of string
    equalities joined by ``||`` matched as CloudWatch Logs matches it; any other as moto does."""

    def matches(self: Any, message: str) -> bool:
        equalities = json_equalities(self.filter_type.term)
        if equalities is None:
            return original(self, message)
        return matches_json_equalities(equalities, message)

    return matches


_RESPONSES = "moto.stepfunctions.responses:StepFunctionResponse"
PATCHES = (
    Patch(f"{_RESPONSES}.describe_execution", ("self",), _refused_for_express_executions),
    Patch(f"{_RESPONSES}.get_execution_history", ("self",), _refused_for_express_executions),
    Patch(f"{_RESPONSES}.describe_state_machine_for_execution", ("self",), _refused_for_express_executions),
    Patch(f"{_RESPONSES}.stop_execution", ("self",), _refused_for_express_executions),
    Patch(f"{_RESPONSES}.list_executions", ("self",), _listing_refused_for_express_machines),
    Patch("moto.logs.utils:EventMessageFilter.matches", ("self", "message"), _json_filter_patterns),
)
INTERPRETER = (
    Patch(
        "moto.stepfunctions.parser.backend.execution:Execution.__init__",
        (
            "self",
            "name",
            "sm_type",
            "role_arn",
            "exec_arn",
            "account_id",
            "region_name",
            "state_machine",
            "start_date",
            "cloud_watch_logging_session",
            "activity_store",
            "input_data",
            "trace_header",
        ),
        _express_execution_arns,
    ),
    Patch(
        "moto.stepfunctions.parser.asl.component.program.program:Program.eval",
        ("self", "env"),
        _timed_out_as_aws_ends_it,
    ),
)
