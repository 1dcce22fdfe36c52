"""StartExecution as AWS answers it, and the ended executions forgotten as AWS forgets them (in
the ``interpreter`` group): one patch of
``moto.stepfunctions.parser.models.StepFunctionsParserBackend.start_execution(self,
state_machine_arn, name, execution_input, trace_header)``, in two layers.

The checks (``_start_executions_as_aws_does``): moto's interpreter backend skips the checks, and
the UUID, of moto's plain one. A name or input outside the API's constraints (a name of 1 to 80
characters, input of 256 KiB of UTF-8 at most) is a ``ValidationException``, before anything
else, as AWS's front end answers it; then a missing state machine; a name with a character AWS
forbids is ``InvalidName``; input that is not JSON is ``InvalidExecutionInput``; no name is a
fresh UUID (moto named every unnamed execution ``None``: a second unnamed start was the first
again, or ``ExecutionAlreadyExists``). moto's own idempotency stands (the same name and input
while the first runs is that execution; other input, or a first that ended,
``ExecutionAlreadyExists``), and the starts of one name take turns, so two at once (a client
retrying a start it thinks was lost) start one execution, not two of one ARN. moto's parser
errors reach the wire with an empty code unless given it (``InvalidExecutionInput(message)``
answered "An error occurred ()"), so each refusal here passes its code.

The forgetting (``_forget_old_executions``): moto appends every execution to its state machine's
``executions`` list and never trims it: each keeps its input, output and whole history (``up``
grew ~72 KB per execution with 3 KB images, ~3 MB with 189 KB ones). After each start we keep at
most ``keep_ended_executions(limit)`` ended executions (oldest forgotten first; running ones
always stay), as AWS forgets executions after 90 days. No limit (the default here) keeps every
execution, as moto does. The machine's list is never changed in place: each start swaps in a new
one (``_Executions``), so that a describe or list in another thread goes on over the list it
began with and cannot skip an execution that moved; only the swaps take turns, not the starts.
The same layer closes a race of moto's: it appends the execution before ``start()`` gives it a
status, and a ListExecutions with a status filter in between failed on it (``AttributeError`` on
``None.value``, a 500; seen once in a 5000-execution soak); the append is held back and the
execution listed once it is RUNNING. (The threads of ended executions are not kept either: see
``moto_patches.threads``.)
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

from local_stack.aws.moto_patches.patch import Patch

# -- the checks ---------------------------------------------------------------------------------

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


# -- the forgetting -----------------------------------------------------------------------------

_ended_executions_kept: int | None = None  # None: keep them all, as moto does


def keep_ended_executions(limit: int | None) -> int | None:
    """From the next start on, keep at most ``limit`` ended executions per state machine (None:
    all of them); returns the limit that was in force, to put it back."""
    global _ended_executions_kept
    if limit is not None and limit < 1:
        raise ValueError(f"keep at least 1 ended execution, got {limit}")
    previous, _ended_executions_kept = _ended_executions_kept, limit
    return previous


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


# -- the patch ----------------------------------------------------------------------------------


def _start_executions(original: Callable) -> Callable:
    """moto's start, checked as AWS checks it, forgetting old executions (both above)."""
    return _start_executions_as_aws_does(_forget_old_executions(original))


PATCHES = (
    Patch(
        "moto.stepfunctions.parser.models:StepFunctionsParserBackend.start_execution",
        ("self", "state_machine_arn", "name", "execution_input", "trace_header"),
        _start_executions,
    ),
)
