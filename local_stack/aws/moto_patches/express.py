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
An Express execution's ARN has the resource type ``express`` (``arn:aws:states:...:express:
<machine>:<name>:<id>``), and AWS refuses it where an execution is meant with ``InvalidArn``,
"Invalid Arn: 'Resource type not valid in this context: express'"; a listing of an Express
state machine is ``StateMachineTypeNotSupported``. Here the execution keeps moto's
``execution`` ARN (moto finds its executions by it), and the same refusals are answered for it.
The batch's Express children run on a STANDARD state machine here (map_runs), so its Map Run
reads are untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from local_stack.aws.moto_patches.patch import Patch

EXPRESS_ARN_REFUSED = "Invalid Arn: 'Resource type not valid in this context: express'"
EXPRESS_LISTING_REFUSED = "This operation is not supported by this type of state machine"


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
        if isinstance(execution_arn, str) and _machine_type_of_execution(self, execution_arn) == "EXPRESS":
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


_RESPONSES = "moto.stepfunctions.responses:StepFunctionResponse"
PATCHES = (
    Patch(f"{_RESPONSES}.describe_execution", ("self",), _refused_for_express_executions),
    Patch(f"{_RESPONSES}.get_execution_history", ("self",), _refused_for_express_executions),
    Patch(f"{_RESPONSES}.describe_state_machine_for_execution", ("self",), _refused_for_express_executions),
    Patch(f"{_RESPONSES}.list_executions", ("self",), _listing_refused_for_express_machines),
)
