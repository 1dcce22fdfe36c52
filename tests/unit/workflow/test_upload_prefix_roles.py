"""A stack deployed with ``UploadPrefix=uploads/`` under IAM enforcement (the default): the
IAM names the prefix (issue 24, Found item 2), so an upload under ``uploads/`` is classified,
while one under ``incoming/`` (the default prefix, not this stack's) is refused twice over, as
AWS would: the deployed ``UploadRule`` does not match it (no execution starts: EventBridge
delivers only matched events), and an execution started by hand on it ends ``ImageAccessDenied``
(SerializeImageDataFunctionRole grants ``images/*`` and ``uploads/*`` only)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from local_stack.aws import deploy, lambda_runtime
from local_stack.aws.eventbridge import matches, transformed_input
from local_stack.aws.iam import enforcement, principals
from local_stack.aws.upload_trigger import RULE_ID, ObjectCreated, deployed_upload_rule, object_created_event
from tests.conftest import SAMPLES_DIR, TEST_ENDPOINT_NAME
from tests.unit.workflow.conftest import BUCKET, endpoint_answer

PHOTO = next(p for p in sorted((SAMPLES_DIR / "images").iterdir()) if p.suffix == ".png")
PREFIX = "uploads/"


@pytest.fixture(scope="module")
def deployed_workflow():
    """The conftest's stack, with ``UploadPrefix=uploads/``."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        session = boto3.Session(region_name="us-east-1")
        deployed = deploy.deploy(
            session,
            endpoint_name=TEST_ENDPOINT_NAME,
            bucket=BUCKET,
            stack_name="prefix",
            parameters={"UploadPrefix": PREFIX},
        )
        try:
            yield session, deployed, itertools.count(1)
        finally:
            lambda_runtime.unregister_all()


@pytest.fixture
def enforced(monkeypatch):
    monkeypatch.delenv(enforcement.SWITCH_VARIABLE, raising=False)  # the default: on
    assert enforcement.enforced()
    principals.forget_all()


def upload(workflow, key: str) -> dict | None:
    """Put ``key`` and do EventBridge's part with the rule as deployed: the execution input the
    rule would start, or None when it does not match."""
    workflow.put(key, PHOTO.read_bytes())
    rule_name = workflow.deployed.resources[RULE_ID].physical_id
    rule = deployed_upload_rule(boto3.Session(region_name="us-east-1").client("events"), rule_name)
    now = datetime.now(UTC)
    created = ObjectCreated(BUCKET, key, "PutObject", "REQUESTID0000000", "127.0.0.1", now, "00")
    event = object_created_event(created, event_id="prefix-test")
    return json.loads(transformed_input(rule, event)) if matches(rule.event_pattern, event) else None


def test_an_upload_under_the_stacks_prefix_is_classified(workflow, enforced):
    execution_input = upload(workflow, f"{PREFIX}a.png")
    assert execution_input == {"s3_bucket": BUCKET, "s3_key": f"{PREFIX}a.png"}
    workflow.function("SerializeImageData").image_store.s3_client.cache_clear()
    workflow.endpoint.add_response("invoke_endpoint", endpoint_answer([0.97, 0.03]))
    execution = workflow.run(execution_input)
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"])["label"] == "bicycle"


def test_an_upload_under_another_prefix_starts_nothing_and_its_key_is_refused(workflow, enforced):
    assert upload(workflow, "incoming/a.png") is None  # no rule match: no execution on AWS
    workflow.function("SerializeImageData").image_store.s3_client.cache_clear()
    execution = workflow.run({"s3_bucket": BUCKET, "s3_key": "incoming/a.png"})  # started by hand
    assert execution["status"] == "FAILED", execution
    assert execution["error"] == "ImageAccessDenied", execution
    assert "s3:GetObject" in execution["cause"] or "403" in execution["cause"], execution
