"""The scenarios the IAM mutation test (test_iam_mutations.py) runs against a stack deployed
in-process from a template: each a small function that returns when the stack did what it
should and raises ``ScenarioFailed`` with the outcome (the execution's error and cause, the
function's logged error, the deploy's refusal) when it did not. A scenario deploys its own stack
(its parameters are part of it), with a unique stack name and bucket per call."""

from __future__ import annotations

import functools
import io
import itertools
import json
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from moto import mock_aws

from local_stack.aws import deploy, lambda_runtime
from local_stack.aws.iam import enforcement, principals
from local_stack.aws.template import Template
from local_stack.aws.upload_trigger import (
    DEAD_LETTER_QUEUE_ID,
    RULE_ID,
    ArmedRule,
    ObjectCreated,
    UploadTrigger,
    deployed_upload_rule,
)
from local_stack.client.executions import watcher_for
from local_stack.settings import ACCOUNT_ID
from review.service import Reviews
from review.stack import review_stack
from tests.conftest import SAMPLES_DIR, TEST_ENDPOINT_NAME

REGION = "us-east-1"
PHOTO = "bicycle_s_000035.png"
SURE, UNSURE = [0.97, 0.03], [0.6, 0.4]
# far above the second or so a scenario's execution takes: a loaded machine is slow, not failing
DEADLINE_SECONDS = 300
_numbers = itertools.count(1)


class ScenarioFailed(AssertionError):
    """The scenario's outcome was not the one it expects; the message is that outcome."""


@dataclass
class Stack:
    session: boto3.Session
    deployed: deploy.DeployedStack
    bucket: str

    @property
    def s3(self):
        return self.session.client("s3")

    @property
    def sfn(self):
        return self.session.client("stepfunctions")

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def put_photo(self, key: str) -> None:
        self.put(key, (SAMPLES_DIR / "images" / PHOTO).read_bytes())

    def start(self, arn: str, execution_input: dict) -> str:
        return self.sfn.start_execution(
            stateMachineArn=arn, name=f"run-{next(_numbers)}", input=json.dumps(execution_input)
        )["executionArn"]

    def run(self, arn: str, execution_input: dict) -> dict:
        return self.wait(self.start(arn, execution_input))

    def wait(self, execution_arn: str) -> dict:
        """The execution once it has ended."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while (execution := self.sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, f"execution did not end in {DEADLINE_SECONDS} s"
            time.sleep(0.02)
        return execution


def endpoint_answers(stack: Stack, probabilities: list[float]) -> None:
    """ClassifyImage's InvokeEndpoint answered here with ``probabilities``, after the check the
    local endpoint makes (``enforcement.endpoint_refusal``: the request's credentials, its role's
    policies), so the call is allowed or refused as ClassifyImage's role says."""
    # the globals ClassifyImage's invoke_endpoint reads its client from
    module_globals = stack.deployed.functions["ClassifyImageFunction"].app.invoke_endpoint.__globals__
    original = module_globals["sagemaker_runtime_client"]

    class AnsweringClient:
        """InvokeEndpoint as the local endpoint answers it: refused unless the client's
        credentials' principal may invoke the endpoint, else ``probabilities``."""

        def __init__(self, client):
            self.client = client

        def invoke_endpoint(self, **_):
            credentials = self.client._request_signer._credentials.get_frozen_credentials()
            scope = f"{credentials.access_key}/20260101/{REGION}/sagemaker/aws4_request"
            headers = {
                "Authorization": f"AWS4-HMAC-SHA256 Credential={scope},",
                "X-Amz-Security-Token": credentials.token,
            }
            refused = enforcement.endpoint_refusal(headers, TEST_ENDPOINT_NAME, REGION, ACCOUNT_ID)
            if refused is not None:
                code, status, message = refused
                error = {
                    "Error": {"Code": code, "Message": message},
                    "ResponseMetadata": {"HTTPStatusCode": status},
                }
                raise ClientError(error, "InvokeEndpoint")
            raw = json.dumps(probabilities).encode()
            return {"Body": StreamingBody(io.BytesIO(raw), len(raw)), "ContentType": "application/json"}

    @functools.cache
    def answering_client():
        return AnsweringClient(original())  # made inside the invocation: the role's credentials

    module_globals["sagemaker_runtime_client"] = answering_client


def deployed(template: Template, parameters: dict[str, str] | None = None) -> Stack:
    """Deploy ``template`` in the running moto (a unique stack and bucket)."""
    number = next(_numbers)
    session = boto3.Session(region_name=REGION)
    bucket = f"iam-mutation-{number}"
    principals.forget_all()
    stack = deploy.deploy(
        session,
        endpoint_name=TEST_ENDPOINT_NAME,
        bucket=bucket,
        stack_name=f"mutation{number}",
        parameters=parameters,
        template=template,
    )
    return Stack(session, stack, bucket)


def _failed_execution(execution: dict) -> ScenarioFailed:
    return ScenarioFailed(
        f"{execution['status']}: {execution.get('error', '')}: "
        f"{execution.get('cause', execution.get('output', ''))}"
    )


def _expect_succeeded(execution: dict) -> dict:
    if execution["status"] != "SUCCEEDED":
        raise _failed_execution(execution)
    return execution


# ---------------------------------------------------------------- the scenarios


def deploy_the_stack(template: Template) -> None:
    """The stack deploys: each function's role trusts Lambda (CreateFunction refuses a role
    Lambda cannot assume, and Lambda's AssumeRole is refused)."""
    try:
        deployed(template)
    except Exception as error:  # the deploy's refusal is the outcome
        raise ScenarioFailed(f"deploy failed: {type(error).__name__}: {error}") from error


def classify_an_answered_photo(template: Template) -> None:
    """One photo under images/ through ClassifyImageStateMachine: SerializeImageData reads it,
    ClassifyImage invokes the endpoint, FilterInferences passes the sure answer."""
    stack = deployed(template)
    stack.put_photo("images/answered.png")
    endpoint_answers(stack, SURE)
    execution = stack.run(
        stack.deployed.state_machine_arn, {"s3_bucket": stack.bucket, "s3_key": "images/answered.png"}
    )
    output = json.loads(_expect_succeeded(execution)["output"])
    if output.get("label") != "bicycle":
        raise ScenarioFailed(f"answered {output.get('label')!r}, expected 'bicycle'")


def a_missing_photo_ends_image_not_found(template: Template) -> None:
    """A key that does not exist ends ImageNotFound (S3 answers 404 to a role that may list the
    bucket, 403 AccessDenied to one that may not)."""
    stack = deployed(template)
    execution = stack.run(
        stack.deployed.state_machine_arn, {"s3_bucket": stack.bucket, "s3_key": "images/none.png"}
    )
    if execution.get("error") != "ImageNotFound":
        raise _failed_execution(execution)


def _waiting_for_review(stack: Stack, key: str) -> str:
    """Start the workflow on an unsure photo at ``key`` and return its execution's ARN once it
    waits in the review queue (the SQS task submitted); ScenarioFailed if a step on the way (not
    FilterInferences' refusal, the route to review) failed."""
    stack.put_photo(key)
    endpoint_answers(stack, UNSURE)
    arn = stack.start(stack.deployed.state_machine_arn, {"s3_bucket": stack.bucket, "s3_key": key})
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        events = stack.sfn.get_execution_history(executionArn=arn)["events"]
        # FilterInferences' refusal is the route to review; the count's and the queue's are not
        failed = [
            (e["type"], next(v for k, v in e.items() if k.endswith("EventDetails")))
            for e in events
            if e["type"] in ("TaskFailed", "TaskSubmitFailed", "ExecutionFailed")
        ]
        failed = [(kind, d) for kind, d in failed if d.get("resourceType") != "lambda"]
        if failed:
            kind, details = failed[0]
            stack.sfn.stop_execution(executionArn=arn)
            raise ScenarioFailed(f"{kind}: {details.get('error')}: {details.get('cause')}")
        if any(
            e["type"] == "TaskSubmitted" and "sqs" in e["taskSubmittedEventDetails"]["resourceType"]
            for e in events
        ):
            return arn
        if time.monotonic() > deadline:
            stack.sfn.stop_execution(executionArn=arn)
            raise ScenarioFailed(f"no review requested in {DEADLINE_SECONDS} s")
        time.sleep(0.05)


def an_unsure_photo_waits_for_review(template: Template) -> None:
    """LowConfidenceAction Review: an unsure answer is counted (CountReviewRequest, PutMetricData
    in the workflow's namespace) and waits in the review queue (the SQS task)."""
    stack = deployed(template, {"LowConfidenceAction": "Review"})
    arn = _waiting_for_review(stack, "images/unsure.png")
    try:
        queue = stack.deployed.outputs["ReviewQueueUrl"]
        messages = (
            stack.session.client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages", [])
        )
        if not messages:
            raise ScenarioFailed("the review request is not in the queue")
    finally:
        stack.sfn.stop_execution(executionArn=arn)


def a_batch_classifies_and_summarizes(template: Template) -> None:
    """BatchClassify over images/batch/ with a manifest: the ItemReader lists the photos, the
    children run the three functions, the ResultWriter writes the results, SummarizeBatch reads
    the manifest and the results and writes summary.json."""
    stack = deployed(template, {"BatchSize": "2", "BatchMaxConcurrency": "2"})
    stack.put_photo(f"images/batch/{PHOTO}")
    stack.put("batch/manifests/photos.lst", f"0\t0\t{PHOTO}\n".encode())
    endpoint_answers(stack, SURE)
    execution = stack.run(
        stack.deployed.batch_state_machine_arn,
        {"s3_bucket": stack.bucket, "prefix": "images/batch/", "manifest_key": "batch/manifests/photos.lst"},
    )
    summary = json.loads(_expect_succeeded(execution)["output"])
    if summary.get("answered") != 1:
        raise ScenarioFailed(f"summary: {summary}")


def a_batch_without_its_manifest_ends_manifest_not_found(template: Template) -> None:
    """A manifest that does not exist ends ManifestNotFound (SummarizeBatch's check before any
    photo; S3 answers it 404 only to a role that may list the bucket)."""
    stack = deployed(template)
    stack.put_photo(f"images/batch/{PHOTO}")
    execution = stack.run(
        stack.deployed.batch_state_machine_arn,
        {"s3_bucket": stack.bucket, "prefix": "images/batch/", "manifest_key": "batch/manifests/none.lst"},
    )
    if execution.get("error") != "ManifestNotFound":
        raise _failed_execution(execution)


def classify_a_photo_in_an_express_workflow(template: Template) -> None:
    """WorkflowType Express: one photo through ClassifyImageExpressStateMachine, its end read
    from its log group as a client of AWS reads it."""
    stack = deployed(template, {"WorkflowType": "Express"})
    stack.put_photo("images/express.png")
    endpoint_answers(stack, SURE)
    arn = stack.deployed.state_machine_arn
    with watcher_for(stack.sfn, arn) as watcher:
        execution_arn = stack.start(arn, {"s3_bucket": stack.bucket, "s3_key": "images/express.png"})
        _expect_succeeded(watcher.wait(execution_arn))


def classify_image_writes_the_capture(template: Template) -> None:
    """CaptureMode Function at 100 %: ClassifyImage writes the capture file under
    data-capture/<endpoint>/ itself."""
    stack = deployed(template, {"CaptureMode": "Function", "CaptureSamplingPercentage": "100"})
    stack.put_photo("images/captured.png")
    endpoint_answers(stack, SURE)
    # what S3 answered the capture's PutObject (the handler logs it and answers the photo anyway)
    app_globals = stack.deployed.functions["ClassifyImageFunction"].app.keep_capture.__globals__
    put_capture, refused = app_globals["put_capture"], []

    def recording_put_capture(*args, **kwargs):
        try:
            return put_capture(*args, **kwargs)
        except ClientError as error:
            refused.append(str(error))
            raise

    app_globals["put_capture"] = recording_put_capture
    _expect_succeeded(
        stack.run(
            stack.deployed.state_machine_arn, {"s3_bucket": stack.bucket, "s3_key": "images/captured.png"}
        )
    )
    listed = stack.s3.list_objects_v2(Bucket=stack.bucket, Prefix=f"data-capture/{TEST_ENDPOINT_NAME}/")
    if not listed.get("KeyCount", 0):
        raise ScenarioFailed(f"no capture file: {refused}")


def an_upload_starts_an_execution(template: Template) -> None:
    """An upload under UploadPrefix (incoming/) starts the workflow as EventBridge starts it (the
    local S3's trigger, called here in-process): the rule as deployed (DescribeRule,
    ListTargetsByRule), StartExecution with its target RoleArn's credentials (AssumeRole as
    events.amazonaws.com, aws:SourceAccount and aws:SourceArn sent); a refusal goes to the rule's
    dead-letter queue, whose letter (ERROR_CODE, ERROR_MESSAGE) is the outcome."""
    stack = deployed(template)
    key = "incoming/uploaded.png"
    stack.put_photo(key)
    events = stack.session.client("events")
    rule = deployed_upload_rule(events, stack.deployed.resources[RULE_ID].physical_id)
    reported: list[str] = []
    trigger = UploadTrigger(
        s3_url=None,  # moto in-process: each client's default endpoint
        armed=lambda: ArmedRule(rule, None, REGION),
        report=reported.append,
        sleep=lambda _: None,
    )
    now = datetime.now(UTC)
    created = ObjectCreated(stack.bucket, key, "PutObject", "REQUESTID0000000", "127.0.0.1", now, "00")
    endpoint_answers(stack, SURE)
    execution_arn = trigger.deliver(created)
    if execution_arn is not None:
        _expect_succeeded(stack.wait(execution_arn))
        return
    sqs = stack.session.client("sqs")
    queue_url = stack.deployed.resources[DEAD_LETTER_QUEUE_ID].physical_id
    letters = sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=["All"]).get("Messages", [])
    said = [
        {name: value["StringValue"] for name, value in letter.get("MessageAttributes", {}).items()}
        for letter in letters
    ]
    raise ScenarioFailed(
        "no execution started: "
        + "; ".join(f"{a.get('ERROR_CODE')}: {a.get('ERROR_MESSAGE')}" for a in said)
        + "; ".join(reported)
    )


def _reviewer_session(stack: Stack) -> boto3.Session:
    """The principal holding ReviewerPolicy: the deploy's <stack>-Reviewer, assumed by the account
    (its trust policy names the account root), as the reviewer profile of up's AWS config does."""
    assumed = stack.session.client("sts").assume_role(
        RoleArn=stack.deployed.reviewer_role_arn, RoleSessionName="reviewer"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=assumed["AccessKeyId"],
        aws_secret_access_key=assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
        region_name=REGION,
    )


class _Warnings(logging.Handler):
    """The review package's warnings (a verdict's metric not sent is one, not an error)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def a_reviewer_decides_the_first_verdict(template: Template) -> None:
    """LowConfidenceAction Review, then python -m review's work (review.service, in-process) as the
    principal holding ReviewerPolicy: find the stack (DescribeStacks), list what is pending
    (ReceiveMessage), fetch the photo, decide ``bicycle`` (the first verdict: reviewed.lst is not
    there yet; the photo copied into reviewed/ and listed; SendTaskSuccess; the message deleted;
    the verdict counted: a metric refused is a warning, the outcome here); the waiting execution
    then ends SUCCEEDED."""
    stack = deployed(template, {"LowConfidenceAction": "Review"})
    arn = _waiting_for_review(stack, "images/reviewed.png")
    session = _reviewer_session(stack)
    warnings, logger = _Warnings(), logging.getLogger("review")
    logger.addHandler(warnings)
    try:
        found = review_stack(session.client("cloudformation"), stack.deployed.stack_name)
        with tempfile.TemporaryDirectory() as folder:
            reviews = Reviews(session, found, Path(folder) / "claims.json")
            pending = reviews.pending()
            if not pending:
                raise ScenarioFailed("no review pending")
            reviews.photo(pending[0])
            reviews.decide(pending[0].id, "bicycle")
    except ScenarioFailed:
        stack.sfn.stop_execution(executionArn=arn)
        raise
    except Exception as error:  # the review tool's refusal is the outcome
        stack.sfn.stop_execution(executionArn=arn)
        raise ScenarioFailed(f"review failed: {type(error).__name__}: {error}") from error
    finally:
        logger.removeHandler(warnings)
    if warnings.lines:
        stack.sfn.stop_execution(executionArn=arn)
        raise ScenarioFailed(f"review warned: {'; '.join(warnings.lines)}")
    _expect_succeeded(stack.wait(arn))


SCENARIOS: dict[str, Callable[[Template], None]] = {
    f.__name__: f
    for f in (
        deploy_the_stack,
        classify_an_answered_photo,
        a_missing_photo_ends_image_not_found,
        an_unsure_photo_waits_for_review,
        a_batch_classifies_and_summarizes,
        a_batch_without_its_manifest_ends_manifest_not_found,
        classify_a_photo_in_an_express_workflow,
        classify_image_writes_the_capture,
        an_upload_starts_an_execution,
        a_reviewer_decides_the_first_verdict,
    )
}


def run_scenario(name: str, template: Template) -> None:
    """``name`` against ``template`` in a moto of its own; the functions registered by its deploy
    are unregistered after."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        try:
            SCENARIOS[name](template)
        finally:
            lambda_runtime.unregister_all()
