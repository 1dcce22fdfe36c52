"""CreateModel, CreateEndpointConfig (with DataCaptureConfig), CreateEndpoint and UpdateEndpoint,
each request checked against the API model and against what we mean by a botocore Stubber."""

import datetime

import pytest

from training_job import deployment
from training_job.cli import main
from training_job.exceptions import EndpointFailedError

ENDPOINT = "vehicle-classifier"
STAMP = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
NAME = f"{ENDPOINT}-20250102-030405"
ARN = "arn:aws:sagemaker:us-east-1:123456789012"
IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"
MODEL_DATA = "s3://scones-test-bucket/vehicle-classifier/output/job/output/model.tar.gz"
CAPTURE = "s3://scones-test-bucket/vehicle-classifier/data-capture"
TAGS = [{"Key": "project", "Value": "scones-vehicle-classifier"}, {"Key": "endpoint", "Value": ENDPOINT}]


def deploy_config(role_arn, **overrides):
    values = {
        "model_data": MODEL_DATA,
        "endpoint_name": ENDPOINT,
        "role_arn": role_arn,
        "capture_s3_uri": CAPTURE,
    }
    return deployment.DeployConfig(**(values | overrides))


def describe_endpoint(status, config_name=NAME, **extra):
    return {
        "EndpointName": ENDPOINT,
        "EndpointArn": f"{ARN}:endpoint/{ENDPOINT}",
        "EndpointConfigName": config_name,
        "EndpointStatus": status,
        "CreationTime": STAMP,
        "LastModifiedTime": STAMP,
        **extra,
    }


def expect_model_and_config(stub, role_arn, sampling=100):
    stub.add_response(
        "create_model",
        {"ModelArn": f"{ARN}:model/{NAME}"},
        {
            "ModelName": NAME,
            "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": MODEL_DATA},
            "ExecutionRoleArn": role_arn,
            "Tags": TAGS,
        },
    )
    stub.add_response(
        "describe_model",
        {"ModelName": NAME, "ModelArn": f"{ARN}:model/{NAME}", "CreationTime": STAMP},
        {"ModelName": NAME},
    )
    variants = [
        {
            "VariantName": "AllTraffic",
            "ModelName": NAME,
            "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large",
            "InitialVariantWeight": 1.0,
        }
    ]
    stub.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": f"{ARN}:endpoint-config/{NAME}"},
        {
            "EndpointConfigName": NAME,
            "ProductionVariants": variants,
            "DataCaptureConfig": {
                "EnableCapture": True,
                "InitialSamplingPercentage": sampling,
                "DestinationS3Uri": CAPTURE,
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
            },
            "Tags": TAGS,
        },
    )
    stub.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": NAME,
            "EndpointConfigArn": f"{ARN}:endpoint-config/{NAME}",
            "ProductionVariants": variants,
            "CreationTime": STAMP,
        },
        {"EndpointConfigName": NAME},
    )


def test_first_deploy_creates_model_config_with_data_capture_and_endpoint(session, sagemaker_stub, role_arn):
    expect_model_and_config(sagemaker_stub, role_arn, sampling=25)
    sagemaker_stub.add_client_error(
        "describe_endpoint",
        "ValidationException",
        f'Could not find endpoint "{ARN}:endpoint/{ENDPOINT}".',
        expected_params={"EndpointName": ENDPOINT},
    )
    sagemaker_stub.add_response(
        "create_endpoint",
        {"EndpointArn": f"{ARN}:endpoint/{ENDPOINT}"},
        {"EndpointName": ENDPOINT, "EndpointConfigName": NAME, "Tags": TAGS[:1]},
    )
    sagemaker_stub.add_response(
        "describe_endpoint", describe_endpoint("Creating"), {"EndpointName": ENDPOINT}
    )
    sagemaker_stub.add_response(
        "describe_endpoint", describe_endpoint("InService"), {"EndpointName": ENDPOINT}
    )

    done = deployment.deploy(session, deploy_config(role_arn, sampling_percentage=25), now=STAMP.timestamp())
    assert (done.updated, done.endpoint_config_name, done.model_name) == (False, NAME, NAME)
    deployment.wait_in_service(done, poll_seconds=0, progress=False)


def test_redeploy_makes_a_new_config_and_updates_the_endpoint_in_place(session, sagemaker_stub, role_arn):
    expect_model_and_config(sagemaker_stub, role_arn)
    old = "vehicle-classifier-20241231-235959"
    sagemaker_stub.add_response(
        "describe_endpoint", describe_endpoint("InService", old), {"EndpointName": ENDPOINT}
    )
    sagemaker_stub.add_response(
        "update_endpoint",
        {"EndpointArn": f"{ARN}:endpoint/{ENDPOINT}"},
        {"EndpointName": ENDPOINT, "EndpointConfigName": NAME},
    )
    sagemaker_stub.add_response(
        "describe_endpoint", describe_endpoint("Updating"), {"EndpointName": ENDPOINT}
    )
    sagemaker_stub.add_response(
        "describe_endpoint", describe_endpoint("Updating"), {"EndpointName": ENDPOINT}
    )
    sagemaker_stub.add_response(
        "describe_endpoint", describe_endpoint("InService"), {"EndpointName": ENDPOINT}
    )

    done = deployment.deploy(session, deploy_config(role_arn), now=STAMP.timestamp())
    assert done.updated
    deployment.wait_in_service(done, poll_seconds=0, progress=False)


def test_an_update_that_rolled_back_is_a_failure(session, sagemaker_stub, role_arn):
    expect_model_and_config(sagemaker_stub, role_arn)
    old = "vehicle-classifier-20241231-235959"
    sagemaker_stub.add_response("describe_endpoint", describe_endpoint("InService", old))
    sagemaker_stub.add_response("update_endpoint", {"EndpointArn": f"{ARN}:endpoint/{ENDPOINT}"})
    sagemaker_stub.add_response("describe_endpoint", describe_endpoint("Updating"))
    sagemaker_stub.add_response(
        "describe_endpoint", describe_endpoint("InService", old, FailureReason="model failed health check")
    )
    done = deployment.deploy(session, deploy_config(role_arn), now=STAMP.timestamp())
    with pytest.raises(EndpointFailedError, match=r"rolled back to .*: model failed health check"):
        deployment.wait_in_service(done, poll_seconds=0, progress=False)


def test_a_failed_endpoint_is_not_updated_but_named_with_the_way_out(session, sagemaker_stub, role_arn):
    expect_model_and_config(sagemaker_stub, role_arn)
    sagemaker_stub.add_response(
        "describe_endpoint",
        describe_endpoint("Failed", FailureReason="image not found"),
        {"EndpointName": ENDPOINT},
    )
    with pytest.raises(EndpointFailedError, match=r"is Failed \(image not found\).*teardown --endpoint-name"):
        deployment.deploy(session, deploy_config(role_arn), now=STAMP.timestamp())


def test_names_and_default_capture_location():
    assert deployment.versioned_name("x" * 80, STAMP.timestamp()) == "x" * 47 + "-20250102-030405"
    assert len(deployment.versioned_name("x" * 80)) == 63
    assert deployment.default_capture_uri("s3://b/p/model.tar.gz") == "s3://b/vehicle-classifier/data-capture"


def test_deploy_end_to_end_prints_the_sam_deploy_line(
    session, sagemaker_stub, cli_uses, role_arn, monkeypatch, capsys
):
    cli_uses(session)
    monkeypatch.setattr("training_job.deployment.versioned_name", lambda name, now=None: NAME)
    expect_model_and_config(sagemaker_stub, role_arn)
    old = "vehicle-classifier-20241231-235959"
    sagemaker_stub.add_response("describe_endpoint", describe_endpoint("InService", old))
    sagemaker_stub.add_response(
        "update_endpoint", {"EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/x"}
    )
    sagemaker_stub.add_response("describe_endpoint", describe_endpoint("Updating"))
    sagemaker_stub.add_response("describe_endpoint", describe_endpoint("InService"))
    argv = [
        "deploy",
        "--model-data",
        "s3://scones-test-bucket/vehicle-classifier/output/job/output/model.tar.gz",
        "--endpoint-name",
        "vehicle-classifier",
        "--role-arn",
        role_arn,
        "--poll-seconds",
        "0",
        "--quiet",
        "--capture-s3-uri",
        "s3://scones-test-bucket/vehicle-classifier/data-capture",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"updating endpoint vehicle-classifier with endpoint config {NAME}" in out
    assert out.rstrip().endswith(
        "sam build && sam deploy --parameter-overrides EndpointName=vehicle-classifier"
    )


def test_aws_errors_are_one_line(session, sagemaker_stub, cli_uses, role_arn, capsys):
    cli_uses(session)
    sagemaker_stub.add_client_error("create_model", "AccessDeniedException", "not authorized to iam:PassRole")
    argv = ["deploy", "--model-data", "s3://b/m.tar.gz", "--endpoint-name", "e", "--role-arn", role_arn]
    assert main(argv) == 1
    assert (
        capsys.readouterr().err
        == "error: AWS CreateModel: AccessDeniedException: not authorized to iam:PassRole\n"
    )
