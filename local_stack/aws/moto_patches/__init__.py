"""Every change the local stack makes to moto's internals, behind one door: ``install()`` applies
them, ``uninstall()`` takes them back, and the package refuses to load on any other moto than
the one it was written for (``MOTO_VERSION``, pinned in pyproject.toml). Each patch is a
``Patch`` record (``patch.py``) naming the internal it replaces and the parameters that internal
had; ``tests/unit/test_moto_patches.py`` checks each one against the installed moto, so an
upgrade that moves one fails a test by name instead of misbehaving quietly.

One module per subject, each patch's account (what moto does, what AWS does, why we differ)
beside its code:

* ``threads``: the threads of ended executions, not kept;
* ``lambda_invoke``: our functions run where moto would start a Docker container;
* ``logs``: an execution's history in CloudWatch Logs; a log stream kept to its newest events;
* ``speed``: what moto does again for every execution, path or request, done once;
* ``executions``: StartExecution checked as AWS checks it; ended executions forgotten;
* ``task_callbacks``: SendTaskFailure's cause passed on;
* ``map_runs``: the Distributed Map (its plain logic in ``aws.distributed_map``);
* ``s3_conditional_writes``: PutObject's If-Match / If-None-Match atomic, as S3's;
* ``iam_enforcement``: every call checked against the caller's identity policies, as IAM does
  (on while ``aws.iam.enforcement.enforced()``);
* ``state_machine_roles``: the state machines' service integrations act as their role, and a
  refusal fails the task under the error name Step Functions gives it (same switch).
* ``model_instances``: moto's dashboard list of every model it made, kept weakly (nothing freed).
* ``express``: Express executions' DescribeExecution, GetExecutionHistory, ListExecutions and
  StopExecution refused as AWS refuses them (their history is in the log group only); their
  ``express:`` ARNs; an execution's TimeoutSeconds ending its history as AWS ends it;
* ``deployed_resources``: the local deploy's resources recorded in its CloudFormation stack; AWS
  managed policies attached on demand.
* ``endpoints``: DescribeEndpoint in SageMaker's shape (variant weights, the capture summary).

Two groups: the interpreter's (``install("interpreter")``, in the stack's process, where moto's
Step Functions interpreter runs) and the server's (``install("server")``, in every process that
serves moto; ``moto_app()`` installs it). ``retry_sleeps_recorded()`` is for tests: the
interpreter's Retry really sleeps.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import moto

from local_stack.errors import MotoVersionError

MOTO_VERSION = "5.2.5"

if moto.__version__ != MOTO_VERSION:
    raise MotoVersionError(
        f"local_stack.aws.moto_patches was written for moto {MOTO_VERSION} (pyproject.toml pins "
        f"moto[server]=={MOTO_VERSION}), but moto {moto.__version__} is installed: run `make setup`, "
        "or check every patch in this package against the new version before changing the pin"
    )

# the subjects, once the pin holds (importing any of them runs this first)
from local_stack.aws.moto_patches import (  # noqa: E402
    deployed_resources,
    endpoints,
    executions,
    express,
    iam_enforcement,
    lambda_invoke,
    logs,
    map_runs,
    model_instances,
    s3_conditional_writes,
    speed,
    state_machine_roles,
    task_callbacks,
    threads,
)
from local_stack.aws.moto_patches.executions import (  # noqa: E402
    MAX_EXECUTION_INPUT_BYTES,
    MAX_EXECUTION_NAME_LENGTH,
    is_valid_execution_name,
    keep_ended_executions,
    start_execution_constraint_violation,
)
from local_stack.aws.moto_patches.logs import keep_log_events  # noqa: E402
from local_stack.aws.moto_patches.patch import Patch  # noqa: E402

__all__ = [
    "MAX_EXECUTION_INPUT_BYTES",
    "MAX_EXECUTION_NAME_LENGTH",
    "MOTO_VERSION",
    "PATCHES",
    "Patch",
    "install",
    "installed",
    "is_valid_execution_name",
    "keep_ended_executions",
    "keep_log_events",
    "moto_app",
    "retry_sleeps_recorded",
    "start_execution_constraint_violation",
    "uninstall",
]

PATCHES: dict[str, tuple[Patch, ...]] = {
    "interpreter": (
        *threads.PATCHES,  # first: install imports every module that took moto's list before its own
        *lambda_invoke.PATCHES,
        *logs.PATCHES,
        *speed.INTERPRETER,
        *executions.PATCHES,
        *task_callbacks.PATCHES,
        *map_runs.PATCHES,
        *express.INTERPRETER,
        *state_machine_roles.PATCHES,  # last: it wraps lambda_invoke's and map_runs's clients
    ),
    "server": (
        *model_instances.PATCHES,
        *speed.SERVER,
        *s3_conditional_writes.PATCHES,
        *iam_enforcement.PATCHES,
        *deployed_resources.PATCHES,
        *endpoints.PATCHES,
        *express.PATCHES,
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
    per host name (``speed.dispatcher``) and the server's patches installed."""
    install("server")
    return speed.dispatcher()


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
