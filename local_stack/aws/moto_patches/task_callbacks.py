"""The callback pattern (in the ``interpreter`` group): SendTaskFailure's cause passed on.

``sqs:sendMessage.waitForTaskToken`` with ``$$.Task.Token``, SendTaskSuccess and
``TimeoutSeconds`` as ``States.Timeout`` work as shipped; a token whose task ended answers
``InvalidToken`` (AWS may say ``TaskTimedOut``), which ``review`` reads as the same "already
ended". Only the cause of a failure was lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from local_stack.aws.moto_patches.patch import Patch


def _send_task_failure_with_its_cause(_original: Callable) -> Callable:
    """``moto.stepfunctions.responses:StepFunctionResponse.send_task_failure(self)`` reads
    SendTaskFailure's ``taskToken`` and ``error`` and drops its ``cause``; the interpreter's
    backend takes one, and a Fail state's ``CausePath`` reads it (``RejectedByReviewer``'s cause
    is the reviewer's note). We pass it on."""
    from moto.core.responses import EmptyResult

    def send_task_failure(self: Any) -> Any:
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
        )
        return EmptyResult()

    return send_task_failure


PATCHES = (
    Patch(
        "moto.stepfunctions.responses:StepFunctionResponse.send_task_failure",
        ("self",),
        _send_task_failure_with_its_cause,
    ),
)
