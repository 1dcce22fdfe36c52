"""What every patch is written in: a ``Patch`` names one moto internal, the parameters it had
and how to build its replacement from the original (the package's ``install`` applies it); and
the walk over a program moto's ASL parser made, which two subjects need."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# the modules of moto's ASL interpreter, where most targets are
ASL = "moto.stepfunctions.parser.asl"
STATE_MAP = f"{ASL}.component.state.exec.state_map"


@dataclass(frozen=True)
class Patch:
    """One moto internal we replace: ``target`` is ``module:Attribute[.attribute]``,
    ``parameters`` the internal's parameter names as written for, ``make`` builds the
    replacement from the original."""

    target: str
    parameters: tuple[str, ...] | None  # None: the target is a value, not a function
    make: Callable[[Any], Any]

    def owner_and_name(self) -> tuple[Any, str]:
        module_name, _, path = self.target.partition(":")
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        return owner, name


def components_of(component: Any, kind: type, seen: set[int] | None = None) -> Iterator[Any]:
    """Every component of ``kind`` in a parsed program, each once, a parent before its children."""
    seen = set() if seen is None else seen
    if id(component) in seen:
        return
    seen.add(id(component))
    if isinstance(component, kind):
        yield component
    if isinstance(component, list | tuple):
        children: Any = component
    elif isinstance(component, dict):
        children = component.values()
    elif type(component).__module__.startswith(ASL) and hasattr(component, "__dict__"):
        children = vars(component).values()
    else:
        return
    for child in children:
        yield from components_of(child, kind, seen)
