"""The stack as ``describe-stacks`` answers it, in AWS and from the local stack that ``up`` serves:
its Outputs and Parameters by key, read in one place.

Every lookup of the stack goes through :func:`read_stack`. Its errors are a small family, so
that each caller can keep its own error (``except StackLookupError`` and raise the caller's,
with the caller's hint) or act on a stack that is not there (``except StackNotFound``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The template's Outputs (template.yaml), by the names callers use.
CLASSIFY_IMAGE_STATE_MACHINE_ARN = "ClassifyImageStateMachineArn"
BATCH_CLASSIFY_STATE_MACHINE_ARN = "BatchClassifyStateMachineArn"
BATCH_RESULTS_LOCATION = "BatchResultsLocation"
IMAGE_BUCKET_NAME = "ImageBucketName"
ENDPOINT_NAME = "EndpointName"
UPLOAD_LOCATION = "UploadLocation"
REVIEW_QUEUE_URL = "ReviewQueueUrl"
REVIEWED_DATA_LOCATION = "ReviewedDataLocation"


class StackLookupError(Exception):
    """The stack could not be read, or lacks what the caller needs."""


class StackNotFound(StackLookupError):
    """CloudFormation answers that no stack of this name exists."""


class MissingStackOutput(StackLookupError):
    """The stack exists but has no such Output (a stack deployed from an older template)."""


@dataclass(frozen=True)
class StackOutputs:
    """One stack's identity, status, Outputs and Parameters."""

    stack_name: str
    stack_id: str
    status: str
    outputs: Mapping[str, str] = field(default_factory=dict)
    parameters: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_description(cls, stack: Mapping[str, Any], stack_name: str = "") -> StackOutputs:
        """From one element of describe-stacks' ``Stacks`` (asked for by ``stack_name``)."""
        return cls(
            stack_name=stack.get("StackName", stack_name),
            stack_id=stack.get("StackId", ""),
            status=stack.get("StackStatus", ""),
            outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
            parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])},
        )

    def output(self, key: str) -> str:
        """The Output ``key``; MissingStackOutput names it when the stack has none."""
        try:
            return self.outputs[key]
        except KeyError:
            raise MissingStackOutput(f"stack {self.stack_name} has no {key} output") from None

    def require(self, *keys: str) -> None:
        """Raise MissingStackOutput naming every one of ``keys`` the stack lacks."""
        missing = [key for key in keys if key not in self.outputs]
        if missing:
            raise MissingStackOutput(f"stack {self.stack_name} has no Output {', '.join(missing)}")

    # The Outputs several packages read, typed by name.
    @property
    def image_bucket(self) -> str:
        return self.output(IMAGE_BUCKET_NAME)

    @property
    def classify_image_state_machine_arn(self) -> str:
        return self.output(CLASSIFY_IMAGE_STATE_MACHINE_ARN)

    @property
    def batch_classify_state_machine_arn(self) -> str:
        return self.output(BATCH_CLASSIFY_STATE_MACHINE_ARN)

    @property
    def review_queue_url(self) -> str:
        return self.output(REVIEW_QUEUE_URL)

    @property
    def reviewed_data_location(self) -> str:
        return self.output(REVIEWED_DATA_LOCATION)


def read_stack(cloudformation: Any, stack_name: str) -> StackOutputs:
    """The stack ``stack_name`` as describe-stacks answers it.

    StackNotFound when CloudFormation says it does not exist; StackLookupError, with the
    service's message, for any other failure to ask (no credentials, no endpoint, throttling).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message") or str(error)
        if "does not exist" in message:
            raise StackNotFound(f"stack {stack_name}: {message}") from error
        raise StackLookupError(f"stack {stack_name}: {message}") from error
    except BotoCoreError as error:
        raise StackLookupError(f"stack {stack_name}: {error}") from error
    if not stacks:
        raise StackNotFound(f"stack {stack_name}: describe-stacks answered no stack")
    return StackOutputs.from_description(stacks[0], stack_name)
