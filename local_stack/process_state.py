"""Changes to this process's global state (environment variables, ``sys.stdout``, log levels,
warning filters) that are undone together: the local stack points this process at itself while
it runs and gives everything back when it stops."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any


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


class ProcessState:
    """Each ``set_*`` records how to undo itself; ``restore`` undoes them all, last first, once."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def set_environment(self, variables: Mapping[str, str]) -> None:
        saved = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
        self._undo.append(lambda: restore_environment(saved))

    def set_stdout(self, stream: Any) -> None:
        previous, sys.stdout = sys.stdout, stream
        self._undo.append(lambda: setattr(sys, "stdout", previous))

    def set_log_level(self, logger_name: str, level: int) -> None:
        logger = logging.getLogger(logger_name)
        previous = logger.level
        logger.setLevel(level)
        self._undo.append(lambda: logger.setLevel(previous))

    def ignore_warning(self, message: str) -> None:
        saved = warnings.catch_warnings()  # saves the filters on enter, puts them back on exit
        saved.__enter__()
        warnings.filterwarnings("ignore", message=message)
        self._undo.append(lambda: saved.__exit__(None, None, None))

    def on_restore(self, callback: Callable[[], None]) -> None:
        """Also run ``callback`` on restore (in reverse order with the rest)."""
        self._undo.append(callback)

    def restore(self) -> None:
        """Undo every change, last first; every undo runs even when one of them raises."""
        undo, self._undo = self._undo, []
        with contextlib.ExitStack() as stack:
            for callback in undo:
                stack.callback(callback)
