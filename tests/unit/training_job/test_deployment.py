"""CreateModel, CreateEndpointConfig (with DataCaptureConfig), CreateEndpoint and UpdateEndpoint,
each request checked against the API model and against what we mean by a botocore Stubber.

The endpoint's status is read before anything is created: a busy endpoint is waited for (each
status SageMaker reports while an operation runs on it), a Failed one refused, and when a later
request is refused the model and config just made are deleted again. The Stubber fails a test
on any request it was not told to expect, so "nothing was created" is checked by omission."""

import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY

from tests.unit.training_job.deploy_expectations import (
    ARN,
    CAPTURE,
    ENDPOINT,
    MODEL_DATA,
    NAME,
    OLD,
    STAMP,
    TAGS,
    describe_endpoint,
    expect_model_and_config,
)
from training_job import deployment
from training_job.cli import main
from training_job.exceptions import EndpointBusyError, EndpointFailedError


def deploy_config(role_arn, **overrides):
    values = {
        "model_data": MODEL_DATA,
        "endpoint_name": ENDPOINT,
        "role_arn": role_arn,
        "capture_s3_uri": CAPTURE,
    }
    return deployment.DeployConfig(**(values | overrides))


def endpoint_answer(status, config_name=NAME, **extra):
    """DescribeEndpoint's answer for the endpoint these tests deploy."""
    return describe_endpoint(ENDPOINT, status, config_name, **extra)


def expect_no_endpoint(stub):
    stub.add_client_error(
        "describe_endpoint",
        "ValidationException",
        f'Could not find endpoint "{ARN}:endpoint/{ENDPOINT}".',
        expected_params={"EndpointName": ENDPOINT},
    )


def expect_status(stub, status, config_name=NAME, **extra):
    stub.add_response(
        "describe_endpoint", endpoint_answer(status, config_name, **extra), {"EndpointName": ENDPOINT}
    )


def expect_removal(stub, *, model=True):
    """The clean-up after a refused request: the config (if it was made), then the model."""
    stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": NAME})
    if model:
        stub.add_response("delete_model", {}, {"ModelName": NAME})


def test_first_deploy_creates_model_config_with_data_capture_and_endpoint(session, sagemaker_stub, role_arn):
    expect_no_endpoint(sagemaker_stub)
    expect_model_and_config(sagemaker_stub, role_arn, sampling=25)
    sagemaker_stub.add_response(
        "create_endpoint",
        {"EndpointArn": f"{ARN}:endpoint/{ENDPOINT}"},
        {"EndpointName": ENDPOINT, "EndpointConfigName": NAME, "Tags": TAGS[:1]},
    )
    expect_status(sagemaker_stub, "Creating")
    expect_status(sagemaker_stub, "InService")

    done = deployment.deploy(session, deploy_config(role_arn, sampling_percentage=25), now=STAMP.timestamp())
    assert (done.updated, done.endpoint_config_name, done.model_name) == (False, NAME, NAME)
    deployment.wait_in_service(done, poll_seconds=0, progress=False)


def expect_no_autoscaling(aws_stub):
    """The update reads the variant's autoscaling first (training_job/autoscaling.py): none here."""
    aws_stub("application-autoscaling").add_response(
        "describe_scalable_targets",
        {"ScalableTargets": []},
        {
            "ServiceNamespace": "sagemaker",
            "ResourceIds": [f"endpoint/{ENDPOINT}/variant/AllTraffic"],
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        },
    )


def expect_update(stub, old):
    stub.add_response(
        "update_endpoint",
        {"EndpointArn": f"{ARN}:endpoint/{ENDPOINT}"},
        {"EndpointName": ENDPOINT, "EndpointConfigName": NAME},
    )
    expect_status(stub, "Updating", old)


@pytest.mark.parametrize("status", ["InService", "OutOfService", "UpdateRollbackFailed"])
def test_redeploy_makes_a_new_config_and_updates_the_endpoint_in_place(
    session, sagemaker_stub, aws_stub, role_arn, status
):
    # no operation runs on the endpoint in these statuses, so UpdateEndpoint is sent at once
    expect_status(sagemaker_stub, status, OLD)
    expect_no_autoscaling(aws_stub)
    expect_model_and_config(sagemaker_stub, role_arn)
    expect_update(sagemaker_stub, OLD)
    expect_status(sagemaker_stub, "Updating")
    expect_status(sagemaker_stub, "InService")

    done = deployment.deploy(session, deploy_config(role_arn), now=STAMP.timestamp())
    assert done.updated
    deployment.wait_in_service(done, poll_seconds=0, progress=False)


@pytest.mark.parametrize("busy", ["Creating", "Updating", "SystemUpdating", "RollingBack"])
def test_a_busy_endpoint_is_waited_for_before_anything_is_created(
    session, sagemaker_stub, aws_stub, role_arn, busy
):
    expect_status(sagemaker_stub, busy, OLD)  # the first look
    expect_status(sagemaker_stub, busy, OLD)  # still busy at the first poll
    expect_status(sagemaker_stub, "InService", OLD)
    expect_no_autoscaling(aws_stub)
    expect_model_and_config(sagemaker_stub, role_arn)
    expect_update(sagemaker_stub, OLD)

    naps = []
    done = deployment.deploy(
        session,
        deploy_config(role_arn),
        now=STAMP.timestamp(),
        poll_seconds=5,
        sleep=naps.append,
        progress=False,
    )
    assert done.updated and done.endpoint_config_name == NAME
    assert naps == [5]


def test_an_endpoint_being_deleted_is_waited_for_then_created_anew(session, sagemaker_stub, role_arn):
    expect_status(sagemaker_stub, "Deleting", OLD)
    expect_no_endpoint(sagemaker_stub)  # gone at the first poll
    expect_model_and_config(sagemaker_stub, role_arn)
    sagemaker_stub.add_response(
        "create_endpoint",
        {"EndpointArn": f"{ARN}:endpoint/{ENDPOINT}"},
        {"EndpointName": ENDPOINT, "EndpointConfigName": NAME, "Tags": TAGS[:1]},
    )
    expect_status(sagemaker_stub, "Creating")

    done = deployment.deploy(
        session, deploy_config(role_arn), now=STAMP.timestamp(), poll_seconds=0, progress=False
    )
    assert not done.updated


class Clock:
    """A monotonic clock that each nap moves forward."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_an_endpoint_busy_past_the_wait_is_named_and_nothing_is_created(session, sagemaker_stub, role_arn):
    for _ in range(4):  # the first look, then polls at 0, 60 and 120 s; the wait allows 100 s
        expect_status(sagemaker_stub, "Updating", OLD)
    clock = Clock()
    with pytest.raises(EndpointBusyError, match=r"is Updating \(waited 100 s\).*nothing was created"):
        deployment.deploy(
            session,
            deploy_config(role_arn),
            busy_wait_seconds=100,
            poll_seconds=60,
            sleep=clock.sleep,
            clock=clock,
            progress=False,
        )


def test_no_wait_allowed_refuses_a_busy_endpoint_at_once(session, sagemaker_stub, role_arn):
    expect_status(sagemaker_stub, "RollingBack", OLD)
    with pytest.raises(EndpointBusyError, match=r"is RollingBack .*--busy-wait SECONDS"):
        deployment.deploy(session, deploy_config(role_arn), busy_wait_seconds=0, progress=False)


def test_a_failed_endpoint_is_refused_before_anything_is_created(session, sagemaker_stub, role_arn):
    expect_status(sagemaker_stub, "Failed", FailureReason="image not found")
    with pytest.raises(EndpointFailedError, match=r"is Failed \(image not found\).*teardown --endpoint-name"):
        deployment.deploy(session, deploy_config(role_arn), now=STAMP.timestamp())


def test_an_update_refused_deletes_the_config_and_model_it_made(session, sagemaker_stub, aws_stub, role_arn):
    # the endpoint turned busy between our look and UpdateEndpoint (someone else deployed)
    expect_status(sagemaker_stub, "InService", OLD)
    expect_no_autoscaling(aws_stub)
    expect_model_and_config(sagemaker_stub, role_arn)
    sagemaker_stub.add_client_error(
        "update_endpoint",
        "ValidationException",
        f"Cannot update in-progress endpoint {ARN}:endpoint/{ENDPOINT}.",
    )
    expect_removal(sagemaker_stub)
    with pytest.raises(ClientError, match="Cannot update in-progress endpoint"):
        deployment.deploy(session, deploy_config(role_arn), now=STAMP.timestamp())


def test_a_create_refused_deletes_the_config_and_model_it_made(session, sagemaker_stub, role_arn):
    expect_no_endpoint(sagemaker_stub)
    expect_model_and_config(sagemaker_stub, role_arn)
    sagemaker_stub.add_client_error(
        "create_endpoint",
        "ResourceLimitExceeded",
        "account-level service limit 'ml.m5.large for endpoint usage'",
    )
    expect_removal(sagemaker_stub)
    with pytest.raises(ClientError, match="ResourceLimitExceeded"):
        deployment.deploy(session, deploy_config(role_arn), now=STAMP.timestamp())


def test_a_config_refused_deletes_the_model_it_made(session, sagemaker_stub, role_arn):
    expect_no_endpoint(sagemaker_stub)
    sagemaker_stub.add_response("create_model", {"ModelArn": f"{ARN}:model/{NAME}"})
    sagemaker_stub.add_response(
        "describe_model", {"ModelName": NAME, "ModelArn": f"{ARN}:model/{NAME}", "CreationTime": STAMP}
    )
    sagemaker_stub.add_client_error("create_endpoint_config", "ValidationException", "bad capture URI")
    sagemaker_stub.add_response("delete_model", {}, {"ModelName": NAME})
    with pytest.raises(ClientError, match="bad capture URI"):
        deployment.deploy(session, deploy_config(role_arn), now=STAMP.timestamp())


def test_a_clean_up_that_fails_does_not_hide_the_first_error(session, sagemaker_stub, role_arn):
    expect_no_endpoint(sagemaker_stub)
    expect_model_and_config(sagemaker_stub, role_arn)
    sagemaker_stub.add_client_error("create_endpoint", "ResourceLimitExceeded", "limit")
    sagemaker_stub.add_client_error("delete_endpoint_config", "ThrottlingException", "slow down")
    sagemaker_stub.add_response("delete_model", {}, {"ModelName": NAME})
    with pytest.raises(ClientError, match="ResourceLimitExceeded"):
        deployment.deploy(session, deploy_config(role_arn), now=STAMP.timestamp())


def test_an_update_that_rolled_back_is_a_failure_and_its_config_and_model_go(
    session, sagemaker_stub, aws_stub, role_arn
):
    expect_status(sagemaker_stub, "InService", OLD)
    expect_no_autoscaling(aws_stub)
    expect_model_and_config(sagemaker_stub, role_arn)
    expect_update(sagemaker_stub, OLD)
    expect_status(sagemaker_stub, "InService", OLD, FailureReason="model failed health check")
    expect_removal(sagemaker_stub)
    done = deployment.deploy(session, deploy_config(role_arn), now=STAMP.timestamp())
    with pytest.raises(
        EndpointFailedError,
        match=r"rolled back to .*: model failed health check; deleted the unused endpoint config and model",
    ):
        deployment.wait_in_service(done, poll_seconds=0, progress=False)


def test_names_and_default_capture_location():
    assert deployment.versioned_name("x" * 80, STAMP.timestamp()) == "x" * 47 + "-20250102-030405"
    assert len(deployment.versioned_name("x" * 80)) == 63
    assert deployment.default_capture_uri("s3://b/p/model.tar.gz") == "s3://b/vehicle-classifier/data-capture"
    assert deployment.default_capture_uri("s3://b/p/model.tar.gz", "team/a/") == "s3://b/team/a/data-capture"


def test_deploy_end_to_end_prints_the_sam_deploy_line(
    session, sagemaker_stub, aws_stub, cli_uses, role_arn, monkeypatch, capsys
):
    # an update from the CLI is a guarded rollout (test_rollout.py has each of its requests);
    # here the least of it: all at once, no smoke test, no stack alarm
    cli_uses(session)
    monkeypatch.setattr("training_job.deployment.versioned_name", lambda name, now=None: NAME)
    sagemaker_stub.add_response("describe_endpoint", endpoint_answer("InService", OLD))
    expect_no_autoscaling(aws_stub)
    cloudwatch = aws_stub("cloudwatch")
    cloudwatch.add_response("describe_alarms", {"MetricAlarms": []})
    expect_model_and_config(sagemaker_stub, role_arn)
    cloudwatch.add_response("put_metric_alarm", {})
    cloudwatch.add_response("put_metric_alarm", {})
    sagemaker_stub.add_response(
        "update_endpoint", {"EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/x"}
    )
    sagemaker_stub.add_response("describe_endpoint", endpoint_answer("Updating"))
    sagemaker_stub.add_response("describe_endpoint", endpoint_answer("InService"))
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
        "--traffic",
        "all-at-once",
        "--no-smoke-test",
        "--no-stack-alarm",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"updating endpoint vehicle-classifier with endpoint config {NAME}" in out
    assert out.rstrip().endswith(
        "sam build && sam deploy --parameter-overrides EndpointName=vehicle-classifier"
    )


def test_aws_errors_are_one_line(session, sagemaker_stub, cli_uses, role_arn, capsys):
    cli_uses(session)
    sagemaker_stub.add_client_error(
        "describe_endpoint", "ValidationException", 'Could not find endpoint "e".'
    )
    sagemaker_stub.add_client_error("create_model", "AccessDeniedException", "not authorized to iam:PassRole")
    argv = ["deploy", "--model-data", "s3://b/m.tar.gz", "--endpoint-name", "e", "--role-arn", role_arn]
    assert main(argv) == 1
    assert (
        capsys.readouterr().err
        == "error: AWS CreateModel: AccessDeniedException: not authorized to iam:PassRole\n"
    )


def test_deploy_busy_past_the_wait_is_one_line_and_exit_1(
    session, sagemaker_stub, cli_uses, role_arn, capsys
):
    cli_uses(session)
    expect_status(sagemaker_stub, "Creating", OLD)
    argv = ["deploy", "--model-data", MODEL_DATA, "--endpoint-name", ENDPOINT, "--role-arn", role_arn]
    assert main([*argv, "--busy-wait", "0", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: endpoint {ENDPOINT} is Creating (waited 0 s)") and err.count("\n") == 1


def test_deploy_puts_the_capture_under_the_prefix_given(
    session, sagemaker_stub, cli_uses, role_arn, monkeypatch, capsys
):
    cli_uses(session)
    monkeypatch.setattr("training_job.deployment.versioned_name", lambda name, now=None: NAME)
    expect_no_endpoint(sagemaker_stub)
    sagemaker_stub.add_response("create_model", {"ModelArn": f"{ARN}:model/{NAME}"})
    sagemaker_stub.add_response(
        "describe_model", {"ModelName": NAME, "ModelArn": f"{ARN}:model/{NAME}", "CreationTime": STAMP}
    )
    capture = {"DestinationS3Uri": "s3://scones-test-bucket/team-a/vehicles/data-capture"}
    sagemaker_stub.add_client_error(
        "create_endpoint_config",
        "ValidationException",
        "stop here",
        expected_params={
            "EndpointConfigName": NAME,
            "ProductionVariants": ANY,
            "DataCaptureConfig": ANY_WITH(capture),
            "Tags": TAGS,
        },
    )
    sagemaker_stub.add_response("delete_model", {}, {"ModelName": NAME})
    argv = ["deploy", "--model-data", MODEL_DATA, "--endpoint-name", ENDPOINT, "--role-arn", role_arn]
    assert main([*argv, "--prefix", "team-a/vehicles", "--quiet"]) == 1
    assert "stop here" in capsys.readouterr().err


class ANY_WITH(dict):
    """Equal to any dict holding these items (the Stubber compares expected params with ==)."""

    def __eq__(self, other):
        return isinstance(other, dict) and all(other.get(key) == value for key, value in self.items())

    def __ne__(self, other):
        return not self == other

    __hash__ = None


def test_deploy_stores_the_baseline_beside_the_artifact(
    session, sagemaker_stub, aws_stub, cli_uses, role_arn, capsys
):
    """`--baseline`: one PutObject to <artifact folder>/baseline.json before the model is made,
    where `monitoring report --baseline` finds the baseline of the model the endpoint serves."""
    from training_job.local_model import MODEL_PATH
    from training_job.local_model.baseline import baseline_path_for

    baseline = baseline_path_for(MODEL_PATH)
    cli_uses(session)
    sagemaker_stub.add_client_error(
        "describe_endpoint", "ValidationException", 'Could not find endpoint "e".'
    )
    s3 = aws_stub("s3")
    s3.add_response(
        "put_object",
        {},
        {
            "Bucket": "b",
            "Key": "p/output/baseline.json",
            "Body": baseline.read_bytes(),
            "ContentType": "application/json",
        },
    )
    sagemaker_stub.add_client_error("create_model", "AccessDeniedException", "stop here")
    argv = ["deploy", "--model-data", "s3://b/p/output/model.tar.gz", "--endpoint-name", "e"]
    code = main([*argv, "--role-arn", role_arn, "--baseline", str(baseline)])
    printed = capsys.readouterr()
    assert code == 1 and "stop here" in printed.err, printed.err
    assert "baseline: " in printed.out
    s3.assert_no_pending_responses()


def test_a_baseline_that_is_not_one_is_refused_before_any_aws_call(tmp_path, capsys):
    bad = tmp_path / "baseline.json"
    bad.write_text("{not json")
    argv = ["deploy", "--model-data", "s3://b/p/model.tar.gz", "--endpoint-name", "e", "--role-arn"]
    assert main([*argv, "arn:aws:iam::123456789012:role/r", "--baseline", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"error: --baseline {bad}: not JSON")
    assert main([*argv, "arn:aws:iam::123456789012:role/r", "--baseline", str(tmp_path / "none.json")]) == 2
