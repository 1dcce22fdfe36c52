"""moto's dashboard list of every model it ever made, kept weakly (in the ``server`` group: every
process that serves moto).

``moto.core.common_models.BaseModel.__new__(cls, *args, **kwargs)`` appends each instance of
every model class to the class's ``instances_tracked`` list, for the dashboard's
``/moto-api/data.json``, and nothing ever takes one out (only ``/moto-api/reset`` empties them).
So nothing a moto model ever was is freed: each log event (``moto.logs.models.LogEvent``) a
stream or a group let go of, each snapshot of a state machine that StartExecution deep-copies
for an execution (``moto.stepfunctions.models.StateMachine``) after the execution was
forgotten, each SQS message deleted, each S3 key overwritten. A soak of 5,000 executions
measured ``up`` at 266 -> 577 MB, with ``LogEvent`` 50k -> 171k and ``StateMachine`` 1,233 ->
4,106 while the stack kept 1,000 executions and 10,000 events per stream.

Here ``instances_tracked`` holds weak references (``WeakInstances``): the dashboard and moto's
S3 reset (which disposes every ``FakeKey`` it lists) still see every instance that is alive,
and one that nothing else holds is freed as Python frees anything.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from local_stack.aws.moto_patches.patch import Patch


class WeakInstances:
    """A model class's ``instances_tracked``, as moto reads it (``append``, iteration, ``len``),
    holding weak references: the instances still alive, in the order made. An instance that
    takes no weak reference (a class with ``__slots__``) is held as moto held it."""

    def __init__(self, instances: Iterable[Any] = ()) -> None:
        self._refs: dict[int, Callable[[], Any]] = {}
        for instance in instances:
            self.append(instance)

    def append(self, instance: Any) -> None:
        key = id(instance)
        try:
            # the callback runs as the instance is freed, before its id can be drawn again
            self._refs[key] = weakref.ref(instance, lambda _, key=key: self._refs.pop(key, None))
        except TypeError:
            self._refs[key] = lambda: instance

    def __iter__(self) -> Iterator[Any]:
        for ref in tuple(self._refs.values()):
            instance = ref()
            if instance is not None:
                yield instance

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _track_weakly(new: Callable) -> Callable:
    from moto.core.common_models import BaseModel

    one_swap_at_a_time = threading.Lock()

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        instance = super(BaseModel, cls).__new__(cls)  # moto's own, less the strong list
        tracked = cls.__dict__.get("instances_tracked")
        if type(tracked) is not WeakInstances:  # moto's list (from class creation or a reset)
            with one_swap_at_a_time:
                tracked = cls.__dict__.get("instances_tracked")
                if type(tracked) is not WeakInstances:
                    tracked = WeakInstances(tracked or ())
                    cls.instances_tracked = tracked
        tracked.append(instance)
        return instance

    return __new__


PATCHES = (Patch("moto.core.common_models:BaseModel.__new__", ("cls", "args", "kwargs"), _track_weakly),)
