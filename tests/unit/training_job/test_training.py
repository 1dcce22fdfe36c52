"""CreateTrainingJob through sagemaker-core, checked request by request with a botocore Stubber."""

import datetime

import pytest

from training_job import training
from training_job.cli import main
from training_job.exceptions import NotStagedError, RecipeError, TrainingJobFailedError

JOB = "vehicle-ic-20250101-000000"
JOB_ARN = f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{JOB}"
IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"
NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)


def _channel(name):
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": f"s3://scones-test-bucket/vehicle-classifier/{name}/",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "ContentType": "application/x-image",
        "InputMode": "File",
    }


def expected_request(role_arn, **overrides):
    request = {
        "TrainingJobName": JOB,
        "HyperParameters": {
            "num_classes": "2",
            "num_training_samples": "800",
            "image_shape": "3,224,224",
            "resize": "224",
            "use_pretrained_model": "1",
            "num_layers": "18",
            "epochs": "30",
            "learning_rate": "0.01",
            "mini_batch_size": "32",
            "augmentation_type": "crop_color_transform",
            "early_stopping": "True",
            "early_stopping_patience": "5",
            "early_stopping_min_epochs": "10",
            "precision_dtype": "float32",
        },
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": role_arn,
        "InputDataConfig": [_channel(c) for c in ("train", "validation", "train_lst", "validation_lst")],
        "OutputDataConfig": {"S3OutputPath": "s3://scones-test-bucket/vehicle-classifier/output"},
        "ResourceConfig": {"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "Tags": [{"Key": "project", "Value": "scones-vehicle-classifier"}],
    }
    request.update(overrides)
    return request


def describe(status="InProgress", secondary="Starting", **extra):
    response = {
        "TrainingJobName": JOB,
        "TrainingJobArn": JOB_ARN,
        "ModelArtifacts": {"S3ModelArtifacts": ""},
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CreationTime": NOW,
        "ResourceConfig": {"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
    }
    response.update(extra)
    return response


def config(role_arn, **overrides):
    values = {
        "bucket": "scones-test-bucket",
        "role_arn": role_arn,
        "num_training_samples": 800,
        "job_name": JOB,
    }
    return training.TrainingConfig(**(values | overrides))


def test_create_training_job_request(session, sagemaker_stub, role_arn):
    sagemaker_stub.add_response(
        "create_training_job", {"TrainingJobArn": JOB_ARN}, expected_request(role_arn)
    )
    sagemaker_stub.add_response("describe_training_job", describe(), {"TrainingJobName": JOB})
    job = training.start(session, config(role_arn))
    assert (job.training_job_name, job.training_job_status) == (JOB, "InProgress")


def test_managed_spot_training_sets_max_wait_and_checkpoints(session, sagemaker_stub, role_arn):
    request = expected_request(
        role_arn,
        StoppingCondition={"MaxRuntimeInSeconds": 1800, "MaxWaitTimeInSeconds": 5400},
        EnableManagedSpotTraining=True,
        CheckpointConfig={"S3Uri": f"s3://scones-test-bucket/vehicle-classifier/checkpoints/{JOB}"},
    )
    sagemaker_stub.add_response("create_training_job", {"TrainingJobArn": JOB_ARN}, request)
    sagemaker_stub.add_response("describe_training_job", describe(), {"TrainingJobName": JOB})
    training.start(session, config(role_arn, spot=True, max_runtime_seconds=1800, max_wait_seconds=5400))


def test_from_scratch_trains_a_small_image_resnet_at_32x32(session, sagemaker_stub, role_arn):
    request = expected_request(role_arn)
    request["HyperParameters"] |= {
        "image_shape": "3,32,32",
        "resize": "32",
        "use_pretrained_model": "0",
        "num_layers": "20",
    }
    sagemaker_stub.add_response("create_training_job", {"TrainingJobArn": JOB_ARN}, request)
    sagemaker_stub.add_response("describe_training_job", describe(), {"TrainingJobName": JOB})
    training.start(session, config(role_arn, from_scratch=True))


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"num_layers": 20}, "transfer learning needs num_layers in 18, 34, 50, 101, 152, 200, got 20"),
        ({"from_scratch": True, "num_layers": 18}, "from scratch at 32x32 num_layers must be one of"),
    ],
)
def test_a_recipe_against_the_documentation_never_reaches_sagemaker(
    session, sagemaker_stub, role_arn, overrides, problem
):
    # no response is stubbed: a CreateTrainingJob call would fail the test with another error
    with pytest.raises(RecipeError, match=problem):
        training.start(session, config(role_arn, **overrides))


def test_spot_max_wait_below_runtime_is_refused(role_arn):
    with pytest.raises(ValueError, match="max-wait"):
        training.training_job_request(config(role_arn, spot=True, max_wait_seconds=60), "us-east-1")


def test_wait_then_read_accuracy_and_artifact(session, sagemaker_stub, role_arn):
    artifact = f"s3://scones-test-bucket/vehicle-classifier/output/{JOB}/output/model.tar.gz"
    sagemaker_stub.add_response("create_training_job", {"TrainingJobArn": JOB_ARN})
    sagemaker_stub.add_response("describe_training_job", describe())
    sagemaker_stub.add_response("describe_training_job", describe("InProgress", "Training"))
    sagemaker_stub.add_response(
        "describe_training_job",
        describe(
            "Completed",
            "Completed",
            ModelArtifacts={"S3ModelArtifacts": artifact},
            FinalMetricDataList=[
                {"MetricName": "train:accuracy", "Value": 0.99, "Timestamp": NOW},
                {"MetricName": "validation:accuracy", "Value": 0.915, "Timestamp": NOW},
            ],
            BillableTimeInSeconds=312,
        ),
    )
    job = training.start(session, config(role_arn))
    naps = []
    training.wait(job, poll_seconds=7, sleep=naps.append, progress=False)
    assert naps == [7]
    assert training.outcome(job) == training.TrainingOutcome(JOB, "Completed", 0.915, artifact, 312)


def test_a_failed_job_raises_with_its_reason(session, sagemaker_stub, role_arn):
    sagemaker_stub.add_response("create_training_job", {"TrainingJobArn": JOB_ARN})
    sagemaker_stub.add_response("describe_training_job", describe())
    sagemaker_stub.add_response(
        "describe_training_job", describe("Failed", "Failed", FailureReason="ClientError: bad .lst")
    )
    job = training.start(session, config(role_arn))
    with pytest.raises(TrainingJobFailedError, match=r"ended Failed: ClientError: bad \.lst"):
        training.wait(job, poll_seconds=0, progress=False)


def test_num_training_samples_is_counted_from_the_staged_lst(moto_session, bucket):
    s3 = moto_session.client("s3")
    with pytest.raises(NotStagedError, match="run: python -m training_job stage"):
        training.count_training_samples(s3, bucket, "vehicle-classifier")
    s3.put_object(
        Bucket=bucket, Key="vehicle-classifier/train_lst/train.lst", Body=b"1\t0\ta.png\n2\t1\tb.png\n"
    )
    assert training.count_training_samples(s3, bucket, "vehicle-classifier") == 2


def test_train_end_to_end(session, sagemaker_stub, cli_uses, role_arn, capsys):
    cli_uses(session)
    artifact = f"s3://b/vehicle-classifier/output/{JOB}/output/model.tar.gz"
    sagemaker_stub.add_response("create_training_job", {"TrainingJobArn": JOB_ARN})
    sagemaker_stub.add_response("describe_training_job", describe())
    sagemaker_stub.add_response(
        "describe_training_job",
        describe(
            "Completed",
            "Completed",
            ModelArtifacts={"S3ModelArtifacts": artifact},
            FinalMetricDataList=[{"MetricName": "validation:accuracy", "Value": 0.875, "Timestamp": NOW}],
        ),
    )
    argv = [
        "train",
        "--bucket",
        "scones-test-bucket",
        "--role-arn",
        role_arn,
        "--num-training-samples",
        "800",
        "--job-name",
        JOB,
        "--poll-seconds",
        "0",
        "--quiet",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "ResNet-18 transfer learning at 3x224x224" in out
    assert "validation:accuracy = 0.8750" in out
    assert f"model artifact: {artifact}" in out
    assert f"python -m training_job deploy --model-data {artifact}" in out


def test_train_with_a_depth_the_documentation_rules_out_is_a_usage_error(
    session, sagemaker_stub, cli_uses, role_arn, capsys
):
    cli_uses(session)
    argv = ["train", "--bucket", "b", "--role-arn", role_arn, "--num-training-samples", "800"]
    assert main([*argv, "--from-scratch", "--num-layers", "50"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the training recipe breaks the image-classification algorithm's")
    assert "from scratch at 32x32 num_layers must be one of 20, 32, 44, 56, 110" in err


def test_a_training_quota_of_zero_is_one_line_that_says_how_to_raise_it(
    session, sagemaker_stub, cli_uses, role_arn, capsys
):
    cli_uses(session)
    sagemaker_stub.add_client_error(
        "create_training_job",
        "ResourceLimitExceeded",
        "The account-level service limit 'ml.g4dn.xlarge for training job usage' is 0 Instances",
    )
    argv = ["train", "--bucket", "b", "--role-arn", role_arn, "--num-training-samples", "800"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: AWS CreateTrainingJob: ResourceLimitExceeded: The account-level")
    assert "aws service-quotas list-service-quotas --service-code sagemaker" in err
    assert err.count("\n") == 1
