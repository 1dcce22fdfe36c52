"""The workflow as the tests run it: the real ASL in moto's interpreter (in-process), our
handlers in-process, S3 in moto, the endpoint a botocore Stubber the test fills."""

import io
import itertools
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
# how long an execution may take before a test gives up on it: far above the second or so that
# one takes, so that a loaded machine is slow, not failing
EXECUTION_DEADLINE_SECONDS = 300


def wait_until_ended(sfn, arn: str) -> dict:
    """The execution once it has ended, polled as a client of AWS polls it."""
    deadline = time.monotonic() + EXECUTION_DEADLINE_SECONDS
    while (execution := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"execution did not end in {EXECUTION_DEADLINE_SECONDS} s"
        time.sleep(0.02)
    return execution


def endpoint_answer(probabilities) -> dict:
    raw = json.dumps(probabilities).encode()
    return {"Body": StreamingBody(io.BytesIO(raw), len(raw)), "ContentType": "application/json"}


@pytest.fixture(scope="module")
def deployed_workflow():
    """The workflow deployed once per module (a deploy takes seconds): a test keeps to its own
    executions (each named afresh) and its own keys, and ``workflow`` undoes what a test changes
    in the functions (their endpoint's Stubber, an invoker of its own)."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        session = boto3.Session(region_name="us-east-1")
        deployed = deploy.deploy(session, endpoint_name=TEST_ENDPOINT_NAME, bucket=BUCKET, stack_name="unit")
        s3 = session.client("s3")
        for path in (SAMPLES_DIR / "images").iterdir():
            s3.put_object(Bucket=BUCKET, Key=f"images/{path.name}", Body=path.read_bytes())
        try:
            yield session, deployed, itertools.count(1)
        finally:
            lambda_runtime.unregister_all()  # their logs go to this moto, not the next module's


@pytest.fixture
def workflow(deployed_workflow):
    session, deployed, numbers = deployed_workflow
    invokers = {name: lambda_runtime.invoker_for(name) for name in deployed.function_names.values()}
    client = deployed.functions["ClassifyImageFunction"].endpoint.sagemaker_runtime_client()
    try:
        with Stubber(client) as endpoint:
            yield Workflow(session.client("stepfunctions"), session.client("s3"), deployed, endpoint, numbers)
            endpoint.assert_no_pending_responses()
    finally:
        for name, invoker in invokers.items():  # a test may have put in one of its own
            lambda_runtime.register_invoker(name, invoker)


class Workflow:
    def __init__(self, sfn, s3, deployed, endpoint, numbers):
        self.sfn, self.s3, self.deployed, self.endpoint = sfn, s3, deployed, endpoint
        self.numbers = numbers  # the module's: execution names stay unique within its moto

    def run(self, execution_input) -> dict:
        arn = self.sfn.start_execution(
            stateMachineArn=self.deployed.state_machine_arn,
            name=f"run-{next(self.numbers)}",  # readable in a failing test's output
            input=json.dumps(execution_input),
        )["executionArn"]
        return wait_until_ended(self.sfn, arn)

    def function(self, name: str):
        """The modules of a function running in this process, e.g. ``function("ClassifyImage")``."""
        return self.deployed.functions[f"{name}Function"]

    def function_name(self, name: str) -> str:
        return self.deployed.function_names[f"{name}Function"]

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)

    def history(self, execution: dict) -> list[dict]:
        return self.sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
