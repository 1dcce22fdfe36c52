"""What moto does again for every execution, path or request, done once: the interpreter's
patches (``INTERPRETER``, in the stack's process) and the server's (``SERVER``, in every process
that serves moto, with the dispatcher ``moto_app`` builds). Each was measured with a profiler on
the running stack; none changes what moto answers.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from local_stack.aws.moto_patches.patch import ASL, Patch, components_of

# -- the interpreter's --------------------------------------------------------------------------


def _parse_each_definition_once(_original: Callable) -> Callable:
    """``...backend.execution_worker.ExecutionWorker._get_evaluation_entrypoint`` parses the
    definition again for every execution (a fifth of the stack's CPU). We parse each definition
    once: the parsed program keeps no per-execution state (that lives in the ``Environment``),
    except ``EvalComponent.heap_key``, a lazily drawn id that Retry uses as a key into the
    execution's heap, so we draw every id before the program is shared between threads."""
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    programs: dict[str, Any] = {}
    lock = threading.Lock()

    def _get_evaluation_entrypoint(self: Any) -> Any:
        definition = self._evaluation_details.state_machine_details.definition
        with lock:
            if definition not in programs:
                program = AmazonStateLanguageParser.parse(definition)[0]
                for component in components_of(program, EvalComponent):
                    _ = component.heap_key  # drawn now, before the program is shared
                programs[definition] = program
            return programs[definition]

    return _get_evaluation_entrypoint


def _memoised(original: Callable) -> Callable:
    """``parse`` as imported by ``...asl.utils.json_path`` and by ``...asl.component.common.path.
    result_path`` (jsonpath_ng's): each call builds a new yacc parser, for every path of every
    state (a seventh of the stack's CPU in ResultPath alone); we memoise both by path. A parsed
    path is never changed by ``find``/``update_or_create``."""
    return functools.lru_cache(maxsize=1024)(original)


INTERPRETER = (
    Patch(
        "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker._get_evaluation_entrypoint",
        ("self",),
        _parse_each_definition_once,
    ),
    Patch(f"{ASL}.utils.json_path:parse", ("path", "debug"), _memoised),
    Patch(f"{ASL}.component.common.path.result_path:parse", ("string",), _memoised),  # jsonpath_ng's
)


# -- the server's -------------------------------------------------------------------------------


def _method_names_kept_per_class(original: Callable) -> Callable:
    """``method_names_from_class`` as imported by ``moto.core.responses``: every request lists
    the methods of its service's response class with ``inspect.getmembers`` (3% of the stack
    process's CPU), only to test whether the action is one of them; we keep the names per class."""
    # a tuple: the names are only tested with ``in``, and a cached list could be changed
    return functools.lru_cache(maxsize=None)(lambda cls: tuple(original(cls)))


SERVER = (Patch("moto.core.responses:method_names_from_class", ("clazz",), _method_names_kept_per_class),)


def dispatcher() -> Any:
    """moto's server as a WSGI app (what ``moto_server`` serves), with
    ``moto.moto_server.werkzeug_app.DomainDispatcherApplication.get_backend_for_host`` kept per
    host name: moto lists its service packages on disk for every request, under a global lock."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

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
