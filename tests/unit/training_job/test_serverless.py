"""`deploy --serverless`: a ServerlessConfig variant within the limits of
API_ProductionVariantServerlessConfig, no DataCaptureConfig; what a serverless endpoint does not
support refused by name before any AWS call; a serverless endpoint updated with a plain
UpdateEndpoint, an instance-based one refused; `teardown` removing all of it.

The Stubbers fail a test on any request they were not told to expect, so "before any AWS call"
is checked by queueing nothing."""

import pytest

from tests.unit.training_job.deploy_expectations import (
    ARN,
    ENDPOINT,
    MODEL_DATA,
    NAME,
    NOW,
    OLD,
    TAGS,
    describe_endpoint,
    expect_serverless_model_and_config,
    serverless_config_request,
    strictly_valid,
)
from training_job import deployment, serverless
from training_job.cli import build_parser, main
from training_job.commands.deploy import _serverless_options
from training_job.exceptions import (
    ServerlessAutoscalingError,
    ServerlessConfigError,
    ServerlessConversionError,
    ServerlessDataCaptureError,
    ServerlessRolloutError,
)

ROLE = "arn:aws:iam::123456789012:role/service-role/SageMakerExecution"
DEPLOY = ["deploy", "--model-data", MODEL_DATA, "--endpoint-name", ENDPOINT, "--role-arn", ROLE]


def deploy_args(*extra):
    return build_parser().parse_args([*DEPLOY, *extra])


def serverless_endpoint(status="InService", config_name=OLD):
    variant = {
        "VariantName": "AllTraffic",
        "CurrentServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 10},
    }
    return describe_endpoint(ENDPOINT, status, config_name, ProductionVariants=[variant])


def instance_endpoint():
    variant = {"VariantName": "AllTraffic", "CurrentInstanceCount": 1, "DesiredInstanceCount": 1}
    return describe_endpoint(ENDPOINT, "InService", OLD, ProductionVariants=[variant])


@pytest.mark.parametrize(
    ("options", "request_config"),
    [
        (serverless.ServerlessOptions(), {"MemorySizeInMB": 2048, "MaxConcurrency": 10}),
        (
            serverless.ServerlessOptions(6144, 200, 200),
            {"MemorySizeInMB": 6144, "MaxConcurrency": 200, "ProvisionedConcurrency": 200},
        ),
        (
            serverless.ServerlessOptions(1024, 1, 1),
            {"MemorySizeInMB": 1024, "MaxConcurrency": 1, "ProvisionedConcurrency": 1},
        ),
    ],
)
def test_the_limits_aws_gives_are_accepted_and_sent_as_the_api_spells_them(options, request_config):
    assert serverless.check_options(options).request() == request_config
    assert (
        strictly_valid("sagemaker", "CreateEndpointConfig", serverless_config_request(request_config)) == []
    )


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (
            ["--memory-mb", "1500"],
            "--memory-mb 1500: a serverless endpoint takes 1024, 2048, 3072, 4096, 5120, 6144",
        ),
        (["--memory-mb", "512"], "--memory-mb 512"),
        (["--memory-mb", "7168"], "--memory-mb 7168"),
        (["--max-concurrency", "0"], "--max-concurrency 0: must be 1..200"),
        (["--max-concurrency", "201"], "--max-concurrency 201: must be 1..200"),
        (["--provisioned-concurrency", "0"], "--provisioned-concurrency 0: must be 1..200"),
        (["--provisioned-concurrency", "201", "--max-concurrency", "200"], "--provisioned-concurrency 201"),
        (
            ["--provisioned-concurrency", "6", "--max-concurrency", "5"],
            "--provisioned-concurrency 6 is above --max-concurrency 5",
        ),
    ],
)
def test_bad_values_are_refused_by_name_before_any_call(
    sagemaker_stub, session, cli_uses, capsys, extra, named
):
    cli_uses(session)
    with pytest.raises(ServerlessConfigError, match=named):
        _serverless_options(deploy_args("--serverless", *extra))
    assert main([*DEPLOY, "--serverless", *extra]) == 2
    assert capsys.readouterr().err.startswith(f"error: {named}")


@pytest.mark.parametrize(
    ("extra", "error", "way"),
    [
        (["--capture-s3-uri", "s3://b/capture"], ServerlessDataCaptureError, "CaptureMode=Function"),
        # given at its default value, still asked for: refused
        (["--sampling-percentage", "100"], ServerlessDataCaptureError, "CaptureMode=Function"),
        (["--traffic", "canary"], ServerlessRolloutError, "plain UpdateEndpoint"),
        (["--canary-percent", "10"], ServerlessRolloutError, "multiple production variants"),
        (["--no-smoke-test"], ServerlessRolloutError, "plain UpdateEndpoint"),
        (["--latency-alarm-ms", "500"], ServerlessRolloutError, "plain UpdateEndpoint"),
        (["--autoscale-max-instances", "3"], ServerlessAutoscalingError, "--provisioned-concurrency"),
        (["--autoscale-target-invocations", "60"], ServerlessAutoscalingError, "--max-concurrency"),
        (["--instance-type", "ml.m5.large"], ServerlessConfigError, "--memory-mb and --max-concurrency"),
        (["--instance-count", "2"], ServerlessConfigError, "has no instances"),
    ],
)
def test_what_serverless_does_not_support_is_refused_by_name_with_the_supported_way(
    sagemaker_stub, session, cli_uses, capsys, extra, error, way
):
    cli_uses(session)
    with pytest.raises(error, match=way) as raised:
        _serverless_options(deploy_args("--serverless", *extra))
    assert str(raised.value).startswith(extra[0]) and "nothing was created" in str(raised.value)
    assert main([*DEPLOY, "--serverless", *extra]) == 2
    assert capsys.readouterr().err.startswith(f"error: {extra[0]}")


@pytest.mark.parametrize(
    "extra", [["--memory-mb", "2048"], ["--max-concurrency", "5"], ["--provisioned-concurrency", "1"]]
)
def test_serverless_options_need_serverless(extra):
    with pytest.raises(ServerlessConfigError, match=f"{extra[0]} needs --serverless"):
        _serverless_options(deploy_args(*extra))


def test_first_serverless_deploy_creates_a_serverless_config_without_capture(
    session, sagemaker_stub, cli_uses, monkeypatch, capsys
):
    cli_uses(session)
    monkeypatch.setattr("training_job.deployment.versioned_name", lambda name, now=None: NAME)
    sagemaker_stub.add_client_error(
        "describe_endpoint",
        "ValidationException",
        f'Could not find endpoint "{ARN}:endpoint/{ENDPOINT}".',
        expected_params={"EndpointName": ENDPOINT},
    )
    wanted = {"MemorySizeInMB": 3072, "MaxConcurrency": 20, "ProvisionedConcurrency": 2}
    expect_serverless_model_and_config(sagemaker_stub, ROLE, wanted)
    sagemaker_stub.add_response(
        "create_endpoint",
        {"EndpointArn": f"{ARN}:endpoint/{ENDPOINT}"},
        {"EndpointName": ENDPOINT, "EndpointConfigName": NAME, "Tags": TAGS[:1]},
    )
    sagemaker_stub.add_response("describe_endpoint", serverless_endpoint("Creating", NAME))
    sagemaker_stub.add_response("describe_endpoint", serverless_endpoint("InService", NAME))
    argv = [*DEPLOY, "--serverless", "--memory-mb", "3072", "--max-concurrency", "20"]
    assert main([*argv, "--provisioned-concurrency", "2", "--poll-seconds", "0", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert (
        f"endpoint {ENDPOINT} does not exist: deploy creates it on endpoint config {NAME} "
        "(serverless, 3072 MB" in out
    )
    assert "no data capture on the endpoint" in out and "CaptureMode=Function" in out
    assert out.rstrip().endswith(f"EndpointName={ENDPOINT} CaptureMode=Function")


def test_a_serverless_endpoint_is_updated_with_a_plain_update_endpoint(session, sagemaker_stub, role_arn):
    # no application-autoscaling read, no alarms, no smoke test: only SageMaker is stubbed
    sagemaker_stub.add_response("describe_endpoint", serverless_endpoint(), {"EndpointName": ENDPOINT})
    expect_serverless_model_and_config(
        sagemaker_stub, role_arn, {"MemorySizeInMB": 2048, "MaxConcurrency": 10}
    )
    sagemaker_stub.add_response(
        "update_endpoint",
        {"EndpointArn": f"{ARN}:endpoint/{ENDPOINT}"},
        {"EndpointName": ENDPOINT, "EndpointConfigName": NAME},
    )
    sagemaker_stub.add_response("describe_endpoint", serverless_endpoint("Updating", OLD))
    config = deployment.DeployConfig(
        MODEL_DATA, ENDPOINT, role_arn, serverless=serverless.ServerlessOptions()
    )
    done = deployment.deploy(session, config, plan=deployment.plan_deploy(session, config, now=NOW), now=NOW)
    assert done.updated and done.endpoint_config_name == NAME


def test_an_instance_endpoint_is_not_converted_and_nothing_is_created(session, sagemaker_stub, role_arn):
    sagemaker_stub.add_response("describe_endpoint", instance_endpoint(), {"EndpointName": ENDPOINT})
    config = deployment.DeployConfig(
        MODEL_DATA, ENDPOINT, role_arn, serverless=serverless.ServerlessOptions()
    )
    with pytest.raises(ServerlessConversionError, match=r"runs on instances.*teardown --endpoint-name"):
        deployment.deploy(session, config)


def test_dry_run_says_the_update_and_changes_nothing(session, sagemaker_stub, cli_uses, monkeypatch, capsys):
    cli_uses(session)
    monkeypatch.setattr("training_job.deployment.versioned_name", lambda name, now=None: NAME)
    sagemaker_stub.add_response("describe_endpoint", serverless_endpoint(), {"EndpointName": ENDPOINT})
    assert main([*DEPLOY, "--serverless", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert (
        f"endpoint {ENDPOINT} is serverless: UpdateEndpoint moves it from {OLD} onto endpoint config {NAME}"
        in out
    )
    assert "dry run: nothing was created or changed" in out


def test_teardown_removes_the_serverless_endpoint_config_and_model(moto_session, role_arn, cli_uses, capsys):
    sagemaker = moto_session.client("sagemaker")
    tags = [*TAGS]
    sagemaker.create_model(
        ModelName=NAME,
        PrimaryContainer={"Image": "image-classification:1"},
        ExecutionRoleArn=role_arn,
        Tags=tags,
    )
    request = serverless_config_request(
        {"MemorySizeInMB": 2048, "MaxConcurrency": 10, "ProvisionedConcurrency": 1}
    )
    sagemaker.create_endpoint_config(**request)
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=NAME, Tags=tags[:1])
    cli_uses(moto_session)
    assert main(["teardown", "--endpoint-name", ENDPOINT]) == 0
    out = capsys.readouterr().out
    assert "deleted 1 endpoints, 1 endpoint configs, 1 models" in out
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
    assert sagemaker.list_models()["Models"] == []
