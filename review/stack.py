"""Where the review queue and the reviewed data set are: the stack's Outputs, as describe-stacks
answers them (in AWS, and from the local stack that ``up`` serves)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from review.exceptions import StackNotFound
from scones_core.stack_outputs import (
    IMAGE_BUCKET_NAME,
    REVIEW_QUEUE_URL,
    MissingStackOutput,
    StackLookupError,
    read_stack,
)

REVIEWED_PREFIX = "reviewed/"


@dataclass(frozen=True)
class ReviewStack:
    queue_url: str
    bucket: str  # where the reviewed data set lives
    prefix: str = REVIEWED_PREFIX


def review_stack(cloudformation: Any, stack_name: str) -> ReviewStack:
    try:
        stack = read_stack(cloudformation, stack_name)
        stack.require(REVIEW_QUEUE_URL, IMAGE_BUCKET_NAME)
    except MissingStackOutput as error:
        raise StackNotFound(f"{error}: deploy this template version") from error
    except StackLookupError as error:
        raise StackNotFound(str(error)) from error
    return ReviewStack(stack.review_queue_url, stack.image_bucket)
