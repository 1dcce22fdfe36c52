"""IAM at call time through boto3, in moto in-process (mock_aws): a function acting as its role's
temporary credentials is refused what its role does not grant, in AWS's shape; S3's 403 for a
missing key without s3:ListBucket; a profile of the written AWS config acts as its role."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

from local_stack.aws.iam import credentials
from local_stack.aws.iam.enforcement import SWITCH_VARIABLE
from tests.conftest import iam_enforced

REGION = "us-east-1"
BUCKET = "scones-bucket"
ACCOUNT = "123456789012"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@pytest.fixture
def aws(monkeypatch):
    """moto with enforcement on; the fixtures themselves act as the administrator (``testing``)."""
    with iam_enforced(monkeypatch, "server") as admin:
        admin.client("s3").create_bucket(Bucket=BUCKET)
        yield admin


def make_role(admin, name: str, statements: list[dict]) -> str:
    iam = admin.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
    document = {"Version": "2012-10-17", "Statement": statements}
    iam.put_role_policy(RoleName=name, PolicyName="grant", PolicyDocument=json.dumps(document))
    return arn


def make_function(admin, name: str, role_arn: str) -> None:
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    admin.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
    )


def session_from(environment: dict) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=environment["AWS_SESSION_TOKEN"],
        region_name=REGION,
    )


def serialize_function(admin) -> boto3.Session:
    role = make_role(
        admin,
        "SerializeRole",
        [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/images/*"}],
    )
    make_function(admin, "serialize", role)
    environment = credentials.function_environment(admin.client("lambda"), admin.client("sts"), "serialize")
    return session_from(environment)


def test_a_function_acting_as_its_role_reads_inside_its_grant_and_is_refused_outside(aws):
    s3 = aws.client("s3")
    s3.put_object(Bucket=BUCKET, Key="images/a.png", Body=b"in")
    s3.put_object(Bucket=BUCKET, Key="other/a.png", Body=b"out")
    function_s3 = serialize_function(aws).client("s3")

    assert function_s3.get_object(Bucket=BUCKET, Key="images/a.png")["Body"].read() == b"in"
    with pytest.raises(ClientError) as refused:
        function_s3.get_object(Bucket=BUCKET, Key="other/a.png")
    error = refused.value.response["Error"]
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/SerializeRole/serialize is not authorized to perform: "
        f"""s3:GetObject on resource: "arn:aws:s3:::{BUCKET}/other/a.png" because no identity-based policy """
        "allows the s3:GetObject action"
    )


def test_a_missing_key_is_403_without_s3_list_bucket_and_404_with_it(aws):
    # GetObject API reference, "Permissions": https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
    function_s3 = serialize_function(aws).client("s3")
    with pytest.raises(ClientError) as refused:
        function_s3.get_object(Bucket=BUCKET, Key="images/missing.png")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert "s3:ListBucket" in refused.value.response["Error"]["Message"]

    aws.client("iam").put_role_policy(
        RoleName="SerializeRole",
        PolicyName="listing",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"}
                ],
            }
        ),
    )
    with pytest.raises(ClientError) as missing:
        function_s3.get_object(Bucket=BUCKET, Key="images/missing.png")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"


def test_a_bucket_that_exists_nowhere_is_no_such_bucket_whoever_asks(aws):
    # no one owns it, so no account's policies decide: S3 answers NoSuchBucket (404) to any
    # caller, AccessDenied (403) only for a bucket that exists (HeadBucket API reference)
    function_s3 = serialize_function(aws).client("s3")
    with pytest.raises(ClientError) as missing:
        function_s3.get_object(Bucket="no-such-bucket-anywhere", Key="images/a.png")
    assert missing.value.response["Error"]["Code"] == "NoSuchBucket"
    aws.client("s3").create_bucket(Bucket="someone-elses-bucket")
    with pytest.raises(ClientError) as refused:
        function_s3.get_object(Bucket="someone-elses-bucket", Key="images/a.png")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as create:  # creating a bucket is still the caller's grant
        function_s3.create_bucket(Bucket="a-new-bucket-of-its-own")
    assert create.value.response["Error"]["Code"] == "AccessDenied"


def test_json_services_answer_access_denied_exception(aws):
    function = serialize_function(aws)
    with pytest.raises(ClientError) as refused:
        function.client("lambda").invoke(FunctionName="serialize", Payload=b"{}")
    error = refused.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"].endswith(
        f"lambda:InvokeFunction on resource: arn:aws:lambda:{REGION}:{ACCOUNT}:function:serialize "
        "because no identity-based policy allows the lambda:InvokeFunction action"
    )
    with pytest.raises(ClientError) as queue:
        function.client("sqs").send_message(
            QueueUrl=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q", MessageBody="x"
        )
    assert queue.value.response["Error"]["Code"] == "AccessDenied"


def test_an_explicit_deny_is_named_in_the_message(aws):
    make_role(
        aws,
        "Denied",
        [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"},
        ],
    )
    role = f"arn:aws:iam::{ACCOUNT}:role/Denied"
    s3 = session_from(credentials.assumed_role_environment(aws.client("sts"), role, "session")).client("s3")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=BUCKET, Key="k", Body=b"")
    assert refused.value.response["Error"]["Message"].endswith(
        "with an explicit deny in an identity-based policy"
    )


def test_off_switch_lets_everything_through(aws, monkeypatch):
    function_s3 = serialize_function(aws).client("s3")
    monkeypatch.setenv(SWITCH_VARIABLE, "off")
    aws.client("s3").put_object(Bucket=BUCKET, Key="other/b", Body=b"x")
    assert function_s3.get_object(Bucket=BUCKET, Key="other/b")["Body"].read() == b"x"


def test_a_profile_of_the_written_config_acts_as_the_reviewer(aws, tmp_path, monkeypatch):
    reviewer = make_role(
        aws,
        "ReviewerRole",
        [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"arn:aws:s3:::{BUCKET}/reviewed/*",
            },
        ],
    )
    path = credentials.write_aws_config(tmp_path / "config", {"reviewer": reviewer}, REGION, None)
    text = path.read_text()
    assert (
        "[profile reviewer]" in text
        and f"role_arn = {reviewer}" in text
        and "source_profile = local-admin" in text
    )
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    # no endpoint_url: mock_aws intercepts AWS's own endpoints only
    session = boto3.Session(profile_name="reviewer")
    identity = session.client("sts").get_caller_identity()["Arn"]
    assert identity == f"arn:aws:sts::{ACCOUNT}:assumed-role/ReviewerRole/reviewer"
    s3 = session.client("s3")
    s3.put_object(Bucket=BUCKET, Key="reviewed/reviewed.lst", Body=b"x")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=BUCKET, Key="images/a.png", Body=b"x")
    assert "assumed-role/ReviewerRole/reviewer" in refused.value.response["Error"]["Message"]


def test_the_endpoint_refuses_invoke_endpoint_outside_the_grant(aws, monkeypatch):
    from local_stack.aws.iam.enforcement import endpoint_refusal

    role = make_role(
        aws,
        "Classify",
        [
            {
                "Effect": "Allow",
                "Action": "sagemaker:InvokeEndpoint",
                "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/scones",
            }
        ],
    )
    keys = credentials.assumed_role_environment(aws.client("sts"), role, "classify")
    scope = f"{keys['AWS_ACCESS_KEY_ID']}/20261207/{REGION}/sagemaker/aws4_request"
    headers = {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=x",
        "X-Amz-Security-Token": keys["AWS_SESSION_TOKEN"],
    }
    assert endpoint_refusal(headers, "Scones", REGION, ACCOUNT) is None  # SageMaker ARNs are lower case
    code, status, message = endpoint_refusal(headers, "other", REGION, ACCOUNT)
    assert (code, status) == ("AccessDeniedException", 400)
    assert message.endswith("because no identity-based policy allows the sagemaker:InvokeEndpoint action")


def test_cloudwatch_refuses_put_metric_data_as_aws_answers_it_through_boto3(aws):
    # botocore speaks JSON to CloudWatch (awsQueryCompatible): the SDK reports the query code
    # from x-amzn-query-error, AccessDenied, 403, as CloudWatch answered on the query protocol
    role = make_role(
        aws,
        "Metrics",
        [
            {
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": "Scones"}},
            }
        ],
    )
    keys = credentials.assumed_role_environment(aws.client("sts"), role, "metrics")
    cloudwatch = session_from(keys).client("cloudwatch")
    datum = [{"MetricName": "Classified", "Value": 1.0}]

    cloudwatch.put_metric_data(Namespace="Scones", MetricData=datum)
    with pytest.raises(ClientError) as refused:
        cloudwatch.put_metric_data(Namespace="Other", MetricData=datum)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert refused.value.response["Error"]["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Metrics/metrics is not authorized to perform: "
        "cloudwatch:PutMetricData on resource: * because no identity-based policy allows the "
        "cloudwatch:PutMetricData action"
    )
