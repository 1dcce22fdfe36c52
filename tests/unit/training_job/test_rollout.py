"""Safe rollouts: every request of `deploy` onto an existing endpoint, in order, against botocore
Stubbers (expected_params exact), for canary (the default), linear and all-at-once; the smoke
test that refuses a model; the dry run that writes nothing; the rollback alarms and their
deletion by `teardown`.

botocore's Stubber checks each request against the service model as the client builds it
(unknown or misspelled members, types, required members, minimums) and each queued answer
against the output shape; a call with no answer queued fails the test. botocore does not check
maximums, enums or patterns, so `strictly_valid` below checks those too, for every request
`deploy` builds."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from botocore.exceptions import ParamValidationError
from botocore.response import StreamingBody

from scones_core.aws import aws_client
from tests.unit.training_job.deploy_expectations import (
    ALARMS,
    ARN,
    CAPTURE,
    ENDPOINT,
    ERRORS_ALARM,
    IMAGE,
    LATENCY_ALARM,
    MODEL_DATA,
    NAME,
    NOW,
    OLD,
    STACK,
    STACK_ALARM,
    STAMP,
    TAGS,
    describe_endpoint,
    expect_alarm_states,
    expect_alarms_put,
    expect_model_and_config,
    strictly_valid,
)
from training_job import deployment, rollout, smoke, teardown
from training_job.cli import main
from training_job.exceptions import RollbackAlarmFiringError, SmokeTestFailedError, UsageError

SMOKE = f"{ENDPOINT}-smoke-20250102-030405"
SAMPLES = smoke.read_samples(smoke.DEFAULT_SMOKE_IMAGES, smoke.DEFAULT_SMOKE_LST)


def deploy_config(role_arn, **overrides):
    values = {
        "model_data": MODEL_DATA,
        "endpoint_name": ENDPOINT,
        "role_arn": role_arn,
        "capture_s3_uri": CAPTURE,
    }
    return deployment.DeployConfig(**(values | overrides))


def options(kind="canary", **overrides):
    values = {"traffic": rollout.TrafficPolicy(kind=kind), "smoke": smoke.SmokeOptions()}
    return rollout.RolloutOptions(**(values | overrides))


# --- the requests, each checked against the API model, maximums and enums included ------------


def shift(kind, instances, instance_type="ml.m5.large", **policy):
    return rollout.traffic_shift(rollout.TrafficPolicy(kind=kind, **policy), instances, instance_type)


@pytest.mark.parametrize(
    ("kind", "instances", "policy", "routing", "timeout"),
    [
        (
            "canary",
            2,
            {},
            {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 600,
                "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
            },
            3000,
        ),
        (
            "canary",
            20,
            {"canary_percent": 25, "bake_seconds": 300},
            {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 300,
                "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 5},
            },
            2400,
        ),
        (
            "linear",
            4,
            {},
            {
                "Type": "LINEAR",
                "WaitIntervalInSeconds": 600,
                "LinearStepSize": {"Type": "INSTANCE_COUNT", "Value": 1},
            },
            4200,
        ),
        (  # 10 % of 15 is 1.5 instances: one would be under the API's 10 %, so two
            "linear",
            15,
            {"linear_percent": 10, "bake_seconds": 60},
            {
                "Type": "LINEAR",
                "WaitIntervalInSeconds": 60,
                "LinearStepSize": {"Type": "INSTANCE_COUNT", "Value": 2},
            },
            2280,
        ),
        ("all-at-once", 1, {}, {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600}, 2400),
        ("all-at-once", 1, {"bake_seconds": 0}, {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}, 1800),
    ],
)
def test_each_traffic_shift_is_a_valid_deployment_config(kind, instances, policy, routing, timeout):
    planned = shift(kind, instances, **policy)
    assert rollout.traffic_routing_config(planned) == routing
    assert planned.timeout_seconds == timeout
    step = planned.step_instances
    assert 1 <= step <= max(1, instances // 2) or kind == "all-at-once"
    if kind == "linear":
        assert step * 10 >= instances  # LinearStepSize: 10-50 % of the fleet
    request = {
        "EndpointName": ENDPOINT,
        "EndpointConfigName": NAME,
        "DeploymentConfig": rollout.deployment_config(planned, ALARMS),
    }
    assert strictly_valid("sagemaker", "UpdateEndpoint", request) == []


@pytest.mark.parametrize("kind", ["canary", "linear"])
def test_one_instance_cannot_be_split_and_the_error_names_both_ways_out(kind):
    with pytest.raises(
        UsageError, match=r"needs at least 2 instances.*--instance-count 2.*--traffic all-at-once"
    ):
        shift(kind, 1)


def test_inf1_instances_shift_all_at_once_whatever_is_asked():
    with pytest.raises(UsageError, match="Inf1"):
        shift("canary", 2, "ml.inf1.xlarge")
    assert shift("all-at-once", 2, "ml.inf1.xlarge").type == "ALL_AT_ONCE"


def test_bakes_that_outlast_sagemakers_longest_deployment_are_refused():
    with pytest.raises(UsageError, match="smaller --bake-seconds"):
        shift("linear", 10, linear_percent=10, bake_seconds=3600)  # 10 steps of an hour
    with pytest.raises(UsageError, match=r"--bake-seconds must be 0\.\.3600"):
        shift("canary", 2, bake_seconds=3601)


def test_the_alarm_requests_are_valid_and_watch_the_endpoints_variant():
    errors = rollout.error_alarm_request(ENDPOINT, "AllTraffic")
    latency = rollout.latency_alarm_request(ENDPOINT, "AllTraffic", 1000)
    for request in (errors, latency):
        assert strictly_valid("cloudwatch", "PutMetricAlarm", request) == []
        assert request["Namespace"] == "AWS/SageMaker"
        assert request["Dimensions"] == [
            {"Name": "EndpointName", "Value": ENDPOINT},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ]
        assert request["Tags"] == TAGS
    assert (errors["Statistic"], errors["Threshold"]) == ("Average", 0.05)
    assert (latency["ExtendedStatistic"], latency["Threshold"]) == ("p90", 1_000_000.0)  # microseconds


def test_the_stubbed_clients_refuse_a_misspelled_member(session):
    """What makes the sequences below proof of valid requests: even when the expected params hold
    the same mistake, the client validates the request against the API model before the Stubber
    answers, so a wrong member name fails the test."""
    from botocore.stub import Stubber

    from training_job.aws import sagemaker_core_client

    config = rollout.deployment_config(shift("canary", 2), ALARMS)
    routing = config["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    routing["CanarySizes"] = routing.pop("CanarySize")
    update = {"EndpointName": ENDPOINT, "EndpointConfigName": NAME, "DeploymentConfig": config}
    alarm = rollout.error_alarm_request(ENDPOINT, "AllTraffic")
    alarm["Dimension"] = alarm.pop("Dimensions")
    cases = [
        (sagemaker_core_client(session), "update_endpoint", update, {"EndpointArn": f"{ARN}:endpoint/e"}),
        (aws_client(session, "cloudwatch"), "put_metric_alarm", alarm, {}),
    ]
    for client, operation, request, response in cases:
        with Stubber(client) as stubber:
            stubber.add_response(operation, response, request)
            with pytest.raises(ParamValidationError, match=r'Unknown parameter .*"(CanarySizes|Dimension)"'):
                getattr(client, operation)(**request)


# --- the whole sequence -----------------------------------------------------------------------


def expect_live_endpoint(sm, config_name=OLD, variants=("AllTraffic",), aas=None, targets=()):
    """DescribeEndpoint, then (with `aas`, the Application Auto Scaling Stubber) the variant's
    autoscaling, which an update reads first: `targets` as DescribeScalableTargets answers."""
    answer = describe_endpoint(
        ENDPOINT, "InService", config_name, ProductionVariants=[{"VariantName": v} for v in variants]
    )
    sm.add_response("describe_endpoint", answer, {"EndpointName": ENDPOINT})
    if aas is not None:
        aas.add_response("describe_scalable_targets", {"ScalableTargets": list(targets)}, SCALABLE_TARGET_KEY)


RESOURCE_ID = f"endpoint/{ENDPOINT}/variant/AllTraffic"
SCALABLE_TARGET_KEY = {
    "ServiceNamespace": "sagemaker",
    "ResourceIds": [RESOURCE_ID],
    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
}


def expect_stack_alarm(cfn, serves=ENDPOINT):
    stack = {
        "StackName": STACK,
        "CreationTime": STAMP,
        "StackStatus": "UPDATE_COMPLETE",
        "Parameters": [{"ParameterKey": "EndpointName", "ParameterValue": serves}],
    }
    cfn.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": STACK})
    if serves != ENDPOINT:
        return
    detail = {
        "LogicalResourceId": "LowConfidenceShareAlarm",
        "PhysicalResourceId": STACK_ALARM,
        "ResourceType": "AWS::CloudWatch::Alarm",
        "LastUpdatedTimestamp": STAMP,
        "ResourceStatus": "CREATE_COMPLETE",
    }
    cfn.add_response(
        "describe_stack_resource",
        {"StackResourceDetail": detail},
        {"StackName": STACK, "LogicalResourceId": "LowConfidenceShareAlarm"},
    )


def answer(label):
    body = json.dumps([0.97, 0.03] if label == 0 else [0.04, 0.96]).encode()
    return {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "application/json"}


def expect_smoke_test(sm, rt, labels, *, status="InService", samples=SAMPLES):
    create = {"EndpointName": SMOKE, "EndpointConfigName": NAME, "Tags": TAGS}
    assert strictly_valid("sagemaker", "CreateEndpoint", create) == []
    sm.add_response("create_endpoint", {"EndpointArn": f"{ARN}:endpoint/{SMOKE}"}, create)
    sm.add_response("describe_endpoint", describe_endpoint(SMOKE, "Creating", NAME), {"EndpointName": SMOKE})
    extra = {"FailureReason": "model failed to load"} if status == "Failed" else {}
    sm.add_response(
        "describe_endpoint", describe_endpoint(SMOKE, status, NAME, **extra), {"EndpointName": SMOKE}
    )
    if status == "InService":
        for sample, label in zip(samples, labels, strict=False):  # as many calls as labels
            request = {
                "EndpointName": SMOKE,
                "ContentType": "image/png",
                "Accept": "application/json",
                "Body": sample.path.read_bytes(),
            }
            assert strictly_valid("sagemaker-runtime", "InvokeEndpoint", request) == []
            if label is None:
                rt.add_client_error("invoke_endpoint", "ModelError", "boom", 424, expected_params=request)
            else:
                rt.add_response("invoke_endpoint", answer(label), request)
    sm.add_response("delete_endpoint", {}, {"EndpointName": SMOKE})
    sm.add_client_error(
        "describe_endpoint",
        "ValidationException",
        f'Could not find endpoint "{ARN}:endpoint/{SMOKE}".',
        expected_params={"EndpointName": SMOKE},
    )


def expect_update(sm, deployment_config):
    request = {"EndpointName": ENDPOINT, "EndpointConfigName": NAME, "DeploymentConfig": deployment_config}
    assert strictly_valid("sagemaker", "UpdateEndpoint", request) == []
    sm.add_response("update_endpoint", {"EndpointArn": f"{ARN}:endpoint/{ENDPOINT}"}, request)
    sm.add_response(
        "describe_endpoint", describe_endpoint(ENDPOINT, "Updating", OLD), {"EndpointName": ENDPOINT}
    )


ROLLBACK = {"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in ALARMS]}}


@pytest.mark.parametrize(
    ("kind", "instances", "policy"),
    [
        (
            "canary",
            2,
            {
                "TrafficRoutingConfiguration": {
                    "Type": "CANARY",
                    "WaitIntervalInSeconds": 600,
                    "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
                },
                "MaximumExecutionTimeoutInSeconds": 3000,
            },
        ),
        (
            "linear",
            4,
            {
                "TrafficRoutingConfiguration": {
                    "Type": "LINEAR",
                    "WaitIntervalInSeconds": 600,
                    "LinearStepSize": {"Type": "INSTANCE_COUNT", "Value": 1},
                },
                "MaximumExecutionTimeoutInSeconds": 4200,
            },
        ),
        (
            "all-at-once",
            1,
            {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600},
                "MaximumExecutionTimeoutInSeconds": 2400,
            },
        ),
    ],
)
def test_the_whole_rollout_sequence(session, sagemaker_stub, aws_stub, role_arn, kind, instances, policy):
    cfn, cw, rt = aws_stub("cloudformation"), aws_stub("cloudwatch"), aws_stub("sagemaker-runtime")
    # the plan: reads only
    expect_live_endpoint(sagemaker_stub, aas=aws_stub("application-autoscaling"))
    expect_stack_alarm(cfn)
    expect_alarm_states(cw)
    # then: model and config, the smoke test on a temporary endpoint, the alarms, the update
    expect_model_and_config(sagemaker_stub, role_arn, instances)
    expect_smoke_test(sagemaker_stub, rt, [s.label for s in SAMPLES])
    expect_alarms_put(cw)
    expect_update(sagemaker_stub, {"BlueGreenUpdatePolicy": policy, **ROLLBACK})

    config = deploy_config(role_arn, instance_count=instances)
    plan = deployment.plan_deploy(session, config, options(kind), now=NOW, poll_seconds=0, progress=False)
    done = deployment.deploy(session, config, plan=plan, poll_seconds=0, progress=False)
    assert (done.updated, done.endpoint_config_name) == (True, NAME)
    assert (done.smoke.correct, done.smoke.total, done.smoke.passed) == (40, 40, True)


def test_a_model_below_the_smoke_accuracy_is_refused_and_nothing_shifts(
    session, sagemaker_stub, aws_stub, role_arn
):
    cfn, cw, rt = aws_stub("cloudformation"), aws_stub("cloudwatch"), aws_stub("sagemaker-runtime")
    expect_live_endpoint(sagemaker_stub, aas=aws_stub("application-autoscaling"))
    expect_stack_alarm(cfn)
    expect_alarm_states(cw)
    expect_model_and_config(sagemaker_stub, role_arn, 2)
    # a model that calls everything a bicycle, and fails one call: the 20 bicycles come first, and
    # once 9 of the photos are missed 32 of 40 are out of reach, so the rest are not sent
    labels = [0] * 20 + [None] + [0] * 8
    expect_smoke_test(sagemaker_stub, rt, labels)
    sagemaker_stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": NAME})
    sagemaker_stub.add_response("delete_model", {}, {"ModelName": NAME})
    # and no PutMetricAlarm, no UpdateEndpoint: the Stubbers would fail on either

    config = deploy_config(role_arn, instance_count=2)
    plan = deployment.plan_deploy(session, config, options(), now=NOW, poll_seconds=0, progress=False)
    with pytest.raises(
        SmokeTestFailedError,
        match=rf"smoke test on {SMOKE}: 20/40 right \(50\.0%, needed 80%\), calls failed: 1, stopped after "
        rf"29 of 40: the rest could not change the outcome: the new model is refused and endpoint "
        rf"{ENDPOINT} keeps {OLD}",
    ):
        deployment.deploy(session, config, plan=plan, poll_seconds=0, progress=False)


def test_a_smoke_endpoint_that_never_comes_up_is_a_refusal(session, sagemaker_stub, aws_stub, role_arn):
    cfn, cw, rt = aws_stub("cloudformation"), aws_stub("cloudwatch"), aws_stub("sagemaker-runtime")
    expect_live_endpoint(sagemaker_stub, aas=aws_stub("application-autoscaling"))
    expect_stack_alarm(cfn)
    expect_alarm_states(cw)
    expect_model_and_config(sagemaker_stub, role_arn, 2)
    expect_smoke_test(sagemaker_stub, rt, [], status="Failed")
    sagemaker_stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": NAME})
    sagemaker_stub.add_response("delete_model", {}, {"ModelName": NAME})

    config = deploy_config(role_arn, instance_count=2)
    plan = deployment.plan_deploy(session, config, options(), now=NOW, poll_seconds=0, progress=False)
    with pytest.raises(SmokeTestFailedError, match=r"ended Failed \(model failed to load\)"):
        deployment.deploy(session, config, plan=plan, poll_seconds=0, progress=False)


def test_a_rollback_alarm_already_firing_refuses_before_anything_is_created(
    session, sagemaker_stub, aws_stub, role_arn
):
    cfn, cw = aws_stub("cloudformation"), aws_stub("cloudwatch")
    expect_live_endpoint(sagemaker_stub, aas=aws_stub("application-autoscaling"))
    expect_stack_alarm(cfn)
    expect_alarm_states(cw, states={STACK_ALARM: "ALARM"})
    config = deploy_config(role_arn, instance_count=2)
    plan = deployment.plan_deploy(session, config, options(), now=NOW, poll_seconds=0, progress=False)
    assert "in ALARM, the rollout would be refused" in "\n".join(rollout.plan_lines(plan.rollout))
    with pytest.raises(RollbackAlarmFiringError, match=rf"{STACK_ALARM}.*--no-stack-alarm"):
        deployment.deploy(session, config, plan=plan, poll_seconds=0, progress=False)


@pytest.mark.parametrize("missing", ["stack", "resource"])
def test_without_the_stacks_alarm_the_rollout_warns_and_uses_the_endpoints_two(
    session, sagemaker_stub, aws_stub, role_arn, missing
):
    cfn, cw = aws_stub("cloudformation"), aws_stub("cloudwatch")
    expect_live_endpoint(sagemaker_stub, aas=aws_stub("application-autoscaling"))
    if missing == "stack":
        cfn.add_client_error(
            "describe_stacks",
            "ValidationError",
            f"Stack with id {STACK} does not exist",
            expected_params={"StackName": STACK},
        )
    else:
        stack = {"StackName": STACK, "CreationTime": STAMP, "StackStatus": "CREATE_COMPLETE"}
        stack["Parameters"] = [{"ParameterKey": "EndpointName", "ParameterValue": ENDPOINT}]
        cfn.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": STACK})
        cfn.add_client_error(
            "describe_stack_resource",
            "ValidationError",
            f"Resource LowConfidenceShareAlarm does not exist for stack {STACK}",
        )
    expect_alarm_states(cw, names=(ERRORS_ALARM, LATENCY_ALARM), states={LATENCY_ALARM: "OK"})
    config = deploy_config(role_arn, instance_count=2)
    plan = deployment.plan_deploy(session, config, options(), now=NOW, poll_seconds=0, progress=False)
    lines = rollout.plan_lines(plan.rollout)
    assert any(
        line.startswith("  warning: ") and "LowConfidenceShareAlarm is left out" in line for line in lines
    )
    alarms = plan.rollout.update_request()["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    assert alarms == [{"AlarmName": ERRORS_ALARM}, {"AlarmName": LATENCY_ALARM}]


def test_a_stack_that_serves_another_endpoint_lends_no_alarm(session, sagemaker_stub, aws_stub, role_arn):
    cfn, cw = aws_stub("cloudformation"), aws_stub("cloudwatch")
    expect_live_endpoint(sagemaker_stub, aas=aws_stub("application-autoscaling"))
    expect_stack_alarm(cfn, serves="vehicle-classifier-staging")
    expect_alarm_states(cw, names=(ERRORS_ALARM, LATENCY_ALARM), states={})
    config = deploy_config(role_arn, instance_count=2)
    plan = deployment.plan_deploy(session, config, options(), now=NOW, poll_seconds=0, progress=False)
    assert [alarm.name for alarm in plan.rollout.alarms] == [ERRORS_ALARM, LATENCY_ALARM]
    assert plan.rollout.notes == (
        f"stack {STACK} serves endpoint vehicle-classifier-staging, not {ENDPOINT}: "
        "the stack's LowConfidenceShareAlarm is left out",
    )


def test_an_endpoint_with_other_variants_cannot_be_rolled_out_blue_green(
    session, sagemaker_stub, aws_stub, role_arn
):
    expect_live_endpoint(sagemaker_stub, variants=("Blue", "Green"), aas=aws_stub("application-autoscaling"))
    with pytest.raises(UsageError, match="needs the same variant"):
        deployment.plan_deploy(session, deploy_config(role_arn, instance_count=2), options(), now=NOW)


# --- through the CLI ----------------------------------------------------------------------------

ARGV = ["deploy", "--model-data", MODEL_DATA, "--endpoint-name", ENDPOINT, "--capture-s3-uri", CAPTURE]


@pytest.fixture
def fixed_names(monkeypatch):
    monkeypatch.setattr("training_job.deployment.versioned_name", lambda name, now=None: NAME)
    monkeypatch.setattr("training_job.smoke.smoke_endpoint_name", lambda name, now=None: SMOKE)


def test_dry_run_prints_the_plan_and_makes_no_write(
    session, sagemaker_stub, aws_stub, cli_uses, role_arn, fixed_names, capsys
):
    cli_uses(session)
    cfn, cw = aws_stub("cloudformation"), aws_stub("cloudwatch")
    aws_stub("sagemaker-runtime")  # nothing queued: a single InvokeEndpoint would fail the test
    expect_live_endpoint(sagemaker_stub, aas=aws_stub("application-autoscaling"))
    expect_stack_alarm(cfn)
    expect_alarm_states(cw)
    argv = [*ARGV, "--role-arn", role_arn, "--instance-count", "2", "--dry-run", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out == (
        f"rollout onto endpoint {ENDPOINT}\n"
        f"  old endpoint config: {OLD}\n"
        f"  new endpoint config: {NAME} (model {MODEL_DATA}, 2 x ml.m5.large, "
        f"data capture 100% -> {CAPTURE})\n"
        "  traffic: CANARY: 1 of 2 instances first (about 50 % of requests) for 600 s, then all of them "
        "for another 600 s; SageMaker gives up and rolls back after 3000 s\n"
        "  rollback alarms:\n"
        f"    {ERRORS_ALARM} (Invocation5XXErrors of {ENDPOINT}): to create\n"
        f"    {LATENCY_ALARM} (ModelLatency of {ENDPOINT}): exists, to update, state OK\n"
        f"    {STACK_ALARM} (LowConfidenceShareAlarm of stack {STACK}): exists, state OK\n"
        f"  smoke test: a temporary endpoint {SMOKE} on the new config (2 x ml.m5.large, ~15 min, ~$0.06) "
        f"gets the 40 photos of {smoke.DEFAULT_SMOKE_LST}; at least 80% (32 of 40) must come back right "
        "or nothing is rolled out; then it is deleted\n"
        "dry run: nothing was created or changed\n"
    )


def test_dry_run_of_a_first_deploy_says_it_creates_the_endpoint(
    session, sagemaker_stub, cli_uses, role_arn, fixed_names, capsys
):
    cli_uses(session)
    sagemaker_stub.add_client_error(
        "describe_endpoint", "ValidationException", f'Could not find endpoint "{ENDPOINT}".'
    )
    assert main([*ARGV, "--role-arn", role_arn, "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith(
        f"endpoint {ENDPOINT} does not exist: deploy creates it on endpoint config {NAME} (a first deploy"
    )


def test_the_default_canary_on_one_instance_is_a_usage_error_before_anything_is_created(
    session, sagemaker_stub, aws_stub, cli_uses, role_arn, capsys
):
    cli_uses(session)
    expect_live_endpoint(sagemaker_stub, aas=aws_stub("application-autoscaling"))
    assert main([*ARGV, "--role-arn", role_arn]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --traffic canary needs at least 2 instances") and err.count("\n") == 1


def test_a_refused_smoke_test_is_one_line_and_exit_1(
    session, sagemaker_stub, aws_stub, cli_uses, role_arn, fixed_names, capsys, tmp_path
):
    cli_uses(session)
    images = tmp_path / "images"
    images.mkdir()
    picked = [SAMPLES[0], SAMPLES[-1]]  # a bicycle and a motorcycle
    for sample in picked:
        shutil.copy(sample.path, images / sample.path.name)
    lst = tmp_path / "two.lst"
    lst.write_text("".join(f"{i}\t{s.label}\t{s.path.name}\n" for i, s in enumerate(picked)))
    two = smoke.read_samples(images, lst)
    cfn, cw, rt = aws_stub("cloudformation"), aws_stub("cloudwatch"), aws_stub("sagemaker-runtime")
    expect_live_endpoint(sagemaker_stub, aas=aws_stub("application-autoscaling"))
    expect_stack_alarm(cfn)
    expect_alarm_states(cw)
    expect_model_and_config(sagemaker_stub, role_arn, 1)
    expect_smoke_test(sagemaker_stub, rt, [0, 0], samples=two)  # the motorcycle called a bicycle
    sagemaker_stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": NAME})
    sagemaker_stub.add_response("delete_model", {}, {"ModelName": NAME})
    argv = [*ARGV, "--role-arn", role_arn, "--traffic", "all-at-once", "--poll-seconds", "0", "--quiet"]
    argv += ["--smoke-images", str(images), "--smoke-lst", str(lst), "--min-smoke-accuracy", "0.75"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err == (
        f"error: smoke test on {SMOKE}: 1/2 right (50.0%, needed 75%): the new model is refused and "
        f"endpoint {ENDPOINT} keeps {OLD}; the new model and config were deleted\n"
    )


def test_a_canary_rollout_from_the_cli_prints_the_plan_the_smoke_test_and_waits(
    session, sagemaker_stub, aws_stub, cli_uses, role_arn, fixed_names, capsys
):
    cli_uses(session)
    cfn, cw, rt = aws_stub("cloudformation"), aws_stub("cloudwatch"), aws_stub("sagemaker-runtime")
    expect_live_endpoint(sagemaker_stub, aas=aws_stub("application-autoscaling"))
    expect_stack_alarm(cfn)
    expect_alarm_states(cw)
    expect_model_and_config(sagemaker_stub, role_arn, 2)
    expect_smoke_test(sagemaker_stub, rt, [s.label for s in SAMPLES])
    expect_alarms_put(cw, latency_ms=750)
    canary = {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "WaitIntervalInSeconds": 120,
            "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
        },
        "MaximumExecutionTimeoutInSeconds": 2040,
    }
    expect_update(sagemaker_stub, {"BlueGreenUpdatePolicy": canary, **ROLLBACK})
    sagemaker_stub.add_response("describe_endpoint", describe_endpoint(ENDPOINT, "InService", NAME))
    argv = [*ARGV, "--role-arn", role_arn, "--instance-count", "2", "--bake-seconds", "120"]
    argv += ["--latency-alarm-ms", "750", "--poll-seconds", "0", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"rollout onto endpoint {ENDPOINT}\n")
    assert f"smoke test on {SMOKE}: 40/40 right (100.0%, needed 80%)\n" in out
    assert f"updating endpoint {ENDPOINT} with endpoint config {NAME}\nd" in out
    assert f"endpoint {ENDPOINT}: InService\n" in out


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--smoke-images", "/no/such/folder"], "--smoke-images /no/such/folder: no such folder"),
        (["--smoke-lst", "/no/such.lst"], "--smoke-lst /no/such.lst: no such file"),
    ],
)
def test_smoke_photos_that_are_not_there_are_a_usage_error(
    session, sagemaker_stub, aws_stub, cli_uses, role_arn, flags, message, capsys
):
    cli_uses(session)
    cfn, cw = aws_stub("cloudformation"), aws_stub("cloudwatch")
    expect_live_endpoint(sagemaker_stub, aas=aws_stub("application-autoscaling"))
    expect_stack_alarm(cfn)
    expect_alarm_states(cw)
    argv = [*ARGV, "--role-arn", role_arn, "--instance-count", "2", "--dry-run", *flags]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags",
    [
        ["--min-smoke-accuracy", "1.5"],
        ["--canary-percent", "60"],
        ["--linear-percent", "5"],
        ["--bake-seconds", "3601"],
    ],
)
def test_rollout_values_out_of_range_are_refused_by_argparse(flags, role_arn):
    with pytest.raises(SystemExit) as exit_:
        main([*ARGV, "--role-arn", role_arn, *flags])
    assert exit_.value.code == 2


# --- smoke-test pieces --------------------------------------------------------------------------


def test_the_committed_samples_are_forty_photos_half_of_each_class():
    assert len(SAMPLES) == 40
    assert sum(sample.label for sample in SAMPLES) == 20
    assert {sample.path.suffix for sample in SAMPLES} == {".png"}


@pytest.mark.parametrize(
    ("body", "label"),
    [(b"[0.9, 0.1]", 0), (b"[0.2, 0.8]", 1), (b"[0.5, 0.5]", 0), (b"[1, 0]", 0)],
)
def test_the_label_is_the_likelier_class(body, label):
    assert smoke.predicted_label(body) == label


@pytest.mark.parametrize("body", [b"[0.9]", b'{"p": [0.9, 0.1]}', b"[[0.9, 0.1]]", b"not json"])
def test_an_answer_that_is_not_two_probabilities_is_an_error(body):
    with pytest.raises(ValueError):
        smoke.predicted_label(body)


@pytest.mark.parametrize(
    ("min_accuracy", "needed"), [(0.8, 32), (0.0, 0), (1.0, 40), (0.925, 37), (0.81, 33)]
)
def test_the_right_answers_needed(min_accuracy, needed):
    plan = smoke.SmokePlan(SMOKE, SAMPLES, smoke.DEFAULT_SMOKE_LST, min_accuracy, "ml.m5.large", 1)
    assert plan.needed == needed
    labels = [s.label for s in SAMPLES]
    wrong = [1 - label for label in labels]
    result = smoke.score(plan, labels[:needed] + wrong[needed:])
    assert (result.correct, result.passed) == (needed, True)
    if needed:
        assert not smoke.score(plan, labels[: needed - 1] + wrong[needed - 1 :]).passed


# --- teardown: the alarms -------------------------------------------------------------------------


def test_teardown_finds_the_rollback_alarms_by_prefix_and_tag_and_deletes_them(aws_stub):
    cw = aws_stub("cloudwatch")
    client = cw.client
    prefix = "scones-vehicle-classifier-rollback-vehicle-classifier-"
    staging = "scones-vehicle-classifier-rollback-vehicle-classifier-staging-ModelLatency"
    listed = [ERRORS_ALARM, LATENCY_ALARM, staging]
    cw.add_response(
        "describe_alarms",
        {
            "MetricAlarms": [
                {"AlarmName": name, "AlarmArn": f"arn:aws:cloudwatch:us-east-1:1:alarm:{name}"}
                for name in listed
            ]
        },
        {"AlarmNamePrefix": prefix},
    )
    staging_tags = [TAGS[0], {"Key": "endpoint", "Value": "vehicle-classifier-staging"}]
    for name, tags in ((ERRORS_ALARM, TAGS), (LATENCY_ALARM, TAGS), (staging, staging_tags)):
        cw.add_response(
            "list_tags_for_resource",
            {"Tags": tags},
            {"ResourceARN": f"arn:aws:cloudwatch:us-east-1:1:alarm:{name}"},
        )
    cw.add_response("delete_alarms", {}, {"AlarmNames": [ERRORS_ALARM, LATENCY_ALARM]})
    assert strictly_valid("cloudwatch", "DeleteAlarms", {"AlarmNames": [ERRORS_ALARM, LATENCY_ALARM]}) == []

    found = teardown.find_rollback_alarms(client, ENDPOINT)
    assert found == [ERRORS_ALARM, LATENCY_ALARM]  # the staging endpoint's alarm stays
    teardown.delete_alarms(client, found)


def test_delete_alarms_sends_at_most_100_names_a_call(aws_stub):
    cw = aws_stub("cloudwatch")
    names = [f"{rollout.ROLLBACK_ALARM_PREFIX}e{i}-ModelLatency" for i in range(150)]
    cw.add_response("delete_alarms", {}, {"AlarmNames": names[:100]})
    cw.add_response("delete_alarms", {}, {"AlarmNames": names[100:]})
    teardown.delete_alarms(cw.client, names)


def test_teardown_deletes_deploys_alarms_and_a_leftover_smoke_endpoint(
    moto_session, cli_uses, role_arn, capsys
):
    cli_uses(moto_session)
    cloudwatch = moto_session.client("cloudwatch")
    for endpoint in (ENDPOINT, "vehicle-classifier-staging"):
        for request in (
            rollout.error_alarm_request(endpoint, "AllTraffic"),
            rollout.latency_alarm_request(endpoint, "AllTraffic", 1000),
        ):
            cloudwatch.put_metric_alarm(**request)
    untagged = rollout.latency_alarm_request(ENDPOINT, "Other", 5) | {
        "AlarmName": f"{ERRORS_ALARM}-copy",
        "Tags": [],
    }
    cloudwatch.put_metric_alarm(**untagged)  # our prefix, but not our tag: not ours to delete
    sagemaker = moto_session.client("sagemaker")
    sagemaker.create_model(
        ModelName=NAME, PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=role_arn, Tags=TAGS
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=NAME,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": NAME,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        Tags=TAGS,
    )
    sagemaker.create_endpoint(EndpointName=SMOKE, EndpointConfigName=NAME, Tags=TAGS)  # its deletion failed

    assert main(["teardown", "--endpoint-name", ENDPOINT, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would delete endpoint {SMOKE}\n" in out
    assert f"would delete alarm {ERRORS_ALARM}\nwould delete alarm {LATENCY_ALARM}\n" in out
    assert "staging" not in out and "-copy" not in out

    assert main(["teardown", "--endpoint-name", ENDPOINT]) == 0
    out = capsys.readouterr().out
    assert (
        "CloudWatch: deleted 2 rollback alarms "
        "(project=scones-vehicle-classifier, endpoint vehicle-classifier)" in out
    )
    left = sorted(alarm["AlarmName"] for alarm in cloudwatch.describe_alarms()["MetricAlarms"])
    assert left == [
        f"{ERRORS_ALARM}-copy",
        "scones-vehicle-classifier-rollback-vehicle-classifier-staging-Invocation5XXErrors",
        "scones-vehicle-classifier-rollback-vehicle-classifier-staging-ModelLatency",
    ]
    assert sagemaker.list_endpoints()["Endpoints"] == []

    assert main(["teardown"]) == 0
    assert (
        "CloudWatch: deleted 2 rollback alarms (project=scones-vehicle-classifier)" in capsys.readouterr().out
    )
