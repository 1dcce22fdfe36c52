"""The states one execution enters, found by walking an ASL definition: what Step Functions
bills a Standard workflow for (each state entered is one transition: "Step Functions counts a
state transition each time a step of your workflow is executed, including retries",
https://aws.amazon.com/step-functions/pricing/).

The walk is generic: it follows ``StartAt`` and ``Next``, evaluates Choice rules (JSONPath
``Variable`` rules and their And/Or/Not) against a model of the payload, applies Pass states'
``Parameters``/``Result`` and ``ResultPath``, and routes a Task that raises through its
``Catch``. So a new Pass state, a renamed state or a new Path field changes the count without
a change here. What it cannot model (Map, Parallel, JSONata conditions) raises
:class:`UnsupportedStateError` by name instead of guessing.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: A Choice can loop; no execution of ours enters this many states, so more is a cycle.
MAX_STATES = 1000
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
_MISSING = object()


class UnsupportedStateError(ValueError):
    """The definition uses something this walk does not model; the message names the state."""


@dataclass(frozen=True)
class Outcome:
    """What happens to one photo: the Task that raises (``raised_in``) and the error it raises,
    and what a succeeding Task returns (by state name; default: its input passes through)."""

    error: str | None = None
    raised_in: str | None = None
    results: dict[str, Any] = field(default_factory=dict)


ANSWERED = Outcome()
#: FilterInferences refuses an unsure answer (template.yaml's LowConfidenceAction Fail).
REFUSED = Outcome(error="ThresholdConfidenceNotMet", raised_in="FilterInferences")


def load_definition(path: Path, substitutions: dict[str, str] | None = None) -> dict:
    """The definition with its ``${...}`` placeholders filled, as DefinitionSubstitutions do;
    a placeholder not given becomes ``0`` (numbers stand unquoted, names inside strings)."""
    given = substitutions or {}
    text = _PLACEHOLDER.sub(lambda m: str(given.get(m.group(1), "0")), path.read_text())
    return json.loads(text)


def walk(definition: dict, outcome: Outcome, execution_input: dict | None = None) -> list[str]:
    """The names of the states entered, in order, from StartAt to the end."""
    states = definition["States"]
    document = copy.deepcopy(execution_input if execution_input is not None else _photo_input())
    name = definition["StartAt"]
    entered: list[str] = []
    while name is not None:
        if len(entered) >= MAX_STATES:
            raise UnsupportedStateError(f"more than {MAX_STATES} states entered: a cycle at {name}")
        entered.append(name)
        state = states[name]
        document, name = _step(name, state, document, outcome)
    return entered


def _photo_input() -> dict:
    return {"s3_bucket": "bucket", "s3_key": "incoming/photo.png"}


def _step(name: str, state: dict, document: Any, outcome: Outcome) -> tuple[Any, str | None]:
    kind = state["Type"]
    if kind in ("Succeed", "Fail"):
        return document, None
    if kind == "Choice":
        return document, _choose(name, state, document)
    if kind == "Pass":
        result = state.get("Result", document)
        if "Parameters" in state:
            result = _parameters(state["Parameters"], document)
        return _apply_result(document, state.get("ResultPath", "$"), result), _next(state)
    if kind == "Wait":
        return document, _next(state)
    if kind == "Task":
        if outcome.raised_in == name and outcome.error:
            return _catch(name, state, document, outcome.error)
        result = outcome.results.get(name, document)
        return _apply_result(document, state.get("ResultPath", "$"), result), _next(state)
    raise UnsupportedStateError(f"state {name}: type {kind} is not modelled")


def _next(state: dict) -> str | None:
    return None if state.get("End") else state["Next"]


def _catch(name: str, state: dict, document: Any, error: str) -> tuple[Any, str | None]:
    for catcher in state.get("Catch", []):
        if error in catcher["ErrorEquals"] or "States.ALL" in catcher["ErrorEquals"]:
            failure = {"Error": error, "Cause": "{}"}
            return _apply_result(document, catcher.get("ResultPath", "$"), failure), catcher["Next"]
    return document, None  # uncaught: the execution fails in this state


def _choose(name: str, state: dict, document: Any) -> str:
    for rule in state["Choices"]:
        if _holds(name, rule, document):
            return rule["Next"]
    if "Default" not in state:
        raise UnsupportedStateError(f"state {name}: no choice matched and there is no Default")
    return state["Default"]


_COMPARISONS = {
    "StringEquals": lambda value, expected: value == expected,
    "NumericEquals": lambda value, expected: value == expected,
    "BooleanEquals": lambda value, expected: value is expected,
    "NumericGreaterThanEquals": lambda value, expected: value >= expected,
    "NumericLessThan": lambda value, expected: value < expected,
}


def _holds(name: str, rule: dict, document: Any) -> bool:
    if "And" in rule:
        return all(_holds(name, inner, document) for inner in rule["And"])
    if "Or" in rule:
        return any(_holds(name, inner, document) for inner in rule["Or"])
    if "Not" in rule:
        return not _holds(name, rule["Not"], document)
    if "Condition" in rule or "Variable" not in rule:
        raise UnsupportedStateError(f"state {name}: a choice rule without a JSONPath Variable")
    value = _read(document, rule["Variable"])
    if "IsPresent" in rule:
        return (value is not _MISSING) is rule["IsPresent"]
    for operator, compare in _COMPARISONS.items():
        if operator in rule:
            return value is not _MISSING and compare(value, rule[operator])
    raise UnsupportedStateError(f"state {name}: choice operator of {sorted(rule)} is not modelled")


def _parameters(template: Any, document: Any) -> Any:
    """Payload template: ``key.$`` reads a path of the payload; an intrinsic function or a
    context path (``$$``) is modelled as the text it stands for (its value is no route's)."""
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = _read_or_none(document, value)
            else:
                out[key] = _parameters(value, document)
        return out
    if isinstance(template, list):
        return [_parameters(item, document) for item in template]
    return template


def _read_or_none(document: Any, path: str) -> Any:
    if not path.startswith("$.") and path != "$":
        return path  # an intrinsic function or a context object path
    value = _read(document, path)
    return None if value is _MISSING else value


def _read(document: Any, path: str) -> Any:
    if path == "$":
        return document
    value = document
    for part in path[2:].split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _apply_result(document: Any, result_path: str | None, result: Any) -> Any:
    if result_path is None:
        return document
    if result_path == "$":
        return copy.deepcopy(result)
    updated = copy.deepcopy(document) if isinstance(document, dict) else {}
    target = updated
    parts = result_path[2:].split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = copy.deepcopy(result)
    return updated
