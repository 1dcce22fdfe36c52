"""WorkflowType Express (issue 26): its definition rendered from the single-photo one without the
review route, the Rule that refuses Express with Review, and the stack deployed as
CloudFormation would deploy it with either type."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local_stack.aws import deploy, lambda_runtime
from local_stack.aws.template import Template, TemplateRuleFailed
from local_stack.settings import REPO_ROOT

TEMPLATE = Template.load()
EXPRESS_ASL = REPO_ROOT / "statemachine" / "classify_image_express.asl.json"


def test_the_express_definition_is_rendered_from_the_single_photo_one():
    result = subprocess.run(
        [sys.executable, "statemachine/render_express.py", "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_express_definition_waits_for_no_task_token_and_ends_within_5_minutes():
    asl = json.loads(EXPRESS_ASL.read_text())
    resources = [state.get("Resource", "") for state in asl["States"].values()]

    assert not [r for r in resources if r.endswith((".waitForTaskToken", ".sync", ".sync:2"))]
    assert asl["TimeoutSeconds"] == 300  # Express's own limit
    standard = json.loads((REPO_ROOT / "statemachine" / "classify_image.asl.json").read_text())
    assert set(asl["States"]) < set(standard["States"])
    assert {"RequestReview", "CountReviewRequest"}.isdisjoint(asl["States"])


def test_the_express_definition_holds_only_placeholders_it_is_given():
    resource = TEMPLATE.body["Resources"]["ClassifyImageExpressStateMachine"]
    substitutions = resource["Properties"]["DefinitionSubstitutions"]

    assert set(re.findall(r"\$\{(\w+)\}", EXPRESS_ASL.read_text())) == set(substitutions)


def test_the_rule_refuses_express_with_review_by_name():
    parameters = {"EndpointName": "e", "WorkflowType": "Express", "LowConfidenceAction": "Review"}
    with pytest.raises(TemplateRuleFailed, match="Express needs LowConfidenceAction Fail") as refused:
        TEMPLATE.check_parameters(parameters)

    assert refused.value.parameter == "ExpressWorkflowHasNoReviewRoute"


@pytest.mark.parametrize(
    ("workflow", "action"), [("Express", "Fail"), ("Standard", "Fail"), ("Standard", "Review")]
)
def test_the_rule_lets_every_other_pair_through(workflow, action):
    TEMPLATE.check_parameters({"EndpointName": "e", "WorkflowType": workflow, "LowConfidenceAction": action})


def test_everything_that_names_the_workflow_chooses_between_the_two_by_fn_if():
    text = (REPO_ROOT / "template.yaml").read_text()
    plain = text.count("!Ref ClassifyImageStateMachine\n") + text.count("${ClassifyImageStateMachine}")
    chosen = text.count(
        "!If [ExpressWorkflow, !Ref ClassifyImageExpressStateMachine, !Ref ClassifyImageStateMachine]"
    )

    assert plain == 0 and chosen >= 6


@pytest.fixture(scope="module")
def express_stack():
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        stack = deploy.deploy(
            session,
            endpoint_name="vehicle-classifier-local",
            bucket="express-deploy-test",
            stack_name="express-deploy-test",
            parameters={"WorkflowType": "Express"},
        )
        try:
            yield session, stack
        finally:
            lambda_runtime.unregister_all()


def test_an_express_stack_has_one_express_one_photo_workflow_logging_all_with_data(express_stack):
    session, stack = express_stack
    sfn = session.client("stepfunctions")
    machine = sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)

    assert "ClassifyImageStateMachine" not in stack.resources
    assert machine["type"] == "EXPRESS"
    assert machine["loggingConfiguration"]["level"] == "ALL"
    assert machine["loggingConfiguration"]["includeExecutionData"] is True
    assert stack.outputs["ClassifyImageStateMachineArn"] == stack.state_machine_arn
    assert ".waitForTaskToken" not in machine["definition"]


# -- the local stack answers as AWS does, and the client reads the log group --------------------


def test_describe_history_and_listing_of_an_express_execution_are_refused_as_aws_refuses_them(express_stack):
    session, stack = express_stack
    sfn = session.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=stack.state_machine_arn, input="[]")["executionArn"]

    for call in (
        lambda: sfn.describe_execution(executionArn=arn),
        lambda: sfn.get_execution_history(executionArn=arn),
    ):
        with pytest.raises(ClientError, match="Resource type not valid in this context: express") as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "InvalidArn"
    with pytest.raises(ClientError) as refused:
        sfn.list_executions(stateMachineArn=stack.state_machine_arn)
    assert refused.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (
            {
                "type": "ExecutionSucceeded",
                "details": {"output": '{"label": "bicycle"}'},
                "execution_arn": "a",
            },
            {"executionArn": "a", "status": "SUCCEEDED", "output": '{"label": "bicycle"}'},
        ),
        (
            {
                "type": "ExecutionFailed",
                "details": {"error": "NotAnImage", "cause": "c"},
                "execution_arn": "a",
            },
            {"executionArn": "a", "status": "FAILED", "error": "NotAnImage", "cause": "c"},
        ),
        (
            {"type": "ExecutionTimedOut", "details": {}, "execution_arn": "a"},
            {"executionArn": "a", "status": "TIMED_OUT"},
        ),
        ({"type": "TaskStateEntered", "details": {}, "execution_arn": "a"}, None),
    ],
)
def test_an_express_executions_end_is_read_from_its_log_event(record, expected):
    from local_stack.client.results import execution_from_log_message

    assert execution_from_log_message(json.dumps(record)) == expected
    assert execution_from_log_message("not json") is None
