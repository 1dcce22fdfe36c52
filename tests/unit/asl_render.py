"""The ASL as CloudFormation hands it to Step Functions: statemachine/classify_image.asl.json with
the template's DefinitionSubstitutions filled in (every placeholder stands inside a JSON string:
the file is JSON as it stands, and statelint reads it so)."""

from __future__ import annotations

import json

from local_stack.aws.template import Template, make_resolver
from local_stack.settings import REPO_ROOT

ASL_PATH = REPO_ROOT / "statemachine" / "classify_image.asl.json"
BATCH_ASL_PATH = REPO_ROOT / "statemachine" / "batch_classify.asl.json"

_REGION_ACCOUNT = "us-east-1:123456789012"
_FAKE_ATTRIBUTES = {
    **{
        f"{name}Function.Arn": f"arn:aws:lambda:{_REGION_ACCOUNT}:function:{name}"
        for name in ("SerializeImageData", "ClassifyImage", "FilterInferences", "SummarizeBatch")
    },
    "ReviewQueue": "https://sqs.us-east-1.amazonaws.com/123456789012/review",
}


def rendered_definition(
    template: Template | None = None, machine: str = "ClassifyImageStateMachine", **parameters: str
) -> str:
    """The rendered definition text of ``machine``, with the template's defaults overridden by
    ``parameters``."""
    template = template or Template.load()
    values = {"EndpointName": "e", **template.parameter_defaults(), **parameters}
    resolve = make_resolver(values, _FAKE_ATTRIBUTES, {"AWS::Partition": "aws"})
    return template.state_machine(machine, lambda value: resolve(template.chosen(value, resolve)))


def rendered_batch_asl(template: Template | None = None, **parameters: str) -> dict:
    return json.loads(rendered_definition(template, "BatchClassifyStateMachine", **parameters))


def rendered_asl(template: Template | None = None, **parameters: str) -> dict:
    return json.loads(rendered_definition(template, **parameters))


def asl_with_placeholders(template: Template | None = None) -> dict:
    """The ASL file as written: every placeholder stays ``${...}``, to check where each goes."""
    return json.loads(ASL_PATH.read_text())
