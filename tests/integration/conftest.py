"""Integration tests talk to servers on 127.0.0.1 (moto, the local endpoint): sockets stay open.

One local stack (``python -m local_stack up``, the defaults but its bucket) serves every test
that needs no flags of its own: it starts with the first such test and stops after the last.
A test on it keeps to keys and execution names of its own (``unique``), so that no test depends
on another having run, or not, before it. A test that needs a stack with flags of its own
starts it and is marked ``slow``. ``SHARED_STACK_OPTIONS`` adds `up` flags to the shared stack,
to run the same tests against another configuration (docs/testing.md), e.g.
``SHARED_STACK_OPTIONS="--capture-mode Function --endpoint-cold-start-seconds 2"``."""

from __future__ import annotations

import os
import shlex
import uuid

import pytest

from local_stack.processes.stack_process import StackProcess, start_stack_process

SHARED_BUCKET = "scones-integration"


@pytest.fixture(scope="session")
def shared_stack() -> StackProcess:
    """The session's stack; what a test changes in it, it changes under its own names."""
    options = shlex.split(os.environ.get("SHARED_STACK_OPTIONS", ""))
    with start_stack_process(["--bucket", SHARED_BUCKET, *options]) as stack:
        yield stack


@pytest.fixture
def unique() -> str:
    """A short name no other test uses, for keys and execution names on the shared stack."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def attached(shared_stack, monkeypatch) -> StackProcess:
    """This process's environment holds the shared stack's exports, as a shell's would after
    ``up``: ``python -m local_stack run`` (or ``batch``) called here uses that stack."""
    for name, value in shared_stack.environment.items():
        monkeypatch.setenv(name, value)
    return shared_stack
