"""IAM as CloudFormation will create it: template.yaml through SAM's own transform (what `sam
deploy` sends), then every role's statements checked. A wildcard resource is allowed only
where AWS requires one (actions without resource-level permissions) or names objects under a
fixed prefix; no role gets a managed policy that grants more."""

from __future__ import annotations

import json

import pytest

from local_stack.aws import sam_transform
from local_stack.aws.template import Template
from tests.conftest import REPO_ROOT

# Actions AWS documents without resource-level permissions: "Resource": "*" is required.
# X-Ray: "X-Ray doesn't support resource-level permissions for ... PutTraceSegments ...";
# CloudWatch Logs delivery (Step Functions' logging): the Step Functions guide's policy.
RESOURCELESS_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    # CountReviewRequest and the review tool (kept to the namespace by a condition); task tokens
    "cloudwatch:PutMetricData",
    "states:SendTaskSuccess",
    "states:SendTaskFailure",
}
# a Distributed Map's child executions: AWS's "IAM policies for using Distributed Map states"
# grants DescribeExecution and StopExecution on execution:<state machine name>/*
CHILD_EXECUTIONS_OF_THE_BATCH = {
    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${AWS::StackName}-BatchClassify/*"
}
# managed policies whose every statement is resourceless (the state machine's tracing)
ALLOWED_MANAGED_POLICIES = {"arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"}


@pytest.fixture(scope="module")
def transformed() -> dict[str, dict]:
    """template.yaml's Resources after SAM's transform (the one the local deploy runs), once."""
    return sam_transform.expand(Template.load().body, {}, "us-east-1")["Resources"]


@pytest.fixture(scope="module")
def roles(transformed) -> dict[str, dict]:
    return {name: r["Properties"] for name, r in transformed.items() if r["Type"] == "AWS::IAM::Role"}


def statements(role: dict) -> list[dict]:
    """The statements the role has whatever the parameters (none under an Fn::If)."""
    return [
        s
        for policy in role.get("Policies", [])
        for s in policy["PolicyDocument"]["Statement"]
        if "Fn::If" not in s
    ]


def conditional_statements(role: dict) -> dict[str, list[dict]]:
    """{condition: the statements it adds}: ``Fn::If [condition, statement, AWS::NoValue]``."""
    added: dict[str, list[dict]] = {}
    for policy in role.get("Policies", []):
        for s in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in s:
                condition, when_true, when_false = s["Fn::If"]
                assert when_false == {"Ref": "AWS::NoValue"}, f"{condition}: a statement either way"
                added.setdefault(condition, []).append(when_true)
    return added


def every_statement(role: dict) -> list[dict]:
    """The role's statements under any parameters."""
    return statements(role) + [s for added in conditional_statements(role).values() for s in added]


def resource_choices(resource) -> list:
    """A resource, or each branch of its Fn::If."""
    if isinstance(resource, dict) and "Fn::If" in resource:
        return [r for branch in resource["Fn::If"][1:] for r in resource_choices(branch)]
    return [resource]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def wildcard_problem(statement: dict) -> str | None:
    """Why the statement's wildcard resource is not one AWS requires, or None."""
    actions = set(as_list(statement["Action"]))
    for resource in [r for listed in as_list(statement["Resource"]) for r in resource_choices(listed)]:
        text = json.dumps(resource)
        if resource == "*":
            if not actions <= RESOURCELESS_ACTIONS:
                return f"{sorted(actions - RESOURCELESS_ACTIONS)} on '*'"
        elif "*" in text:
            sub = resource.get("Fn::Sub") if isinstance(resource, dict) else None
            if isinstance(sub, list):  # Fn::Sub [string, {its variables}]: the string is the ARN
                sub = sub[0]
            if sub in CHILD_EXECUTIONS_OF_THE_BATCH and actions <= {
                "states:DescribeExecution",
                "states:StopExecution",
            }:
                continue  # the Distributed Map's children, named by Step Functions at run time
            # objects under the upload prefix: UploadPrefix's AllowedPattern makes it a non-empty
            # folder ("a/", "a/b/"), so this is "<bucket ARN>/<prefix>/*" too
            if isinstance(sub, str) and sub.endswith("}/${UploadPrefix}*") and sub.count("*") == 1:
                continue
            # objects under one endpoint's folder (the capture): EndpointName's AllowedPattern
            # makes it a non-empty name without a slash, so this is "<bucket>/.../<endpoint>/*"
            if isinstance(sub, str) and sub.endswith("/${EndpointName}/*") and sub.count("*") == 1:
                continue
            # objects under a fixed prefix of one bucket: "<bucket ARN>/<prefix>/*"
            if not (isinstance(sub, str) and sub.endswith("/*") and sub.count("*") == 1 and "}/" in sub):
                return f"{sorted(actions)} on {text}"
            if sub.endswith("}/*"):
                return f"{sorted(actions)} on every object of a bucket: {text}"
    return None


def test_no_statement_grants_a_wildcard_resource_aws_does_not_require(roles):
    assert roles
    problems = {
        f"{name}: {problem}"
        for name, role in roles.items()
        for statement in every_statement(role)
        if statement["Effect"] == "Allow" and (problem := wildcard_problem(statement))
    }
    assert problems == set()


def test_classify_image_writes_capture_only_under_capture_mode_function(roles):
    """CaptureMode Function adds PutObject on the endpoint's own capture folder, nothing to read
    or delete; a KMS key adds GenerateDataKey on that key alone. CaptureMode Endpoint adds nothing
    (test_each_function_may_do_its_one_job)."""
    added = conditional_statements(roles["ClassifyImageFunctionRole"])
    assert set(added) == {"CaptureInFunction", "CaptureWithKmsKey"}
    (write,) = added["CaptureInFunction"]
    assert (write["Effect"], write["Action"]) == ("Allow", "s3:PutObject")
    assert resource_choices(write["Resource"]) == [
        {"Fn::Sub": "${ImageBucket.Arn}/data-capture/${EndpointName}/*"},
        {
            "Fn::Sub": [
                "arn:${AWS::Partition}:s3:::${Destination}/${EndpointName}/*",
                {"Destination": {"Fn::Select": [1, {"Fn::Split": ["s3://", {"Ref": "CaptureDestination"}]}]}},
            ]
        },
    ]
    (encrypt,) = added["CaptureWithKmsKey"]
    assert (encrypt["Action"], encrypt["Resource"]) == ("kms:GenerateDataKey", {"Ref": "CaptureKmsKeyArn"})


def test_no_role_gets_a_managed_policy_that_grants_more(roles):
    for name, role in roles.items():
        assert set(role.get("ManagedPolicyArns", [])) <= ALLOWED_MANAGED_POLICIES, name


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "${ImageBucket.Arn}/*"}},
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": {"Fn::Sub": "arn:aws:lambda:::function:f*"},
        },
    ],
    ids=["logs on *", "every object", "function name prefix"],
)
def test_the_check_refuses_the_wildcards_this_template_used_to_have(statement):
    assert wildcard_problem(statement)


def test_each_function_may_do_its_one_job(roles):
    def actions(role: str) -> set[str]:
        return {a for s in statements(roles[role]) for a in as_list(s["Action"])}

    logs_and_traces = {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    assert actions("SerializeImageDataFunctionRole") == {"s3:GetObject", "s3:ListBucket"} | logs_and_traces
    assert actions("ClassifyImageFunctionRole") == {"sagemaker:InvokeEndpoint"} | logs_and_traces
    assert actions("FilterInferencesFunctionRole") == logs_and_traces
    assert actions("SummarizeBatchFunctionRole") == {"s3:GetObject", "s3:PutObject", "s3:ListBucket"} | (
        logs_and_traces
    )
    summarize = {s["Sid"]: s["Resource"] for s in statements(roles["SummarizeBatchFunctionRole"])}
    assert summarize["ReadResultsWriteSummary"] == {"Fn::Sub": "${ImageBucket.Arn}/batch/results/*"}
    assert summarize["ReadManifests"] == {"Fn::Sub": "${ImageBucket.Arn}/batch/manifests/*"}
    # a missing manifest must be a 404 (ManifestNotFound), not a 403 (ResultsStoreError)
    assert summarize["TellMissingFromDenied"] == {"Fn::GetAtt": ["ImageBucket", "Arn"]}
    invoke = next(
        s
        for s in statements(roles["ClassifyImageStateMachineRole"])
        if s["Action"] == "lambda:InvokeFunction"
    )
    assert invoke["Resource"] == [
        {"Fn::GetAtt": [f"{name}Function", "Arn"]}
        for name in ("SerializeImageData", "ClassifyImage", "FilterInferences")
    ]
    text = (REPO_ROOT / "template.yaml").read_text()
    assert "FullAccess" not in text


@pytest.fixture(scope="module")
def managed_policies(transformed) -> dict[str, dict]:
    return {n: r["Properties"] for n, r in transformed.items() if r["Type"] == "AWS::IAM::ManagedPolicy"}


def test_the_state_machine_may_send_to_the_review_queue_only(roles):
    sends = [
        s for s in statements(roles["ClassifyImageStateMachineRole"]) if "sqs" in json.dumps(s["Action"])
    ]
    assert sends == [
        {
            "Sid": "AskForAReview",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["ReviewQueue", "Arn"]},
        }
    ]
    metrics = next(
        s
        for s in statements(roles["ClassifyImageStateMachineRole"])
        if s["Action"] == "cloudwatch:PutMetricData"
    )
    assert metrics["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "SconesUnlimited/VehicleClassifier"}
    }


def test_the_reviewers_policy_grants_what_the_review_tool_calls_and_no_wildcard_it_need_not(managed_policies):
    policy = managed_policies["ReviewerPolicy"]["PolicyDocument"]["Statement"]
    assert [problem for s in policy if (problem := wildcard_problem(s))] == []
    actions = {a for s in policy for a in as_list(s["Action"])}
    assert actions == {
        "cloudformation:DescribeStacks",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "states:SendTaskSuccess",
        "states:SendTaskFailure",
        "s3:GetObject",
        "s3:PutObject",
        "s3:ListBucket",
        "cloudwatch:PutMetricData",
    }
    queue = next(s for s in policy if s["Sid"] == "TakeReviews")
    assert queue["Resource"] == {"Fn::GetAtt": ["ReviewQueue", "Arn"]}
    # a missing reviewed.lst must answer 404, not 403 (the first verdict reads it): ListBucket
    listing = next(s for s in policy if s["Sid"] == "TellMissingFromDenied")
    assert (listing["Action"], listing["Resource"]) == (
        "s3:ListBucket",
        {"Fn::GetAtt": ["ImageBucket", "Arn"]},
    )


def test_the_upload_prefix_is_granted_as_the_stack_names_it(roles, managed_policies):
    """With UploadPrefix=uploads/ the rule fires on uploads/: every grant on the upload location
    follows the parameter, none names incoming/ itself."""
    granted = json.dumps([roles, managed_policies])
    assert "incoming/" not in granted
    serialize = {s["Sid"]: s for s in statements(roles["SerializeImageDataFunctionRole"])}
    assert {"Fn::Sub": "${ImageBucket.Arn}/${UploadPrefix}*"} in serialize["ReadImages"]["Resource"]
    reviewer = {s["Sid"]: s for s in managed_policies["ReviewerPolicy"]["PolicyDocument"]["Statement"]}
    assert {"Fn::Sub": "${ImageBucket.Arn}/${UploadPrefix}*"} in reviewer["SeeThePhotos"]["Resource"]


def test_the_batch_may_start_its_own_children_list_the_photos_and_write_its_results_only(roles):
    granted = {s["Sid"]: s for s in statements(roles["BatchClassifyStateMachineRole"])}
    assert granted["StartChildExecutions"]["Action"] == "states:StartExecution"
    assert granted["StartChildExecutions"]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:"
        "${AWS::StackName}-BatchClassify"
    }
    assert granted["ListThePhotos"]["Action"] == "s3:ListBucket"
    assert granted["ListThePhotos"]["Condition"] == {
        "StringLike": {"s3:prefix": ["images/*", {"Fn::Sub": "${UploadPrefix}*"}]}
    }
    assert granted["WriteTheResults"]["Resource"] == {"Fn::Sub": "${ImageBucket.Arn}/batch/results/*"}
    invoke = granted["InvokeTheFourFunctions"]["Resource"]
    assert invoke == [
        {"Fn::GetAtt": [f"{name}Function", "Arn"]}
        for name in ("SerializeImageData", "ClassifyImage", "FilterInferences", "SummarizeBatch")
    ]
    s3_actions = {a for s in granted.values() for a in as_list(s["Action"]) if a.startswith("s3:")}
    assert "s3:DeleteObject" not in s3_actions and not any(a.endswith("*") for a in s3_actions)


def test_the_upload_prefix_parameter_is_always_a_non_empty_folder():
    """What lets `${UploadPrefix}*` pass as objects under one prefix, not the whole bucket."""
    import re

    import yaml  # the template's parameters hold no CloudFormation tags

    text = (REPO_ROOT / "template.yaml").read_text()
    block = text[
        text.index("  UploadPrefix:") : text.index("ConstraintDescription", text.index("  UploadPrefix:"))
    ]
    pattern = yaml.safe_load(block)["UploadPrefix"]["AllowedPattern"]
    for allowed in ("incoming/", "uploads/", "a/b/"):
        assert re.fullmatch(pattern, allowed), allowed
    for refused in ("", "/", "incoming", "a//", "*/"):
        assert not re.fullmatch(pattern, refused), refused
