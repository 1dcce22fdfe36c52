"""EventBridge's share of a rule, as far as the local stack needs it and with nothing of S3 in
it: does an event match the rule's ``EventPattern`` (``matches``), and what input does the
target's ``InputTransformer`` make of it (``transformed_input``).

moto 5.2.5's EventBridge has a matcher, but it does not refuse a pattern operator it does not
know (``EventPattern._does_item_match_named_filter`` answers True): a rule would start
executions for events AWS never matches. This matcher implements exact values, ``wildcard``,
``prefix``, ``suffix`` and ``exists``, and refuses any other operator by name
(``UnsupportedEventPattern``), when the rule is read (``check_event_pattern``) and never as a
silent miss. The transformer's paths are the JSONPath subset EventBridge's examples use (``$``,
``.name``, ``[index]``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Protocol

_ABSENT = object()  # a field the event does not have (which is not a field set to null)


class UnsupportedEventPattern(ValueError):
    """The rule's EventPattern uses an operator or shape this matcher does not implement: said
    when the trigger is armed, never taken for a silent non-match."""


class UnsupportedInputPath(ValueError):
    """An InputPathsMap path beyond the JSONPath subset here (``$``, ``.name``, ``[index]``)."""


class InvalidTransformedInput(ValueError):
    """The InputTemplate, filled in, is not JSON: EventBridge would not deliver it either."""


# ------------------------------------------------------------------ event patterns

_LEAF_OPERATORS = ("wildcard", "prefix", "suffix", "exists")


def check_event_pattern(pattern: Mapping[str, Any], where: str = "") -> None:
    """Raise ``UnsupportedEventPattern`` unless every leaf is a list of exact values and of the
    operators matched here: ``wildcard``, ``prefix`` and ``suffix`` (strings), ``exists``."""
    if not isinstance(pattern, Mapping) or not pattern:
        raise UnsupportedEventPattern(f"{where or 'the pattern'}: expected a non-empty object")
    for name, wanted in pattern.items():
        path = f"{where}.{name}" if where else name
        if isinstance(wanted, Mapping):
            check_event_pattern(wanted, path)
        elif isinstance(wanted, list):
            for candidate in wanted:
                _check_candidate(candidate, path)
        else:
            raise UnsupportedEventPattern(f"{path}: a pattern's values are in a list, got {wanted!r}")


def _check_candidate(candidate: Any, path: str) -> None:
    if candidate is None or isinstance(candidate, str | int | float | bool):
        return
    if not isinstance(candidate, Mapping) or len(candidate) != 1:
        raise UnsupportedEventPattern(f"{path}: {candidate!r} is not a value or one operator")
    ((operator, argument),) = candidate.items()
    if operator not in _LEAF_OPERATORS:
        raise UnsupportedEventPattern(f"{path}: the operator {operator!r} is not supported locally")
    if operator == "exists" and not isinstance(argument, bool):
        raise UnsupportedEventPattern(f"{path}: exists takes true or false, got {argument!r}")
    if operator != "exists" and not isinstance(argument, str):
        raise UnsupportedEventPattern(f"{path}: {operator} takes a string here, got {argument!r}")


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """Whether ``event`` matches the EventBridge ``pattern``: every field the pattern names
    matches (a nested object field by field; a list when any of its values matches the field, or
    any element of a list field). Case-sensitive, as EventBridge is."""
    for name, wanted in pattern.items():
        value = event.get(name, _ABSENT) if isinstance(event, Mapping) else _ABSENT
        if isinstance(wanted, Mapping):
            if not matches(wanted, {} if value is _ABSENT else value):
                return False
        elif isinstance(wanted, list):
            if not any(_candidate_matches(candidate, value) for candidate in wanted):
                return False
        else:
            raise UnsupportedEventPattern(f"{name}: a pattern's values are in a list, got {wanted!r}")
    return True


def _candidate_matches(candidate: Any, value: Any) -> bool:
    """Whether one value of a pattern's list matches the event's field (``_ABSENT`` if none)."""
    _check_candidate(candidate, "pattern")  # an operator not implemented is an error, never a miss
    if isinstance(candidate, Mapping):
        ((operator, argument),) = candidate.items()
        if operator == "exists":
            return (value is not _ABSENT) == argument
        if isinstance(value, list):
            return any(_candidate_matches(candidate, item) for item in value)
        return isinstance(value, str) and _operator_matches(operator, argument, value)
    if isinstance(value, list):
        return any(_candidate_matches(candidate, item) for item in value)
    if _is_number(candidate) and _is_number(value):
        return candidate == value  # JSON has one kind of number: 1 matches 1.0
    return value is not _ABSENT and type(candidate) is type(value) and candidate == value  # true is not 1


def _operator_matches(operator: str, argument: str, value: str) -> bool:
    if operator == "prefix":
        return value.startswith(argument)
    if operator == "suffix":
        return value.endswith(argument)
    return wildcard_matches(argument, value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def wildcard_matches(pattern: str, value: str) -> bool:
    """EventBridge's ``wildcard``: ``*`` stands for any run of characters, none or many, ``/``
    included (unlike a shell's glob); ``\\*`` is a star and ``\\\\`` a backslash."""
    return _wildcard_regex(pattern).fullmatch(value) is not None


def _wildcard_regex(pattern: str) -> re.Pattern:
    parts = []
    index = 0
    while index < len(pattern):
        character = pattern[index]
        if character == "\\" and pattern[index + 1 : index + 2] in ("*", "\\"):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if character == "*" else re.escape(character))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


# ------------------------------------------------------------------ the InputTransformer

_PATH_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


def json_path_value(document: Any, path: str) -> Any:
    """The value at ``path`` (``$``, ``$.detail.object.key``, ``$.resources[0]``); None where the
    document has none."""
    if not path.startswith("$"):
        raise UnsupportedInputPath(f"{path!r}: a path starts with $")
    value, position = document, 1
    while position < len(path):
        step = _PATH_STEP.match(path, position)
        if step is None:
            raise UnsupportedInputPath(f"{path!r}: only .name and [index] steps are supported locally")
        name, index = step.groups()
        if name is not None:
            value = value.get(name) if isinstance(value, Mapping) else None
        else:
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
        position = step.end()
    return value


def fill_input_template(input_template: str, values: Mapping[str, Any]) -> str:
    """``input_template`` with each ``<name>`` of ``values`` replaced: outside a JSON string by the
    value as JSON (a string comes quoted and escaped, so any key stays valid JSON); inside one by
    the value's text, escaped for that string. Other text is left as it is."""
    out: list[str] = []
    in_string = False
    index = 0
    while index < len(input_template):
        character = input_template[index]
        if in_string and character == "\\":
            out.append(input_template[index : index + 2])
            index += 2
            continue
        placeholder = _PLACEHOLDER.match(input_template, index) if character == "<" else None
        if placeholder and placeholder.group(1) in values:
            value = values[placeholder.group(1)]
            if in_string:
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                out.append(json.dumps(text, ensure_ascii=False)[1:-1])
            else:
                out.append(json.dumps(value, ensure_ascii=False))
            index = placeholder.end()
            continue
        if character == '"':
            in_string = not in_string
        out.append(character)
        index += 1
    return "".join(out)


class InputTransformer(Protocol):
    """A target's ``InputTransformer``, as a rule (``upload_trigger.UploadRule``) holds it."""

    @property
    def input_paths(self) -> Mapping[str, str]: ...

    @property
    def input_template(self) -> str: ...


def transformed_input(rule: InputTransformer, event: Mapping[str, Any]) -> str:
    """The target's input for ``event``: the rule's InputPathsMap read from the event, put into
    its InputTemplate. Raises ``InvalidTransformedInput`` when that is not JSON."""
    values = {name: json_path_value(event, path) for name, path in rule.input_paths.items()}
    values.setdefault("aws.events.event", event)
    text = fill_input_template(rule.input_template, values)
    try:
        json.loads(text)
    except ValueError as error:
        raise InvalidTransformedInput(f"{text!r}: {error}") from error
    return text
