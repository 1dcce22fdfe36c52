"""Where the review queue and the reviewed data set are: the stack's Outputs, as describe-stacks
answers them (in AWS, and from the local stack that ``up`` serves)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from review.exceptions import StackNotFound

REVIEWED_PREFIX = "reviewed/"


@dataclass(frozen=True)
class ReviewStack:
    queue_url: str
    bucket: str  # where the reviewed data set lives
    prefix: str = REVIEWED_PREFIX


def review_stack(cloudformation: Any, stack_name: str) -> ReviewStack:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        raise StackNotFound(f"stack {stack_name}: {error.response['Error']['Message']}") from error
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    if "ReviewQueueUrl" not in outputs:
        raise StackNotFound(f"stack {stack_name} has no ReviewQueueUrl output: deploy this template version")
    return ReviewStack(outputs["ReviewQueueUrl"], outputs["ImageBucketName"])
