"""Proof that each grant is needed (issue 24, item 4(b)): for each Allow statement of each role
and policy of template.yaml and training_job/sagemaker-execution-role.yaml, either the template
without that statement, deployed in-process with IAM enforced, makes a named scenario
(iam_scenarios.py) end in an AccessDenied that names the statement's action (PROVEN), or the
statement is one no local run can need, with the reason (EXPLAINED). Every statement is in
exactly one of the two, so a new grant without its proof fails here. ``render_table`` writes the
README's table (between its markers; test_the_readme_table_is_the_rendered_one)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from local_stack.aws.iam import enforcement
from local_stack.aws.template import Template
from tests.integration import iam_scenarios
from tests.integration.iam_scenarios import ScenarioFailed, run_scenario

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = ("template.yaml", "training_job/sagemaker-execution-role.yaml")
README = REPO / "README.md"
BEGIN, END = "<!-- iam-mutations:begin -->", "<!-- iam-mutations:end -->"

# ---------------------------------------------------------------- the tables
# statement id -> (scenario, what the failed outcome names besides AccessDenied)
PROVEN: dict[str, tuple[str, str]] = {
    "SerializeImageDataFunctionRole/AssumeRolePolicyDocument/LambdaAssumesTheRole": (
        "deploy_the_stack",
        "cannot be assumed by Lambda",
    ),
    "SerializeImageDataFunctionRole/SerializeImageData/ReadImages": (
        "classify_an_answered_photo",
        "s3:GetObject",
    ),
    "SerializeImageDataFunctionRole/SerializeImageData/TellMissingImagesFromDenied": (
        "a_missing_photo_ends_image_not_found",
        "ImageAccessDenied",
    ),
    "ClassifyImageFunctionRole/AssumeRolePolicyDocument/LambdaAssumesTheRole": (
        "deploy_the_stack",
        "cannot be assumed by Lambda",
    ),
    "ClassifyImageFunctionRole/ClassifyImage/InvokeTheClassifierEndpoint": (
        "classify_an_answered_photo",
        "sagemaker:InvokeEndpoint",
    ),
    "ClassifyImageFunctionRole/ClassifyImage/WriteTheEndpointsCapture": (
        "classify_image_writes_the_capture",
        "s3:PutObject",
    ),
    "FilterInferencesFunctionRole/AssumeRolePolicyDocument/LambdaAssumesTheRole": (
        "deploy_the_stack",
        "cannot be assumed by Lambda",
    ),
    "SummarizeBatchFunctionRole/AssumeRolePolicyDocument/LambdaAssumesTheRole": (
        "deploy_the_stack",
        "cannot be assumed by Lambda",
    ),
    # SummarizeBatch's ResultsStoreError names the key S3 refused, not the action
    "SummarizeBatchFunctionRole/SummarizeBatch/ReadResultsWriteSummary": (
        "a_batch_classifies_and_summarizes",
        "batch/results/",
    ),
    "SummarizeBatchFunctionRole/SummarizeBatch/ReadManifests": (
        "a_batch_classifies_and_summarizes",
        "batch/manifests/photos.lst",
    ),
    "SummarizeBatchFunctionRole/SummarizeBatch/TellMissingFromDenied": (
        "a_batch_without_its_manifest_ends_manifest_not_found",
        "ResultsStoreError",
    ),
    "ClassifyImageStateMachine/ClassifyImageStateMachineRolePolicy0/InvokeTheThreeFunctions": (
        "classify_an_answered_photo",
        "lambda:InvokeFunction",
    ),
    "ClassifyImageStateMachine/ClassifyImageStateMachineRolePolicy0/AskForAReview": (
        "an_unsure_photo_waits_for_review",
        "sqs:SendMessage",
    ),
    "ClassifyImageStateMachine/ClassifyImageStateMachineRolePolicy0/CountReviewRequests": (
        "an_unsure_photo_waits_for_review",
        "cloudwatch:PutMetricData",
    ),
    "ClassifyImageExpressStateMachine/ClassifyImageExpressStateMachineRolePolicy0/InvokeTheThreeFunctions": (
        "classify_a_photo_in_an_express_workflow",
        "lambda:InvokeFunction",
    ),
    "BatchClassifyStateMachine/BatchClassifyStateMachineRolePolicy0/InvokeTheFourFunctions": (
        "a_batch_classifies_and_summarizes",
        "lambda:InvokeFunction",
    ),
    "BatchClassifyStateMachine/BatchClassifyStateMachineRolePolicy0/ListThePhotos": (
        "a_batch_classifies_and_summarizes",
        "s3:ListBucket",
    ),
    "BatchClassifyStateMachine/BatchClassifyStateMachineRolePolicy0/WriteTheResults": (
        "a_batch_classifies_and_summarizes",
        "s3:PutObject",
    ),
    # the trigger's dead letter: EventBridge's code for a role it may not assume (rule-dlq page)
    "UploadRuleRole/AssumeRolePolicyDocument/EventBridgeAssumesTheRole": (
        "an_upload_starts_an_execution",
        "FAILED_TO_ASSUME_ROLE: events.amazonaws.com may not assume",
    ),
    "UploadRuleRole/StartClassifications/StartTheWorkflow": (
        "an_upload_starts_an_execution",
        "states:StartExecution",
    ),
    "ReviewerPolicy/PolicyDocument/FindTheStack": (
        "a_reviewer_decides_the_first_verdict",
        "cloudformation:DescribeStacks",
    ),
    "ReviewerPolicy/PolicyDocument/TakeReviews": (
        "a_reviewer_decides_the_first_verdict",
        "sqs:ReceiveMessage",
    ),
    "ReviewerPolicy/PolicyDocument/GiveVerdicts": (
        "a_reviewer_decides_the_first_verdict",
        "states:SendTaskSuccess",
    ),
    "ReviewerPolicy/PolicyDocument/SeeThePhotos": (
        "a_reviewer_decides_the_first_verdict",
        "/images/reviewed.png",
    ),
    # without it the first GetObject of reviewed/ is refused before the missing key is told
    "ReviewerPolicy/PolicyDocument/WriteTheReviewedDataSet": (
        "a_reviewer_decides_the_first_verdict",
        "/reviewed/verdicts.jsonl",
    ),
    # S3 answers the missing reviewed/verdicts.jsonl 403, naming the action it lacked
    "ReviewerPolicy/PolicyDocument/TellMissingFromDenied": (
        "a_reviewer_decides_the_first_verdict",
        "s3:ListBucket",
    ),
    # a metric refused is the review tool's warning, not its error: the scenario fails on it
    "ReviewerPolicy/PolicyDocument/CountVerdicts": (
        "a_reviewer_decides_the_first_verdict",
        "cloudwatch:PutMetricData",
    ),
}

_LOGS_BY_RUNTIME = (
    "the local runtime sends a function's lines to its group with the stack's administrator keys "
    "(cloudwatch_logs.LogSender), not the role's; Lambda sends them as the role on AWS"
)
_TRACES = "X-Ray: the local stack runs no X-Ray daemon and sends no trace segments"
_EXECUTION_LOGS = (
    "the local interpreter writes execution logs to the group itself (state_machine_logs), with no "
    "log-delivery call as the role; AWS's CloudWatch Logs delivery needs these actions"
)
_KMS_CAPTURE = (
    "only with CaptureKmsKeyArn: moto's S3 asks KMS for no data key on the caller's behalf, so "
    "no local call is made as the role"
)
_AWS_ONLY = "AWS only: training, the endpoint's container and rollouts run on SageMaker, not locally"
_CALLER = (
    "AWS only: python -m training_job's calls go to SageMaker, CloudWatch and Application Auto Scaling on AWS"
)
EXPLAINED: dict[str, str] = {
    **{
        f"{role}/{policy}/WriteOwnLogs": _LOGS_BY_RUNTIME
        for role, policy in (
            ("SerializeImageDataFunctionRole", "SerializeImageData"),
            ("ClassifyImageFunctionRole", "ClassifyImage"),
            ("FilterInferencesFunctionRole", "FilterInferences"),
            ("SummarizeBatchFunctionRole", "SummarizeBatch"),
        )
    },
    **{
        f"{role}/{policy}/SendTraces": _TRACES
        for role, policy in (
            ("SerializeImageDataFunctionRole", "SerializeImageData"),
            ("ClassifyImageFunctionRole", "ClassifyImage"),
            ("FilterInferencesFunctionRole", "FilterInferences"),
            ("SummarizeBatchFunctionRole", "SummarizeBatch"),
        )
    },
    "ClassifyImageFunctionRole/ClassifyImage/EncryptTheCapture": _KMS_CAPTURE,
    **{
        f"{machine}/{machine}RolePolicy0/DeliverExecutionLogs": _EXECUTION_LOGS
        for machine in (
            "ClassifyImageStateMachine",
            "ClassifyImageExpressStateMachine",
            "BatchClassifyStateMachine",
        )
    },
    "BatchClassifyStateMachine/BatchClassifyStateMachineRolePolicy0/StartChildExecutions": (
        "the local Distributed Map runs its child executions inside the interpreter, without a "
        "StartExecution call as the role; AWS starts them as the role (IAM policies for using "
        "Distributed Map states)"
    ),
    "BatchClassifyStateMachine/BatchClassifyStateMachineRolePolicy0/FollowChildExecutions": (
        "the local Distributed Map follows its children inside the interpreter, without "
        "DescribeExecution/StopExecution calls as the role; AWS makes them as the role"
    ),
    "UploadDeadLetterQueuePolicy/PolicyDocument/UploadRuleDeadLetters": (
        "a queue policy for the EventBridge service, used only when an upload starts no execution: "
        "the local trigger decides it before each dead letter (trust_policy.trust on the queue's "
        "Policy), but a one-statement mutation leaves no scenario whose upload fails "
        "(tests/integration/test_upload_rule_role.py reads a dead letter sent under it)"
    ),
    "AlarmTopicKey/KeyPolicy/AccountAdministersTheKey": (
        "a key policy: the local KMS evaluates no key policy; on AWS a key without it cannot be "
        "managed by anyone in the account"
    ),
    "AlarmTopicKey/KeyPolicy/CloudWatchAlarmsPublish": (
        "CloudWatch alarms publishing to the encrypted topic: the local SNS does not encrypt and "
        "local alarms do not publish through KMS"
    ),
    "SageMakerExecutionRole/AssumeRolePolicyDocument/Statement0": _AWS_ONLY,
    "SageMakerExecutionRole/training-capture-rollout/ReadWriteUnderPrefix": (
        "the endpoint's data capture would need the local endpoint to write its capture as this "
        "role (not built: it writes with the administrator's keys); training's reads and writes: " + _AWS_ONLY
    ),
    **{
        f"SageMakerExecutionRole/training-capture-rollout/{sid}": _AWS_ONLY
        for sid in (
            "ListUnderPrefix",
            "SageMakerLogs",
            "TrainingMetrics",
            "RollbackAlarms",
            "PullAlgorithmImage",
            "EcrLogin",
        )
    },
    **{
        f"TrainingJobCallerPolicy/PolicyDocument/{sid}": _CALLER
        for sid in (
            "PassExecutionRole",
            "ModelDataUnderPrefix",
            "ListUnderPrefix",
            "TrainingJobs",
            "EndpointResources",
            "ReadTags",
            "ListSageMaker",
            "Alarms",
            "Autoscaling",
            "AutoscalingServiceLinkedRole",
            "ClassifierStack",
            "SageMakerLogStreams",
            "ListLogGroups",
        )
    },
}


# ---------------------------------------------------------------- the statements


@dataclass(frozen=True)
class Located:
    """Where a statement is: its template, resource, policy (a list of statements) and index."""

    template: str
    resource: str
    policy: str
    index: int


def _policies(logical_id: str, resource: dict) -> Iterator[tuple[str, list, list]]:
    """(policy name, its Statement list, the path to that list) of each policy a resource holds;
    a SAM resource's ``Policies`` statements as SAM names them (<id>RolePolicy<n>)."""
    kind, properties = resource.get("Type", ""), resource.get("Properties", {})
    if "AssumeRolePolicyDocument" in properties:
        yield (
            "AssumeRolePolicyDocument",
            properties["AssumeRolePolicyDocument"]["Statement"],
            ["AssumeRolePolicyDocument", "Statement"],
        )
    if kind == "AWS::IAM::Role":
        for n, policy in enumerate(properties.get("Policies", [])):
            yield (
                policy["PolicyName"],
                policy["PolicyDocument"]["Statement"],
                ["Policies", n, "PolicyDocument", "Statement"],
            )
    elif kind.startswith("AWS::Serverless::"):
        for n, policy in enumerate(properties.get("Policies", []) or []):
            if isinstance(policy, dict) and "Statement" in policy:
                yield f"{logical_id}RolePolicy{n}", policy["Statement"], ["Policies", n, "Statement"]
    for name in ("PolicyDocument", "KeyPolicy"):
        if name in properties:
            yield name, properties[name]["Statement"], [name, "Statement"]


def _branches(item: object) -> list[dict]:
    """A statement, or both statements of an ``Fn::If`` (CaptureMode's grants)."""
    if isinstance(item, dict) and "Fn::If" in item:
        return [s for s in item["Fn::If"][1:] if isinstance(s, dict) and "Effect" in s]
    return [item] if isinstance(item, dict) else []


def _load(template: str) -> dict:
    return Template.load(REPO / template).body


def allow_statements() -> dict[str, Located]:
    """{resource/policy/Sid: where} of every Allow statement of the templates (Statement<i> for
    one without a Sid)."""
    found: dict[str, Located] = {}
    for template in TEMPLATES:
        for logical_id, resource in _load(template)["Resources"].items():
            for policy, statements, _ in _policies(logical_id, resource):
                for index, item in enumerate(statements):
                    for statement in _branches(item):
                        if statement.get("Effect") == "Allow":
                            sid = statement.get("Sid") or f"Statement{index}"
                            found[f"{logical_id}/{policy}/{sid}"] = Located(
                                template, logical_id, policy, index
                            )
    return found


def without(statement_id: str) -> Template:
    """template.yaml without the statement (the YAML's anchors unshared first: a statement used
    by several roles is removed from the one named only); a role policy left with no statement
    is removed with it, as IAM refuses an empty one (MalformedPolicyDocument)."""
    located = allow_statements()[statement_id]
    body = json.loads(json.dumps(_load(located.template)))
    resource = body["Resources"][located.resource]
    path = next(p for name, _, p in _policies(located.resource, resource) if name == located.policy)
    statements = resource["Properties"]
    for step in path:
        statements = statements[step]
    del statements[located.index]
    if not statements and path[0] == "Policies":  # IAM refuses a policy of no statement: drop it
        del resource["Properties"]["Policies"][path[1]]
    return Template(body)


def verdict(statement: str) -> str:
    if statement in PROVEN:
        return f"proven: `{PROVEN[statement][0]}` ends AccessDenied without it"
    return EXPLAINED.get(statement, "NOT LISTED")


def render_table() -> str:
    """The README's table: the statements that one scenario needs, or that one reason explains,
    in one row (README.md stays under its line limit)."""
    rows: dict[str, list[str]] = {}
    for statement in sorted(allow_statements()):
        rows.setdefault(verdict(statement), []).append(f"`{statement}`")
    lines = [
        "| Allow statements (resource/policy/Sid) "
        "| Needed by (tests/integration/iam_scenarios.py), or why no local run can need it |",
        "|---|---|",
    ]
    lines += [
        f"| {'<br>'.join(statements)} | {why} |"
        for why, statements in sorted(rows.items(), key=lambda r: (not r[0].startswith("proven"), r[0]))
    ]
    return "\n".join(lines) + "\n"


def _mutations() -> list[str]:
    return sorted(PROVEN)


# ---------------------------------------------------------------- the tests


@pytest.fixture
def enforced(monkeypatch):
    monkeypatch.delenv(enforcement.SWITCH_VARIABLE, raising=False)  # the default: on
    assert enforcement.enforced()


def test_every_allow_statement_is_proven_or_explained_exactly_once():
    statements = set(allow_statements())
    proven = set(PROVEN)
    assert proven.isdisjoint(EXPLAINED), sorted(proven & EXPLAINED)
    assert statements - proven - set(EXPLAINED) == set(), "a statement without its proof or reason"
    assert (proven | set(EXPLAINED)) - statements == set(), "a table names a statement no template has"
    assert {scenario for scenario, _ in PROVEN.values()} <= set(iam_scenarios.SCENARIOS)


def test_every_statement_of_template_yaml_has_a_sid():
    unnamed = [
        s
        for s, where in allow_statements().items()
        if where.template == "template.yaml" and re.search(r"/Statement\d+$", s)
    ]
    assert unnamed == []


def test_the_readme_table_is_the_rendered_one():
    if os.environ.get("WRITE_IAM_TABLE"):  # WRITE_IAM_TABLE=1 pytest ... -k readme_table rewrites it
        _write_readme()
    text = README.read_text()
    assert BEGIN in text and END in text, f"README.md lacks the markers {BEGIN} ... {END}"
    between = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert between.strip() == render_table().strip(), (
        "README.md's IAM table differs from render_table(): rewrite it with "
        "`WRITE_IAM_TABLE=1 pytest tests/integration/test_iam_mutations.py -k readme_table`"
    )


@pytest.mark.slow
@pytest.mark.parametrize("scenario", sorted({scenario for scenario, _ in PROVEN.values()}))
def test_each_scenario_passes_on_the_template_as_it_stands(enforced, scenario):
    run_scenario(scenario, Template.load(REPO / "template.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("statement", _mutations())
def test_the_template_without_the_statement_fails_its_scenario_with_access_denied(enforced, statement):
    scenario, names = PROVEN[statement]
    with pytest.raises(ScenarioFailed) as failed:
        run_scenario(scenario, without(statement))
    outcome = str(failed.value)
    # FAILED_TO_ASSUME_ROLE: the upload rule's dead letter when EventBridge may not assume its role
    assert re.search(r"AccessDenied|not authorized|cannot be assumed|FAILED_TO_ASSUME_ROLE", outcome), outcome
    assert names in outcome, outcome


def _write_readme() -> None:
    text = README.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    README.write_text(f"{head}{BEGIN}\n{render_table()}{END}{tail}")
