"""Read a template the way CloudFormation would: parameters and their constraints, Conditions,
the intrinsic functions (``make_resolver``, ``resolved``), a state machine's
DefinitionSubstitutions (``substituted``). The local deploy reads the transformed template
(``aws.sam_transform``) with it; a few tests read template.yaml's own resources with it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from local_stack.errors import ParameterValidationError, TemplateError, TemplateRuleFailed
from local_stack.settings import REPO_ROOT, TEMPLATE_PATH


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that keeps CloudFormation's short-form tags as {"Fn::...": ...} mappings."""


def _short_form(name: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _tag in (
    "Ref", "Condition", "GetAtt", "Sub", "Join", "Select", "Split", "If", "Equals", "Not", "And", "Or",
    "FindInMap", "Base64",
):  # fmt: skip
    _CfnLoader.add_constructor(
        f"!{_tag}", _short_form(_tag if _tag in ("Ref", "Condition") else f"Fn::{_tag}")
    )


@dataclass(frozen=True)
class Template:
    body: dict

    @classmethod
    def load(cls, path: Path = TEMPLATE_PATH) -> Template:
        return cls(yaml.load(path.read_text(), Loader=_CfnLoader))

    def parameter_defaults(self) -> dict[str, str]:
        return {
            name: str(spec["Default"])
            for name, spec in self.body.get("Parameters", {}).items()
            if "Default" in spec
        }

    def check_parameters(self, values: Mapping[str, str]) -> None:
        """Check values against each parameter's ``AllowedPattern``, ``AllowedValues``,
        ``MinValue``/``MaxValue`` and ``MinLength``/``MaxLength``, as CloudFormation does."""
        for name, value in values.items():
            spec = self.body.get("Parameters", {}).get(name)
            if spec is None:
                raise ParameterValidationError(name, f"Parameters: [{name}] do not exist in the template")
            problem = _parameter_problem(spec, str(value))
            if problem:
                constraint = spec.get("ConstraintDescription")
                raise ParameterValidationError(
                    name,
                    f"Parameter {name} failed to satisfy constraint: {constraint}"
                    if constraint
                    else f"Parameter '{name}' {problem}",
                )
        self.check_rules(values)

    def check_rules(self, values: Mapping[str, str]) -> None:
        """Evaluate the template's ``Rules`` on ``values`` over the defaults, as CloudFormation
        does before it creates anything: a rule whose ``RuleCondition`` holds (or that has none)
        must hold each of its ``Assertions``; TemplateRuleFailed gives the first that does not
        (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html).
        A rule that names a parameter with no value yet is left to the deploy that has them all."""
        known = {**self.parameter_defaults(), **{name: str(value) for name, value in values.items()}}
        for name, rule in self.body.get("Rules", {}).items():
            try:
                if "RuleCondition" in rule and not _rule_holds(rule["RuleCondition"], known):
                    continue
                for assertion in rule.get("Assertions", []):
                    if not _rule_holds(assertion["Assert"], known):
                        raise TemplateRuleFailed(
                            name, assertion.get("AssertDescription", f"Template rule {name} failed")
                        )
            except _UnknownParameter:
                continue

    def resources_of_type(self, resource_type: str) -> dict[str, dict]:
        return {k: v for k, v in self.body["Resources"].items() if v["Type"] == resource_type}

    def function_environment(self, logical_id: str, resolve: Callable[[Any], str]) -> dict[str, str]:
        """Globals' variables overlaid with the function's own, resolved to strings."""
        global_vars = (
            self.body.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        )
        own = self.body["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        environment = {}
        for name, value in {**global_vars, **own}.items():
            chosen = self.chosen(value, resolve)
            if chosen is not NO_VALUE:
                environment[name] = resolve(chosen)
        return environment

    def chosen(self, value: Any, resolve: Callable[[Any], str]) -> Any:
        """``value`` with its ``Fn::If`` decided by the template's Conditions, as CloudFormation
        does before anything else; ``NO_VALUE`` where that is ``AWS::NoValue``."""
        if isinstance(value, dict) and list(value) == ["Fn::If"]:
            condition, if_true, if_false = value["Fn::If"]
            return self.chosen(if_true if self.condition_holds(condition, resolve) else if_false, resolve)
        if value == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        return value

    def condition_holds(self, name: str, resolve: Callable[[Any], str]) -> bool:
        conditions = self.body.get("Conditions", {})
        if name not in conditions:
            raise TemplateError(f"no condition {name!r} in the template")
        return _holds(conditions[name], resolve, self)

    def function_timeout(self, logical_id: str) -> float:
        """The function's ``Timeout`` in seconds: its own, else Globals', else Lambda's default 3."""
        own = self.body["Resources"][logical_id]["Properties"].get("Timeout")
        return float(own or self.body.get("Globals", {}).get("Function", {}).get("Timeout", 3))

    def function_memory_mb(self, logical_id: str) -> int:
        """The function's ``MemorySize``: its own, else Globals', else Lambda's default 128."""
        own = self.body["Resources"][logical_id]["Properties"].get("MemorySize")
        return int(own or self.body.get("Globals", {}).get("Function", {}).get("MemorySize", 128))

    def function_log_group(self, logical_id: str, resolve: Callable[[Any], str]) -> str | None:
        """The log group the function's ``LoggingConfig`` names (None: Lambda's default)."""
        group = self.body["Resources"][logical_id]["Properties"].get("LoggingConfig", {}).get("LogGroup")
        return None if group is None else resolve(group)

    def function_code_dir(self, logical_id: str) -> Path:
        return REPO_ROOT / self.body["Resources"][logical_id]["Properties"]["CodeUri"]

    def state_machine_logging(self, logical_id: str, resolve: Callable[[Any], str]) -> dict | None:
        """The state machine's ``Logging`` as CreateStateMachine's API takes it (``loggingConfiguration``)."""
        logging = self.body["Resources"][logical_id]["Properties"].get("Logging")
        if not logging:
            return None
        return {
            "level": logging.get("Level", "OFF"),
            "includeExecutionData": bool(logging.get("IncludeExecutionData", False)),
            "destinations": [
                {
                    "cloudWatchLogsLogGroup": {
                        "logGroupArn": resolve(d["CloudWatchLogsLogGroup"]["LogGroupArn"])
                    }
                }
                for d in logging.get("Destinations", [])
            ],
        }

    def state_machine(self, logical_id: str, resolve: Callable[[Any], str]) -> str:
        """The ASL with its DefinitionSubstitutions applied, as SAM does at deploy time."""
        properties = self.body["Resources"][logical_id]["Properties"]
        definition = (REPO_ROOT / properties["DefinitionUri"]).read_text()
        substitutions = properties.get("DefinitionSubstitutions", {})
        return substituted(definition, {name: resolve(value) for name, value in substitutions.items()})


def substituted(definition: str, substitutions: Mapping[str, str]) -> str:
    """A state machine's definition with its ``DefinitionSubstitutions`` applied as CloudFormation
    applies them: each ``${name}`` replaced by the value's string
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachine.html)."""
    for name, value in substitutions.items():
        definition = definition.replace("${" + name + "}", value)
    json.loads(definition)  # a substitution must never break the JSON
    return definition


# the intrinsic functions a resolved property may hold (Fn::If and Condition are decided first)
_INTRINSICS = {"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::Select", "Fn::Base64"}


def resolved(value: Any, resolve: Callable[[Any], str], template: Template) -> Any:
    """A property value as the resource gets it: every ``Fn::If`` decided (``AWS::NoValue``
    left out), every other intrinsic resolved to its string; literals kept as they are."""
    value = template.chosen(value, resolve)
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in _INTRINSICS:
            return resolve(_decided(value, resolve, template))
        kept = {key: resolved(item, resolve, template) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item is not NO_VALUE}
    if isinstance(value, list):
        return [item for item in (resolved(v, resolve, template) for v in value) if item is not NO_VALUE]
    return value


def _decided(value: Any, resolve: Callable[[Any], str], template: Template) -> Any:
    """``value`` with every ``Fn::If`` inside it decided (a Fn::Sub variable may be one)."""
    value = template.chosen(value, resolve)
    if isinstance(value, dict):
        return {key: _decided(item, resolve, template) for key, item in value.items()}
    if isinstance(value, list):
        return [_decided(item, resolve, template) for item in value]
    return value


# a Number parameter's value as CloudFormation reads it: an integer or a float, nothing more
# (float() would also take "nan", "inf", " 0.5" and "1_0")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _parameter_problem(spec: Mapping[str, Any], value: str) -> str | None:
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        return "must be one of AllowedValues"
    if spec.get("Type") == "Number":
        if not _NUMBER.fullmatch(value):
            return "must be a number"
        if "MinValue" in spec and float(value) < float(spec["MinValue"]):
            return f"must be a number not less than {spec['MinValue']}"
        if "MaxValue" in spec and float(value) > float(spec["MaxValue"]):
            return f"must be a number not greater than {spec['MaxValue']}"
        return None
    # String constraints
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        return f"must match pattern {spec['AllowedPattern']}"
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return f"must contain at least {spec['MinLength']} characters"
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        return f"must contain at most {spec['MaxLength']} characters"
    return None


class _UnknownParameter(LookupError):
    """A rule names a parameter that has no value here."""


def _rule_value(value: Any, known: Mapping[str, str]) -> Any:
    """A rule function's argument: a literal, a list of them, or a parameter's value (Ref)."""
    if isinstance(value, dict) and list(value) == ["Ref"]:
        if value["Ref"] not in known:
            raise _UnknownParameter(value["Ref"])
        return known[value["Ref"]]
    if isinstance(value, list):
        return [_rule_value(item, known) for item in value]
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise TemplateError(f"cannot evaluate rule argument {value!r} locally")


def _rule_holds(expression: Any, known: Mapping[str, str]) -> bool:
    """A rule function's truth: Fn::And, Fn::Or, Fn::Not, Fn::Equals, Fn::Contains (the ones the
    template uses of the rule-specific intrinsic functions)."""
    ((kind, argument),) = expression.items()
    if kind == "Fn::And":
        return all(_rule_holds(part, known) for part in argument)
    if kind == "Fn::Or":
        return any(_rule_holds(part, known) for part in argument)
    if kind == "Fn::Not":
        return not _rule_holds(argument[0], known)
    if kind == "Fn::Equals":
        left, right = (_rule_value(side, known) for side in argument)
        return left == right
    if kind == "Fn::Contains":
        within, value = (_rule_value(side, known) for side in argument)
        return value in within
    raise TemplateError(f"cannot evaluate rule function {kind} locally")


NO_VALUE = object()  # AWS::NoValue: the property is left out


def _holds(expression: Any, resolve: Callable[[Any], str], template: Template) -> bool:
    """A condition function's truth: Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition."""
    ((kind, argument),) = expression.items()
    if kind == "Fn::Equals":
        left, right = argument
        return resolve(left) == resolve(right)
    if kind == "Fn::Not":
        return not _holds(argument[0], resolve, template)
    if kind == "Fn::And":
        return all(_holds(part, resolve, template) for part in argument)
    if kind == "Fn::Or":
        return any(_holds(part, resolve, template) for part in argument)
    if kind == "Condition":
        return template.condition_holds(argument, resolve)
    raise TemplateError(f"cannot evaluate condition {expression!r} locally")


def make_resolver(
    parameters: Mapping[str, str], attributes: Mapping[str, str], pseudo: Mapping[str, str]
) -> Callable[[Any], str]:
    """Resolve a template value: literals, Ref to parameters/pseudo parameters/resources,
    Fn::GetAtt and Fn::Sub — the intrinsics the template uses where the local stack reads it.

    ``attributes`` maps "LogicalId" (Ref) and "LogicalId.Attr" (GetAtt) to local values."""

    def resolve(value: Any) -> str:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, dict) and len(value) == 1:
            ((kind, argument),) = value.items()
            if kind == "Ref":
                for source in (parameters, pseudo, attributes):
                    if argument in source:
                        return str(source[argument])
                raise TemplateError(f"cannot resolve Ref {argument}")
            if kind == "Fn::GetAtt":
                key = ".".join(argument)
                if key in attributes:
                    return attributes[key]
                raise TemplateError(f"cannot resolve GetAtt {key}")
            if kind == "Fn::Sub" and isinstance(argument, str):
                return re.sub(r"\$\{([^}!]+)\}", lambda m: _sub_variable(m.group(1), resolve), argument)
            if kind == "Fn::Sub" and isinstance(argument, list):
                text, variables = argument
                return re.sub(
                    r"\$\{([^}!]+)\}",
                    lambda m: (
                        resolve(variables[m.group(1)])
                        if m.group(1) in variables
                        else _sub_variable(m.group(1), resolve)
                    ),
                    text,
                )
            if kind == "Fn::Join":
                separator, parts = argument
                return separator.join(resolve(part) for part in parts)
            if kind == "Fn::Select":
                index, items = argument
                return resolve(items[int(resolve(index))])
        raise TemplateError(f"cannot resolve {value!r} locally")

    return resolve


def _sub_variable(name: str, resolve: Callable[[Any], str]) -> str:
    if "." in name:
        return resolve({"Fn::GetAtt": name.split(".", 1)})
    return resolve({"Ref": name})
