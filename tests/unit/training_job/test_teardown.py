"""Teardown against moto's SageMaker, CloudFormation and S3."""

import json

import pytest

from training_job import teardown
from training_job.cli import _bucket_lines, main

STACK_BUCKET = {"BucketName": "stack-images"}
OURS = [{"Key": "project", "Value": "scones-vehicle-classifier"}]


def make_endpoint(sagemaker, role_arn, name, *, tagged=True, version="v1"):
    versioned = f"{name}-{version}"
    tags = [*OURS, {"Key": "endpoint", "Value": name}] if tagged else []
    sagemaker.create_model(
        ModelName=versioned,
        PrimaryContainer={"Image": "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"},
        ExecutionRoleArn=role_arn,
        Tags=tags,
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=versioned,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": versioned,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        Tags=tags,
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=versioned, Tags=tags[:1])


@pytest.fixture
def sagemaker(moto_session, role_arn):
    client = moto_session.client("sagemaker")
    make_endpoint(client, role_arn, "vehicle-classifier")
    make_endpoint(client, role_arn, "vehicle-classifier-staging")
    make_endpoint(client, role_arn, "someone-elses", tagged=False)
    return client


def test_finds_only_what_carries_the_project_tag(sagemaker):
    found = teardown.find_project_resources(sagemaker)
    assert sorted(found.endpoints) == ["vehicle-classifier", "vehicle-classifier-staging"]
    assert sorted(found.models) == ["vehicle-classifier-staging-v1", "vehicle-classifier-v1"]
    only = teardown.find_project_resources(sagemaker, "vehicle-classifier")
    assert (only.endpoints, only.endpoint_configs, only.models) == (
        ["vehicle-classifier"],
        ["vehicle-classifier-v1"],
        ["vehicle-classifier-v1"],
    )


def test_teardown_deletes_then_finds_nothing_left(sagemaker, moto_session, cli_uses, capsys):
    cli_uses(moto_session)
    assert main(["teardown", "--endpoint-name", "vehicle-classifier", "--dry-run"]) == 0
    assert "would delete endpoint vehicle-classifier" in capsys.readouterr().out
    assert "vehicle-classifier" in [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]

    assert main(["teardown", "--endpoint-name", "vehicle-classifier"]) == 0
    out = capsys.readouterr().out
    assert "deleting endpoint config vehicle-classifier-v1" in out
    assert "deleted 1 endpoints, 1 endpoint configs, 1 models" in out
    left = sorted(e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"])
    assert left == ["someone-elses", "vehicle-classifier-staging"]

    assert main(["teardown", "--endpoint-name", "vehicle-classifier"]) == 0
    assert "SageMaker: nothing left" in capsys.readouterr().out

    assert main(["teardown"]) == 0
    assert "deleting endpoint vehicle-classifier-staging" in capsys.readouterr().out
    assert [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]] == ["someone-elses"]


def test_reports_the_stack_and_the_bucket_with_the_commands_to_delete_them(
    moto_session, bucket, cli_uses, capsys
):
    cli_uses(moto_session)
    s3 = moto_session.client("s3")
    for key in ("vehicle-classifier/train/a.png", "vehicle-classifier/train/b.png", "captures/x.jsonl"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"12345")
    assert main(["teardown", "--bucket", bucket, "--stack-name", "missing-stack"]) == 0
    out = capsys.readouterr().out
    assert "SageMaker: nothing left" in out
    assert "SAM stack missing-stack: not found" in out
    assert "vehicle-classifier/" in out and "2 objects" in out
    assert f"aws s3 rm s3://{bucket} --recursive" in out
    assert "/hour" in out

    moto_session.client("cloudformation").create_stack(
        StackName="scones-vehicle-classifier",
        TemplateBody=json.dumps(
            {"Resources": {"Images": {"Type": "AWS::S3::Bucket", "Properties": STACK_BUCKET}}}
        ),
    )
    s3.put_object(Bucket="stack-images", Key="in/one.png", Body=b"1")
    assert main(["teardown"]) == 0
    out = capsys.readouterr().out
    assert "SAM stack scones-vehicle-classifier: CREATE_COMPLETE; holds 1 AWS::S3::Bucket" in out
    assert "stack-images holds" in out and "versioned: empty it with the S3 console's Empty" in out
    assert "sam delete --stack-name scones-vehicle-classifier --region us-east-1" in out


# Captured before run_teardown was split into reporting and formatting functions: the whole
# report, byte for byte, with every part present (deletions, stack, a non-empty stack bucket,
# the --bucket listing and the cost line).
WHOLE_DRY_RUN_REPORT = """\
would delete endpoint vehicle-classifier
would delete endpoint vehicle-classifier-staging
would delete endpoint config vehicle-classifier-v1
would delete endpoint config vehicle-classifier-staging-v1
would delete model vehicle-classifier-v1
would delete model vehicle-classifier-staging-v1
SAM stack scones-vehicle-classifier: CREATE_COMPLETE; holds 2 AWS::S3::Bucket, 1 AWS::SNS::Topic
  its bucket stack-images holds 1 objects; CloudFormation cannot delete a non-empty bucket, and it \
is versioned: empty it with the S3 console's Empty (all versions), then delete the stack
  delete it: sam delete --stack-name scones-vehicle-classifier --region us-east-1
s3://scones-test-bucket holds:
  captures/                 1 objects     4.8 MB
  top.txt                   1 objects        1 B
  vehicle-classifier/       2 objects     2.9 KB
  delete them: aws s3 rm s3://scones-test-bucket --recursive   (then the bucket: aws s3 rb \
s3://scones-test-bucket)
cost: An endpoint on one ml.m5.large costs about $0.115/hour (~$83/month, us-east-1 on-demand, \
approximate) while it exists. Deleting the endpoint stops that; S3 storage of the staged images and \
captures costs cents per month; the stack's Lambdas and state machine cost only per execution.
"""


def test_the_whole_report_is_unchanged(sagemaker, moto_session, bucket, cli_uses, capsys):
    cli_uses(moto_session)
    s3 = moto_session.client("s3")
    for key, size in (
        ("vehicle-classifier/train/a.png", 3000),
        ("vehicle-classifier/train/b.png", 5),
        ("captures/x.jsonl", 5_000_000),
        ("top.txt", 1),
    ):
        s3.put_object(Bucket=bucket, Key=key, Body=b"1" * size)
    resources = {
        "Images": {"Type": "AWS::S3::Bucket", "Properties": STACK_BUCKET},
        "Empty": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "stack-empty"}},
        "Topic": {"Type": "AWS::SNS::Topic"},
    }
    moto_session.client("cloudformation").create_stack(
        StackName="scones-vehicle-classifier", TemplateBody=json.dumps({"Resources": resources})
    )
    s3.put_object(Bucket="stack-images", Key="in/one.png", Body=b"1")

    assert main(["teardown", "--dry-run", "--bucket", bucket]) == 0
    assert capsys.readouterr().out == WHOLE_DRY_RUN_REPORT


@pytest.mark.parametrize(
    ("prefix", "summary", "lines"),
    [
        ("", None, ["bucket b: not found"]),
        ("p/", {}, ["s3://b/p: empty"]),
        (
            "p",
            {"x/": (2, 2048)},
            [
                "s3://b/p holds:",
                "  x/                        2 objects     2.0 KB",
                "  delete them: aws s3 rm s3://b/p --recursive",
            ],
        ),
    ],
)
def test_bucket_lines(prefix, summary, lines):
    assert _bucket_lines("b", prefix, summary) == lines
