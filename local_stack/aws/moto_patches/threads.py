"""The threads of ended executions, not kept (in the ``interpreter`` group).

moto's interpreter appends every thread it starts to ``TMP_THREADS`` (localstack's list of
threads to join at shutdown), imported by name wherever a thread starts: each execution's, each
state's with a timeout, each Parallel branch's and Map worker's. moto never reads nor trims it:
~5 threads, ~20 KB an execution, for ever, and a batch's one execution ~4 a photo. Each module
that imported the list gets ``_NoThreadsKept`` instead, which keeps none. (AWS keeps nothing of
the kind: an ended execution's history is all that stays.)
"""

from __future__ import annotations

from typing import Any

from local_stack.aws.moto_patches.patch import ASL, STATE_MAP, Patch


class _NoThreadsKept(list):
    """What moto's interpreter appends its threads to, in place of ``TMP_THREADS``: keeps none."""

    def append(self, thread: Any) -> None:
        pass


_NO_THREADS_KEPT = _NoThreadsKept()

# the modules that imported moto's list by name (``from ...utils import TMP_THREADS``), and last
# the one they import it from: a module first imported while ``utils`` is patched would take
# ours for the original, and uninstall would leave ours there
THREAD_LISTS = (
    "moto.stepfunctions.parser.backend.execution_worker",
    f"{ASL}.component.program.program",
    f"{ASL}.component.state.exec.execute_state",
    f"{STATE_MAP}.iteration.inline_iteration_component",
    f"{ASL}.component.state.exec.state_task.service.state_task_service_callback",
    f"{ASL}.component.state.exec.state_parallel.branch_worker",
    f"{ASL}.component.test_state.program.test_state_program",
    "moto.stepfunctions.parser.utils",
)

PATCHES = tuple(
    Patch(f"{module}:TMP_THREADS", None, lambda _list: _NO_THREADS_KEPT) for module in THREAD_LISTS
)
