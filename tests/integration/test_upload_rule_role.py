"""The upload rule acts as its target's RoleArn, as EventBridge does: with the role's
``states:StartExecution`` taken away, an upload starts no execution and its event goes to the
rule's dead-letter queue with the refusal (EventBridge sends a missing permission there without
retrying: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html)."""

from __future__ import annotations

import json
import time

import pytest

from local_stack.processes.stack_process import start_stack_process
from local_stack.settings import SAMPLES_DIR, STACK_NAME

pytestmark = [pytest.mark.integration]

BUCKET = "upload-rule-role"
# a dead letter arrives in well under a second once the upload is answered; far above it
DEAD_LETTER_WITHIN_SECONDS = 60


def _resource(cloudformation, logical_id: str) -> str:
    found = cloudformation.describe_stack_resource(StackName=STACK_NAME, LogicalResourceId=logical_id)
    return found["StackResourceDetail"]["PhysicalResourceId"]


def test_an_upload_the_rules_role_may_not_start_ends_in_the_dead_letter_queue_with_access_denied():
    with start_stack_process(["--bucket", BUCKET]) as stack:
        cloudformation, iam = stack.client("cloudformation"), stack.client("iam")
        sqs, sfn, s3 = stack.client("sqs"), stack.client("stepfunctions"), stack.client("s3")
        role = _resource(cloudformation, "UploadRuleRole")
        (policy,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
        assert (
            iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]["Statement"][0]["Action"]
            == "states:StartExecution"
        )
        iam.delete_role_policy(RoleName=role, PolicyName=policy)
        queue_url = _resource(cloudformation, "UploadDeadLetterQueue")

        key = "incoming/refused.png"
        s3.put_object(Bucket=BUCKET, Key=key, Body=(SAMPLES_DIR / "bicycle_s_000035.png").read_bytes())

        deadline = time.monotonic() + DEAD_LETTER_WITHIN_SECONDS
        messages = []
        while not messages and time.monotonic() < deadline:
            messages = sqs.receive_message(
                QueueUrl=queue_url, MessageAttributeNames=["All"], WaitTimeSeconds=1
            ).get("Messages", [])
        assert messages, f"no dead letter within {DEAD_LETTER_WITHIN_SECONDS} s"
        (letter,) = messages
        assert json.loads(letter["Body"])["detail"]["object"]["key"] == key
        attributes = {name: value["StringValue"] for name, value in letter["MessageAttributes"].items()}
        assert attributes["ERROR_CODE"] == "AccessDeniedException", attributes
        assert "states:StartExecution" in attributes["ERROR_MESSAGE"], attributes
        assert f"assumed-role/{role}/" in attributes["ERROR_MESSAGE"], attributes
        assert attributes["RETRY_ATTEMPTS"] == "0"  # a refusal is not tried again
        assert attributes["RULE_ARN"].endswith(f":rule/{_resource(cloudformation, 'UploadRule')}")
        state_machine = _resource(cloudformation, "ClassifyImageStateMachine")
        assert sfn.list_executions(stateMachineArn=state_machine)["executions"] == []
