"""The SageMaker execution role as code (training_job/sagemaker-execution-role.yaml): least
privilege that can be read off the template. No "*" resource but for the actions AWS documents
without resource-level permissions, no *FullAccess policy, PassRole only on the role and only to
SageMaker, S3 only inside the ModelBucketName/Prefix parameters."""

from __future__ import annotations

import pytest

from local_stack.aws.template import Template
from tests.conftest import REPO_ROOT

ROLE_TEMPLATE = REPO_ROOT / "training_job" / "sagemaker-execution-role.yaml"

#: Actions granted on "*", each because the Service Authorization Reference lists no resource type
#: for it (or, for Application Auto Scaling, only an ARN with a generated id), as the template cites.
STAR_ACTIONS = {
    "cloudwatch:PutMetricData": "no resource type; kept to SageMaker's namespaces by cloudwatch:namespace",
    "ecr:GetAuthorizationToken": "no resource type",
    "sagemaker:ListEndpoints": "no resource type",
    "sagemaker:ListEndpointConfigs": "no resource type",
    "sagemaker:ListModels": "no resource type",
    "logs:DescribeLogGroups": "no resource type",
    "application-autoscaling:DescribeScalableTargets": "no resource type",
    "application-autoscaling:DescribeScalingPolicies": "no resource type",
    "application-autoscaling:RegisterScalableTarget": "scalable-target ARN has a generated id",
    "application-autoscaling:DeregisterScalableTarget": "scalable-target ARN has a generated id",
    "application-autoscaling:PutScalingPolicy": "scalable-target ARN has a generated id",
    "application-autoscaling:DeleteScalingPolicy": "scalable-target ARN has a generated id",
}

BUCKET_ARN = "arn:${AWS::Partition}:s3:::${ModelBucketName}"
OBJECTS_ARN = BUCKET_ARN + "/${Prefix}/*"


@pytest.fixture(scope="module")
def body() -> dict:
    return Template.load(ROLE_TEMPLATE).body


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _arn(resource) -> str:
    """The ARN pattern of a Resource entry: a literal or the string of its !Sub."""
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        return resource["Fn::Sub"]
    return resource


def _statements(body: dict) -> list[tuple[str, dict]]:
    found = []
    for logical_id, resource in body["Resources"].items():
        properties = resource["Properties"]
        documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
        if "PolicyDocument" in properties:
            documents.append(properties["PolicyDocument"])
        for document in documents:
            found += [(logical_id, statement) for statement in document["Statement"]]
    return found


def test_the_template_has_the_role_the_caller_policy_and_their_outputs(body):
    types = {logical_id: resource["Type"] for logical_id, resource in body["Resources"].items()}
    assert types == {
        "SageMakerExecutionRole": "AWS::IAM::Role",
        "TrainingJobCallerPolicy": "AWS::IAM::ManagedPolicy",
    }
    assert body["Outputs"]["SageMakerRoleArn"]["Value"] == {"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]}
    assert body["Outputs"]["CallerPolicyArn"]["Value"] == {"Ref": "TrainingJobCallerPolicy"}
    assert body["Parameters"]["Prefix"]["Default"] == "vehicle-classifier"


def test_only_sagemaker_can_assume_the_role(body):
    (statement,) = body["Resources"]["SageMakerExecutionRole"]["Properties"]["AssumeRolePolicyDocument"][
        "Statement"
    ]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"


def test_no_full_access_or_other_managed_policy_is_attached(body):
    attached = [
        arn
        for resource in body["Resources"].values()
        for key in ("ManagedPolicyArns", "PolicyArns")
        for arn in resource["Properties"].get(key, [])
    ]
    assert attached == []
    assert "FullAccess" not in ROLE_TEMPLATE.read_text()


def test_every_statement_allows_named_actions_without_wildcards(body):
    for _, statement in _statements(body):
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        assert all("*" not in action for action in _as_list(statement["Action"])), statement


def test_star_resources_only_for_actions_without_resource_level_permissions(body):
    starred = set()
    for _, statement in _statements(body):
        if "*" in [_arn(resource) for resource in _as_list(statement["Resource"])]:
            assert _as_list(statement["Resource"]) == ["*"], statement
            starred |= set(_as_list(statement["Action"]))
    assert starred == set(STAR_ACTIONS)


def test_pass_role_only_on_the_execution_role_and_only_to_sagemaker(body):
    passing = [(owner, s) for owner, s in _statements(body) if "iam:PassRole" in _as_list(s["Action"])]
    assert len(passing) == 1
    owner, statement = passing[0]
    assert owner == "TrainingJobCallerPolicy"
    assert _as_list(statement["Action"]) == ["iam:PassRole"]
    assert statement["Resource"] == {"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]}
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_the_service_linked_role_grant_is_only_application_auto_scaling_for_sagemaker(body):
    (statement,) = [s for _, s in _statements(body) if "iam:CreateServiceLinkedRole" in _as_list(s["Action"])]
    assert _arn(statement["Resource"]).endswith(
        ":role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    )
    assert statement["Condition"] == {
        "StringLike": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}
    }
    iam_actions = {a for _, s in _statements(body) for a in _as_list(s["Action"]) if a.startswith("iam:")}
    assert iam_actions == {"iam:PassRole", "iam:CreateServiceLinkedRole"}


def test_s3_grants_stay_inside_the_bucket_and_prefix_parameters(body):
    s3_statements = [
        s for _, s in _statements(body) if any(a.startswith("s3:") for a in _as_list(s["Action"]))
    ]
    assert s3_statements
    for statement in s3_statements:
        actions = _as_list(statement["Action"])
        assert all(action.startswith("s3:") for action in actions), statement
        arns = [_arn(resource) for resource in _as_list(statement["Resource"])]
        if actions == ["s3:ListBucket"]:
            assert arns == [BUCKET_ARN]
            (operator,) = statement["Condition"]
            assert operator in ("StringLike", "StringLikeIfExists")
            prefixes = statement["Condition"][operator]["s3:prefix"]
            assert prefixes == [{"Fn::Sub": "${Prefix}/*"}, {"Ref": "Prefix"}]
        else:
            assert arns == [OBJECTS_ARN], statement
            assert "s3:ListBucket" not in actions


def test_the_role_reads_and_writes_s3_for_training_and_capture_and_may_describe_rollback_alarms(body):
    role_statements = [s for owner, s in _statements(body) if owner == "SageMakerExecutionRole"]
    by_sid = {s["Sid"]: s for s in role_statements}
    assert set(_as_list(by_sid["ReadWriteUnderPrefix"]["Action"])) == {"s3:GetObject", "s3:PutObject"}
    alarms = by_sid["RollbackAlarms"]
    assert _as_list(alarms["Action"]) == ["cloudwatch:DescribeAlarms"]
    assert all(":alarm:" in _arn(resource) for resource in alarms["Resource"])
    assert {"logs:CreateLogStream", "logs:PutLogEvents"} <= set(by_sid["SageMakerLogs"]["Action"])
