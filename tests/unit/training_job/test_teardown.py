"""Teardown against moto's SageMaker, CloudFormation and S3."""

import json

import pytest

from training_job import teardown
from training_job.cli import main
from training_job.teardown_steps import bucket_lines, log_group_lines

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
# the --bucket listing and the cost line). Issue 18 added the stack's fixed monthly cost to the
# cost line; with no SageMaker log group in the account, the report has no log-group lines.
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
captures costs cents per month. The SAM stack costs up to ~$5.40/month while it exists, idle or not \
(KMS key $1.00, dashboard $3.00, 14 alarm metrics $1.40; less within the free tier); `sam delete` \
stops that. Its Lambdas and state machine cost only per execution.
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
    assert bucket_lines("b", prefix, summary) == lines


def make_log_group(logs, name, streams=(), retention=None):
    logs.create_log_group(logGroupName=name)
    if retention:
        logs.put_retention_policy(logGroupName=name, retentionInDays=retention)
    for stream in streams:
        logs.create_log_stream(logGroupName=name, logStreamName=stream)


def test_lists_sagemakers_log_groups_with_the_command_for_each(sagemaker, moto_session, cli_uses, capsys):
    cli_uses(moto_session)
    logs = moto_session.client("logs")
    make_log_group(
        logs,
        "/aws/sagemaker/TrainingJobs",
        ["vehicle-ic-20250101-000000/algo-1-1735689600", "someone-elses-job/algo-1-1735689600"],
    )
    make_log_group(logs, "/aws/sagemaker/Endpoints/vehicle-classifier")
    make_log_group(logs, "/aws/sagemaker/Endpoints/vehicle-classifier-old", retention=14)  # endpoint gone
    make_log_group(logs, "/aws/sagemaker/Endpoints/someone-elses")  # a live endpoint, not ours
    make_log_group(logs, "/aws/lambda/unrelated")

    assert main(["teardown", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "SageMaker's log groups (SageMaker sets no retention" in out
    assert (
        "  /aws/sagemaker/TrainingJobs: never expires, 0 B, 1 of its 2 streams from vehicle-ic-* jobs\n"
        "    make it expire: aws logs put-retention-policy --log-group-name /aws/sagemaker/TrainingJobs "
        "--retention-in-days 30\n"
    ) in out
    assert "delete-log-group --log-group-name /aws/sagemaker/TrainingJobs" not in out  # not all ours
    assert (
        "  /aws/sagemaker/Endpoints/vehicle-classifier: never expires, 0 B (endpoint vehicle-classifier "
        "still exists)\n"
    ) in out
    assert (
        "  /aws/sagemaker/Endpoints/vehicle-classifier-old: kept 14 days, 0 B (endpoint "
        "vehicle-classifier-old is gone)\n"
        "    delete it: aws logs delete-log-group --log-group-name "
        "/aws/sagemaker/Endpoints/vehicle-classifier-old\n"
    ) in out
    assert "someone-elses" not in out.split("SageMaker's log groups")[1].split("SAM stack")[0]
    assert "/aws/lambda/unrelated" not in out

    # after the endpoint is deleted its log group stays, and teardown says how to delete it
    assert main(["teardown", "--endpoint-name", "vehicle-classifier"]) == 0
    out = capsys.readouterr().out
    assert (
        "  /aws/sagemaker/Endpoints/vehicle-classifier: never expires, 0 B (endpoint vehicle-classifier "
        "is gone)\n"
        "    delete it: aws logs delete-log-group --log-group-name "
        "/aws/sagemaker/Endpoints/vehicle-classifier\n"
    ) in out
    assert "vehicle-classifier-old" not in out  # --endpoint-name: only that endpoint's group


def test_a_training_log_group_of_only_our_jobs_can_be_deleted(moto_session):
    logs = moto_session.client("logs")
    make_log_group(logs, "/aws/sagemaker/TrainingJobs", ["vehicle-ic-1/algo-1-1", "vehicle-ic-2/algo-1-2"])
    groups = teardown.sagemaker_log_groups(logs, endpoints=set(), live_endpoints=set(), only_named=True)
    assert [(g.name, g.retention_days, g.our_streams, g.streams) for g in groups] == [
        ("/aws/sagemaker/TrainingJobs", None, 2, 2)
    ]
    lines = log_group_lines(groups)
    assert lines[-1] == (
        "    or, as every stream is this project's, delete it: "
        "aws logs delete-log-group --log-group-name /aws/sagemaker/TrainingJobs"
    )
    assert log_group_lines([]) == []
