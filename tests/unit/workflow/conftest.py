"""The workflow as the tests run it: the real ASL in moto's interpreter (in-process), our
handlers in-process, S3 in moto, the endpoint a botocore Stubber the test fills."""

import io
import json
import time

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws

from local_stack.aws import deploy, lambda_runtime
from tests.conftest import SAMPLES_DIR, TEST_ENDPOINT_NAME, load_event

BUCKET = load_event("workflow_input.json")["s3_bucket"]


def endpoint_answer(probabilities) -> dict:
    raw = json.dumps(probabilities).encode()
    return {"Body": StreamingBody(io.BytesIO(raw), len(raw)), "ContentType": "application/json"}


@pytest.fixture
def workflow():
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        session = boto3.Session(region_name="us-east-1")
        deployed = deploy.deploy(session, endpoint_name=TEST_ENDPOINT_NAME, bucket=BUCKET, stack_name="unit")
        s3 = session.client("s3")
        for path in (SAMPLES_DIR / "images").iterdir():
            s3.put_object(Bucket=BUCKET, Key=f"images/{path.name}", Body=path.read_bytes())
        client = deployed.functions["ClassifyImageFunction"].endpoint.sagemaker_runtime_client()
        try:
            with Stubber(client) as endpoint:
                yield Workflow(session.client("stepfunctions"), s3, deployed, endpoint)
                endpoint.assert_no_pending_responses()
        finally:
            lambda_runtime.unregister_all()  # their logs go to this moto, not the next test's


class Workflow:
    def __init__(self, sfn, s3, deployed, endpoint):
        self.sfn, self.s3, self.deployed, self.endpoint = sfn, s3, deployed, endpoint
        self.runs = 0

    def run(self, execution_input) -> dict:
        self.runs += 1
        arn = self.sfn.start_execution(
            stateMachineArn=self.deployed.state_machine_arn,
            name=f"run-{self.runs}",  # readable in a failing test's output
            input=json.dumps(execution_input),
        )["executionArn"]
        deadline = time.monotonic() + 30
        while (execution := self.sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "execution did not finish"
            time.sleep(0.02)
        return execution

    def function(self, name: str):
        """The modules of a function running in this process, e.g. ``function("ClassifyImage")``."""
        return self.deployed.functions[f"{name}Function"]

    def function_name(self, name: str) -> str:
        return self.deployed.function_names[f"{name}Function"]

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)

    def history(self, execution: dict) -> list[dict]:
        return self.sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
