"""Endpoint autoscaling (`deploy --autoscale-max-instances`, `teardown`): every Application Auto
Scaling request against botocore Stubbers with exact expected params, each also checked for the
enums, maximums and patterns botocore leaves out (`strictly_valid`); the update path on an
autoscaled endpoint (the count kept, a type change deregistered first and registered again, a
refused or rolled-back update restored); the dry run that sends nothing; teardown against moto.
A call with no answer queued fails the test, so "nothing was sent" is checked by omission."""

from __future__ import annotations

import math

import pytest
from botocore.exceptions import ClientError

from tests.unit.training_job.deploy_expectations import (
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
    STAMP,
    TAGS,
    describe_endpoint,
    expect_alarm_states,
    expect_alarms_put,
    expect_model_and_config,
    strictly_valid,
)
from training_job import autoscaling, deployment, rollout
from training_job.cli import main
from training_job.exceptions import AutoscalingConfigError, EndpointFailedError, UsageError

RESOURCE_ID = f"endpoint/{ENDPOINT}/variant/AllTraffic"
KEY = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": RESOURCE_ID,
    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
}
POLICY = "scones-vehicle-classifier-invocations-per-instance"
ROLE = (
    "arn:aws:iam::123456789012:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    + autoscaling.SERVICE_LINKED_ROLE
)
ARGV = ["deploy", "--model-data", MODEL_DATA, "--endpoint-name", ENDPOINT, "--capture-s3-uri", CAPTURE]


def register_request(low, high):
    return {**KEY, "MinCapacity": low, "MaxCapacity": high}


def policy_request(target=900.0, out=60, in_=300):
    return {
        "PolicyName": POLICY,
        **KEY,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": target,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
            "ScaleOutCooldown": out,
            "ScaleInCooldown": in_,
        },
    }


# --- the requests ---------------------------------------------------------------------------


def test_the_requests_are_the_api_references_to_the_letter():
    scaling = autoscaling.scaling_requests(
        autoscaling.AutoscalingOptions(max_instances=8, target_invocations=700), ENDPOINT, "AllTraffic", 2
    )
    assert scaling.register == register_request(2, 8)  # the minimum defaults to --instance-count
    assert scaling.policies == (policy_request(700.0),)
    assert strictly_valid("application-autoscaling", "RegisterScalableTarget", scaling.register) == []
    assert strictly_valid("application-autoscaling", "PutScalingPolicy", scaling.policies[0]) == []


def test_the_default_target_is_awss_formula_on_the_readmes_throughput():
    # SageMakerVariantInvocationsPerInstance = (MAX_RPS * SAFETY_FACTOR) * 60, SAFETY_FACTOR 0.5
    assert autoscaling.DEFAULT_TARGET_INVOCATIONS == 30 * 0.5 * 60 == 900
    options = autoscaling.AutoscalingOptions(max_instances=4, min_instances=1)
    scaling = autoscaling.scaling_requests(options, ENDPOINT, "AllTraffic", 3)
    assert scaling.register == register_request(1, 4)
    assert scaling.policies == (policy_request(900.0, 60, 300),)


@pytest.mark.parametrize(
    ("options", "instances", "message"),
    [
        (
            {"max_instances": 1},
            2,
            r"--autoscale-max-instances \(1\) must be >= the minimum, --instance-count \(2\)",
        ),
        (
            {"max_instances": 3, "min_instances": 4},
            1,
            r"--autoscale-max-instances \(3\) must be >= the minimum, --autoscale-min-instances \(4\)",
        ),
        (
            {"max_instances": 3, "min_instances": 0},
            1,
            r"--autoscale-min-instances .* must be 1 or more, got 0",
        ),
        (
            {"max_instances": 3, "target_invocations": 0},
            1,
            r"--autoscale-target-invocations must be .* above 0",
        ),
        ({"max_instances": 3, "target_invocations": -5.0}, 1, r"above 0 .*, got -5.0"),
        ({"max_instances": 3, "target_invocations": math.nan}, 1, "got nan"),
        ({"max_instances": 3, "target_invocations": math.inf}, 1, "got inf"),
        ({"max_instances": 3, "scale_in_cooldown": -1}, 1, "--autoscale-scale-in-cooldown must be 0 or more"),
        (
            {"max_instances": 3, "scale_out_cooldown": -1},
            1,
            "--autoscale-scale-out-cooldown must be 0 or more",
        ),
    ],
)
def test_bad_values_are_a_named_error(options, instances, message):
    with pytest.raises(AutoscalingConfigError, match=message):
        autoscaling.scaling_requests(
            autoscaling.AutoscalingOptions(**options), ENDPOINT, "AllTraffic", instances
        )


def described_target(low=1, high=4):
    return {**register_request(low, high), "RoleARN": ROLE, "CreationTime": STAMP}


def described_policy(target=900.0):
    return {
        **policy_request(target),
        "PolicyARN": "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:"
        f"resource/sagemaker/{RESOURCE_ID}:policyName/{POLICY}",
        "Alarms": [
            {"AlarmName": "TargetTracking-AlarmHigh", "AlarmARN": "arn:aws:cloudwatch:us-east-1:1:alarm:x"}
        ],
        "CreationTime": STAMP,
    }


def test_what_is_registered_is_registered_again_exactly_as_it_was():
    found = autoscaling.Registered(described_target(1, 4), (described_policy(650.0),))
    again = found.as_requests()
    assert again.register == register_request(1, 4)
    assert again.policies == (policy_request(650.0),)
    assert found.line() == f"{RESOURCE_ID}: 1..4 instances, {POLICY}"


def test_removal_tolerates_what_is_already_gone_and_nothing_else(aws_stub):
    aas = aws_stub("application-autoscaling")
    found = autoscaling.Registered(described_target(), (described_policy(),))
    gone = {"service_error_code": "ObjectNotFoundException", "service_message": "No scaling policy found"}
    aas.add_client_error("delete_scaling_policy", **gone, expected_params={"PolicyName": POLICY, **KEY})
    aas.add_client_error("deregister_scalable_target", **gone, expected_params=KEY)
    autoscaling.remove(aas.client, found)

    aas.add_client_error("delete_scaling_policy", "AccessDeniedException", "not authorized")
    with pytest.raises(ClientError, match="not authorized"):
        autoscaling.remove(aas.client, found)


# --- deploy: the requests in order ------------------------------------------------------------


def expect_autoscaled_endpoint(sm, aas, *, instances=3, live_type="ml.m5.large", policies=None):
    """DescribeEndpoint (the live variant at `instances`), then its autoscaling: the target, its
    policies, and the live config's instance type (the plan compares it with the new one)."""
    variant = {
        "VariantName": "AllTraffic",
        "DesiredInstanceCount": instances,
        "CurrentInstanceCount": instances,
    }
    sm.add_response(
        "describe_endpoint",
        describe_endpoint(ENDPOINT, "InService", OLD, ProductionVariants=[variant]),
        {"EndpointName": ENDPOINT},
    )
    aas.add_response(
        "describe_scalable_targets",
        {"ScalableTargets": [described_target(1, 4)]},
        {
            "ServiceNamespace": "sagemaker",
            "ResourceIds": [RESOURCE_ID],
            "ScalableDimension": KEY["ScalableDimension"],
        },
    )
    found = [described_policy()] if policies is None else policies
    aas.add_response("describe_scaling_policies", {"ScalingPolicies": found}, KEY)
    live = [
        {"VariantName": "AllTraffic", "ModelName": OLD, "InitialInstanceCount": 1, "InstanceType": live_type}
    ]
    sm.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": OLD,
            "EndpointConfigArn": f"{ARN}:endpoint-config/{OLD}",
            "ProductionVariants": live,
            "CreationTime": STAMP,
        },
        {"EndpointConfigName": OLD},
    )


ALL_AT_ONCE = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600},
        "MaximumExecutionTimeoutInSeconds": 2400,
    },
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": ERRORS_ALARM}, {"AlarmName": LATENCY_ALARM}]},
}


def expect_update_keeping_the_count(sm, deployment_config=None):
    request = {
        "EndpointName": ENDPOINT,
        "EndpointConfigName": NAME,
        "DeploymentConfig": deployment_config or ALL_AT_ONCE,
        "RetainAllVariantProperties": True,
    }
    assert strictly_valid("sagemaker", "UpdateEndpoint", request) == []
    sm.add_response("update_endpoint", {"EndpointArn": f"{ARN}:endpoint/{ENDPOINT}"}, request)
    sm.add_response(
        "describe_endpoint", describe_endpoint(ENDPOINT, "Updating", OLD), {"EndpointName": ENDPOINT}
    )


def expect_removal(aas):
    aas.add_response("delete_scaling_policy", {}, {"PolicyName": POLICY, **KEY})
    aas.add_response("deregister_scalable_target", {}, KEY)


def expect_registration(aas, low, high, policy):
    request = register_request(low, high)
    assert strictly_valid("application-autoscaling", "RegisterScalableTarget", request) == []
    assert strictly_valid("application-autoscaling", "PutScalingPolicy", policy) == []
    aas.add_response("register_scalable_target", {}, request)
    aas.add_response("put_scaling_policy", {"PolicyARN": "arn:aws:autoscaling:x", "Alarms": []}, policy)


def rollout_options(kind="all-at-once"):
    return rollout.RolloutOptions(traffic=rollout.TrafficPolicy(kind=kind), stack_name=None, smoke=None)


def deploy_config(role_arn, **overrides):
    values = {
        "model_data": MODEL_DATA,
        "endpoint_name": ENDPOINT,
        "role_arn": role_arn,
        "capture_s3_uri": CAPTURE,
    }
    return deployment.DeployConfig(**(values | overrides))


def test_an_update_of_an_autoscaled_variant_keeps_its_count_and_its_autoscaling(
    session, sagemaker_stub, aws_stub, role_arn
):
    """A model change is allowed on an autoscaled variant: no deregistration; the update keeps
    the 3 instances autoscaling reached, and the all-at-once shift is planned on them."""
    aas, cw = aws_stub("application-autoscaling"), aws_stub("cloudwatch")
    expect_autoscaled_endpoint(sagemaker_stub, aas, instances=3)
    expect_alarm_states(cw, names=(ERRORS_ALARM, LATENCY_ALARM), states={})
    expect_model_and_config(sagemaker_stub, role_arn, 1)
    expect_alarms_put(cw)
    expect_update_keeping_the_count(sagemaker_stub)
    sagemaker_stub.add_response("describe_endpoint", describe_endpoint(ENDPOINT, "InService", NAME))

    config = deploy_config(role_arn)
    plan = deployment.plan_deploy(session, config, rollout_options(), now=NOW, poll_seconds=0, progress=False)
    assert plan.rollout.shift.instance_count == 3
    assert (plan.autoscaling.deregister_first, plan.autoscaling.retain_instance_count) == (False, True)
    assert autoscaling.plan_lines(plan.autoscaling) == [
        f"autoscaling of {RESOURCE_ID} (registered now: 1..4 instances, {POLICY})",
        "  UpdateEndpoint keeps its 3 instance(s) (RetainAllVariantProperties), not --instance-count; "
        "autoscaling is blocked while the update runs",
        "  left as it is (--autoscale-max-instances changes it)",
    ]
    done = deployment.deploy(session, config, plan=plan, poll_seconds=0, progress=False)
    deployment.wait_in_service(done, poll_seconds=0, progress=False)
    assert deployment.apply_autoscaling(done) is None  # nothing asked, nothing sent


def test_a_type_change_deregisters_first_and_registers_again_as_it_was(
    session, sagemaker_stub, aws_stub, role_arn
):
    aas, cw = aws_stub("application-autoscaling"), aws_stub("cloudwatch")
    expect_autoscaled_endpoint(sagemaker_stub, aas, instances=3, live_type="ml.m5.large")
    expect_alarm_states(cw, names=(ERRORS_ALARM, LATENCY_ALARM), states={})
    expect_model_and_config(sagemaker_stub, role_arn, 1, "ml.m5.xlarge")
    expect_alarms_put(cw)
    expect_removal(aas)  # after the alarms, right before UpdateEndpoint
    expect_update_keeping_the_count(sagemaker_stub)
    sagemaker_stub.add_response("describe_endpoint", describe_endpoint(ENDPOINT, "InService", NAME))
    expect_registration(aas, 1, 4, policy_request(900.0))  # as it was: no option asked for another

    config = deploy_config(role_arn, instance_type="ml.m5.xlarge")
    plan = deployment.plan_deploy(session, config, rollout_options(), now=NOW, poll_seconds=0, progress=False)
    lines = autoscaling.plan_lines(plan.autoscaling)
    assert lines[1] == f"  before UpdateEndpoint: DeleteScalingPolicy {POLICY}, DeregisterScalableTarget"
    assert "the instance type changes (ml.m5.large -> ml.m5.xlarge)" in lines[2]
    assert lines[-2:] == [
        f"  once InService: RegisterScalableTarget {RESOURCE_ID} sagemaker:variant:DesiredInstanceCount: "
        "MinCapacity 1, MaxCapacity 4",
        f"  once InService: PutScalingPolicy {POLICY}: TargetTrackingScaling on "
        "SageMakerVariantInvocationsPerInstance, TargetValue 900 invocations per instance per minute, "
        "ScaleOutCooldown 60 s, ScaleInCooldown 300 s",
    ]
    done = deployment.deploy(session, config, plan=plan, poll_seconds=0, progress=False)
    assert done.deregistered
    deployment.wait_in_service(done, poll_seconds=0, progress=False)
    assert deployment.apply_autoscaling(done).register == register_request(1, 4)


def test_a_type_change_with_new_options_registers_those(session, sagemaker_stub, aws_stub, role_arn):
    aas, cw = aws_stub("application-autoscaling"), aws_stub("cloudwatch")
    expect_autoscaled_endpoint(sagemaker_stub, aas, live_type="ml.m5.large")
    expect_alarm_states(cw, names=(ERRORS_ALARM, LATENCY_ALARM), states={})
    expect_model_and_config(sagemaker_stub, role_arn, 2, "ml.c5.xlarge")
    expect_alarms_put(cw)
    expect_removal(aas)
    expect_update_keeping_the_count(sagemaker_stub)
    sagemaker_stub.add_response("describe_endpoint", describe_endpoint(ENDPOINT, "InService", NAME))
    expect_registration(aas, 2, 8, policy_request(700.0, 120, 600))

    config = deploy_config(role_arn, instance_type="ml.c5.xlarge", instance_count=2)
    options = autoscaling.AutoscalingOptions(8, None, 700, 120, 600)
    plan = deployment.plan_deploy(
        session, config, rollout_options(), now=NOW, poll_seconds=0, progress=False, autoscaling=options
    )
    done = deployment.deploy(session, config, plan=plan, poll_seconds=0, progress=False)
    deployment.wait_in_service(done, poll_seconds=0, progress=False)
    deployment.apply_autoscaling(done)


def test_an_update_refused_after_deregistering_registers_it_again(
    session, sagemaker_stub, aws_stub, role_arn
):
    aas, cw = aws_stub("application-autoscaling"), aws_stub("cloudwatch")
    expect_autoscaled_endpoint(sagemaker_stub, aas, live_type="ml.m5.large")
    expect_alarm_states(cw, names=(ERRORS_ALARM, LATENCY_ALARM), states={})
    expect_model_and_config(sagemaker_stub, role_arn, 1, "ml.m5.xlarge")
    expect_alarms_put(cw)
    expect_removal(aas)
    sagemaker_stub.add_client_error(
        "update_endpoint", "ValidationException", "Cannot update in-progress endpoint"
    )
    sagemaker_stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": NAME})
    sagemaker_stub.add_response("delete_model", {}, {"ModelName": NAME})
    expect_registration(aas, 1, 4, policy_request(900.0))

    config = deploy_config(role_arn, instance_type="ml.m5.xlarge")
    plan = deployment.plan_deploy(session, config, rollout_options(), now=NOW, poll_seconds=0, progress=False)
    with pytest.raises(ClientError, match="Cannot update in-progress endpoint"):
        deployment.deploy(session, config, plan=plan, poll_seconds=0, progress=False)


def test_a_deregistration_that_fails_half_way_is_restored_and_nothing_is_updated(
    session, sagemaker_stub, aws_stub, role_arn
):
    aas, cw = aws_stub("application-autoscaling"), aws_stub("cloudwatch")
    expect_autoscaled_endpoint(sagemaker_stub, aas, live_type="ml.m5.large")
    expect_alarm_states(cw, names=(ERRORS_ALARM, LATENCY_ALARM), states={})
    expect_model_and_config(sagemaker_stub, role_arn, 1, "ml.m5.xlarge")
    expect_alarms_put(cw)
    aas.add_response("delete_scaling_policy", {}, {"PolicyName": POLICY, **KEY})
    aas.add_client_error("deregister_scalable_target", "ConcurrentUpdateException", "pending update")
    sagemaker_stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": NAME})
    sagemaker_stub.add_response("delete_model", {}, {"ModelName": NAME})
    expect_registration(aas, 1, 4, policy_request(900.0))  # the deleted policy comes back
    # and no UpdateEndpoint: the Stubber would fail on it

    config = deploy_config(role_arn, instance_type="ml.m5.xlarge")
    plan = deployment.plan_deploy(session, config, rollout_options(), now=NOW, poll_seconds=0, progress=False)
    with pytest.raises(ClientError, match="pending update"):
        deployment.deploy(session, config, plan=plan, poll_seconds=0, progress=False)


def test_an_update_rolled_back_after_deregistering_registers_it_again(
    session, sagemaker_stub, aws_stub, role_arn
):
    aas, cw = aws_stub("application-autoscaling"), aws_stub("cloudwatch")
    expect_autoscaled_endpoint(sagemaker_stub, aas, live_type="ml.m5.large")
    expect_alarm_states(cw, names=(ERRORS_ALARM, LATENCY_ALARM), states={})
    expect_model_and_config(sagemaker_stub, role_arn, 1, "ml.m5.xlarge")
    expect_alarms_put(cw)
    expect_removal(aas)
    expect_update_keeping_the_count(sagemaker_stub)
    sagemaker_stub.add_response(
        "describe_endpoint", describe_endpoint(ENDPOINT, "InService", OLD, FailureReason="alarm fired")
    )
    sagemaker_stub.add_response("delete_endpoint_config", {}, {"EndpointConfigName": NAME})
    sagemaker_stub.add_response("delete_model", {}, {"ModelName": NAME})
    expect_registration(aas, 1, 4, policy_request(900.0))

    config = deploy_config(role_arn, instance_type="ml.m5.xlarge")
    plan = deployment.plan_deploy(session, config, rollout_options(), now=NOW, poll_seconds=0, progress=False)
    done = deployment.deploy(session, config, plan=plan, poll_seconds=0, progress=False)
    with pytest.raises(
        EndpointFailedError,
        match=rf"rolled back to {OLD}: alarm fired; .*; registered the autoscaling of {RESOURCE_ID} "
        "again as it was",
    ):
        deployment.wait_in_service(done, poll_seconds=0, progress=False)


def test_the_plain_update_keeps_the_count_too(session, sagemaker_stub, aws_stub, role_arn):
    """`deploy()` without rollout options (the library's plain update) sends the same flag."""
    aas = aws_stub("application-autoscaling")
    expect_autoscaled_endpoint(sagemaker_stub, aas)
    expect_model_and_config(sagemaker_stub, role_arn, 1)
    sagemaker_stub.add_response(
        "update_endpoint",
        {"EndpointArn": f"{ARN}:endpoint/{ENDPOINT}"},
        {"EndpointName": ENDPOINT, "EndpointConfigName": NAME, "RetainAllVariantProperties": True},
    )
    sagemaker_stub.add_response("describe_endpoint", describe_endpoint(ENDPOINT, "Updating", OLD))
    done = deployment.deploy(session, deploy_config(role_arn), now=NOW)
    assert done.updated and not done.deregistered


def test_a_canary_on_an_autoscaled_single_instance_says_what_to_do(
    session, sagemaker_stub, aws_stub, role_arn
):
    aas = aws_stub("application-autoscaling")
    expect_autoscaled_endpoint(sagemaker_stub, aas, instances=1)
    with pytest.raises(UsageError, match=r"autoscaled endpoint has 1 now, which the update keeps"):
        deployment.plan_deploy(
            session, deploy_config(role_arn, instance_count=2), rollout_options("canary"), now=NOW
        )


def test_a_caller_who_may_not_read_autoscaling_is_warned_unless_it_asks_for_it(
    session, sagemaker_stub, aws_stub, role_arn
):
    aas = aws_stub("application-autoscaling")
    for _ in range(2):
        sagemaker_stub.add_response(
            "describe_endpoint", describe_endpoint(ENDPOINT, "InService", OLD), {"EndpointName": ENDPOINT}
        )
        aas.add_client_error("describe_scalable_targets", "AccessDeniedException", "not authorized")
    plan = deployment.plan_deploy(session, deploy_config(role_arn), now=NOW)
    assert plan.autoscaling.existing is None and plan.autoscaling.apply is None
    assert plan.autoscaling.notes[0].startswith(
        "warning: could not read the endpoint's autoscaling (not authorized)"
    )
    with pytest.raises(ClientError, match="not authorized"):
        deployment.plan_deploy(
            session, deploy_config(role_arn), now=NOW, autoscaling=autoscaling.AutoscalingOptions(4)
        )


# --- through the CLI ----------------------------------------------------------------------------


@pytest.fixture
def fixed_names(monkeypatch):
    monkeypatch.setattr("training_job.deployment.versioned_name", lambda name, now=None: NAME)


def expect_no_endpoint(sm):
    sm.add_client_error(
        "describe_endpoint",
        "ValidationException",
        f'Could not find endpoint "{ARN}:endpoint/{ENDPOINT}".',
        expected_params={"EndpointName": ENDPOINT},
    )


AUTOSCALE = ["--autoscale-max-instances", "8", "--autoscale-target-invocations", "700"]
PLAN_LINES = (
    f"autoscaling of {RESOURCE_ID} (not registered now)\n"
    f"  once InService: RegisterScalableTarget {RESOURCE_ID} sagemaker:variant:DesiredInstanceCount: "
    "MinCapacity 2, MaxCapacity 8\n"
    f"  once InService: PutScalingPolicy {POLICY}: TargetTrackingScaling on "
    "SageMakerVariantInvocationsPerInstance, TargetValue 700 invocations per instance per minute, "
    "ScaleOutCooldown 60 s, ScaleInCooldown 300 s\n"
)


def test_a_first_deploy_with_autoscaling_registers_the_variant_once_in_service(
    session, sagemaker_stub, aws_stub, cli_uses, role_arn, fixed_names, capsys
):
    cli_uses(session)
    aas = aws_stub("application-autoscaling")
    expect_no_endpoint(sagemaker_stub)
    expect_model_and_config(sagemaker_stub, role_arn, 2)
    sagemaker_stub.add_response(
        "create_endpoint",
        {"EndpointArn": f"{ARN}:endpoint/{ENDPOINT}"},
        {"EndpointName": ENDPOINT, "EndpointConfigName": NAME, "Tags": TAGS[:1]},
    )
    sagemaker_stub.add_response("describe_endpoint", describe_endpoint(ENDPOINT, "Creating", NAME))
    sagemaker_stub.add_response("describe_endpoint", describe_endpoint(ENDPOINT, "InService", NAME))
    expect_registration(aas, 2, 8, policy_request(700.0))

    argv = [
        *ARGV,
        "--role-arn",
        role_arn,
        "--instance-count",
        "2",
        *AUTOSCALE,
        "--poll-seconds",
        "0",
        "--quiet",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert PLAN_LINES in out
    assert (
        f"endpoint {ENDPOINT}: InService\n"
        f"autoscaling: {RESOURCE_ID} scales between 2 and 8 instances ({POLICY})\n"
        "next: sam build"
    ) in out


def test_the_dry_run_prints_the_autoscaling_calls_and_sends_none(
    session, sagemaker_stub, aws_stub, cli_uses, role_arn, fixed_names, capsys
):
    cli_uses(session)
    aws_stub("application-autoscaling")  # nothing queued: any call would fail the test
    expect_no_endpoint(sagemaker_stub)
    assert main([*ARGV, "--role-arn", role_arn, "--instance-count", "2", *AUTOSCALE, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.endswith(PLAN_LINES + "dry run: nothing was created or changed\n")


def test_the_dry_run_of_an_update_shows_what_is_registered_and_what_changes(
    session, sagemaker_stub, aws_stub, cli_uses, role_arn, fixed_names, capsys
):
    cli_uses(session)
    aas, cw = aws_stub("application-autoscaling"), aws_stub("cloudwatch")
    expect_autoscaled_endpoint(sagemaker_stub, aas, instances=3)
    expect_alarm_states(cw, names=(ERRORS_ALARM, LATENCY_ALARM), states={})
    argv = [*ARGV, "--role-arn", role_arn, "--no-smoke-test", "--no-stack-alarm", *AUTOSCALE, "--dry-run"]
    assert main([*argv, "--autoscale-min-instances", "2"]) == 0
    out = capsys.readouterr().out
    assert "ml.m5.large, 3 instance(s) kept from the autoscaled endpoint" in out
    assert "traffic: CANARY: 1 of 3 instances first" in out
    assert (
        f"autoscaling of {RESOURCE_ID} (registered now: 1..4 instances, {POLICY})\n"
        "  UpdateEndpoint keeps its 3 instance(s) (RetainAllVariantProperties), not --instance-count; "
        "autoscaling is blocked while the update runs\n"
        f"  once InService: RegisterScalableTarget {RESOURCE_ID} sagemaker:variant:DesiredInstanceCount: "
        "MinCapacity 2, MaxCapacity 8\n"
    ) in out
    assert out.endswith("dry run: nothing was created or changed\n")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--autoscale-max-instances", "1", "--instance-count", "2"],
            "--autoscale-max-instances (1) must be >=",
        ),
        (["--autoscale-max-instances", "0"], "must be >= the minimum, --instance-count (1)"),
        (["--autoscale-max-instances", "4", "--autoscale-min-instances", "0"], "must be 1 or more, got 0"),
        (["--autoscale-max-instances", "4", "--autoscale-target-invocations", "0"], "above 0"),
        (["--autoscale-max-instances", "4", "--autoscale-scale-in-cooldown", "-1"], "0 or more seconds"),
        (
            ["--autoscale-target-invocations", "700", "--autoscale-min-instances", "2"],
            "--autoscale-min-instances, --autoscale-target-invocations needs --autoscale-max-instances",
        ),
        (["--autoscale-max-instances", "4", "--no-wait"], "leave out --no-wait"),
    ],
)
def test_bad_autoscaling_options_exit_2_before_any_aws_call(flags, message, role_arn, capsys):
    # no session is made: a request would need credentials and the network, which tests block
    assert main([*ARGV, "--role-arn", role_arn, *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err


def test_no_wait_is_refused_when_a_type_change_must_register_again(
    session, sagemaker_stub, aws_stub, cli_uses, role_arn, fixed_names, capsys
):
    cli_uses(session)
    aas, cw = aws_stub("application-autoscaling"), aws_stub("cloudwatch")
    expect_autoscaled_endpoint(sagemaker_stub, aas, live_type="ml.m5.large")
    expect_alarm_states(cw, names=(ERRORS_ALARM, LATENCY_ALARM), states={})
    argv = [*ARGV, "--role-arn", role_arn, "--traffic", "all-at-once", "--no-smoke-test", "--no-stack-alarm"]
    assert main([*argv, "--instance-type", "ml.m5.xlarge", "--no-wait"]) == 2
    assert "changes its instance type" in capsys.readouterr().err


# --- teardown, against moto ---------------------------------------------------------------------


def make_endpoint(sagemaker, role_arn, name):
    tags = [TAGS[0], {"Key": "endpoint", "Value": name}]
    sagemaker.create_model(
        ModelName=f"{name}-v1", PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=role_arn, Tags=tags
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-v1",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-v1",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
        Tags=tags,
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-v1", Tags=tags[:1])


def autoscale(client, name, high=4):
    scaling = autoscaling.scaling_requests(autoscaling.AutoscalingOptions(high), name, "AllTraffic", 1)
    autoscaling.apply(client, scaling)


def test_teardown_removes_the_policy_and_the_target_before_deleting_the_endpoint(
    moto_session, cli_uses, role_arn, capsys
):
    cli_uses(moto_session)
    sagemaker, aas = moto_session.client("sagemaker"), moto_session.client("application-autoscaling")
    staging = f"{ENDPOINT}-staging"
    for name in (ENDPOINT, staging):
        make_endpoint(sagemaker, role_arn, name)
        autoscale(aas, name)

    assert main(["teardown", "--endpoint-name", ENDPOINT, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would deregister autoscaling of {RESOURCE_ID}: 1..4 instances, {POLICY}\n" in out
    assert staging not in out
    assert len(aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]) == 2

    assert main(["teardown", "--endpoint-name", ENDPOINT]) == 0
    out = capsys.readouterr().out
    assert f"deregistering autoscaling of {RESOURCE_ID}: 1..4 instances, {POLICY}\n" in out
    assert (
        "Application Auto Scaling: deregistered 1 scalable targets "
        f"(project=scones-vehicle-classifier, endpoint {ENDPOINT})\n"
    ) in out
    left = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert [target["ResourceId"] for target in left] == [f"endpoint/{staging}/variant/AllTraffic"]
    policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert [policy["ResourceId"] for policy in policies] == [f"endpoint/{staging}/variant/AllTraffic"]

    # nothing registered any more: the second teardown works and says nothing of autoscaling
    assert main(["teardown", "--endpoint-name", ENDPOINT]) == 0
    assert "autoscaling" not in capsys.readouterr().out.lower()


def test_teardown_of_endpoints_never_autoscaled_says_nothing_of_it(moto_session, cli_uses, role_arn, capsys):
    cli_uses(moto_session)
    make_endpoint(moto_session.client("sagemaker"), role_arn, ENDPOINT)
    assert main(["teardown"]) == 0
    out = capsys.readouterr().out
    assert f"deleting endpoint {ENDPOINT}\n" in out and "autoscaling" not in out.lower()


def test_teardown_goes_on_when_it_may_not_list_autoscaling(
    moto_session, cli_uses, role_arn, monkeypatch, capsys
):
    cli_uses(moto_session)
    make_endpoint(moto_session.client("sagemaker"), role_arn, ENDPOINT)
    denied = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "DescribeScalableTargets"
    )

    def refuse(client, names):
        raise denied

    monkeypatch.setattr("training_job.teardown.find_endpoint_autoscaling", refuse)
    assert main(["teardown", "--endpoint-name", ENDPOINT]) == 0
    out = capsys.readouterr().out
    assert "warning: could not list the endpoints' autoscaling (not authorized)" in out
    assert "deleted 1 endpoints" in out
    assert moto_session.client("sagemaker").list_endpoints()["Endpoints"] == []


def test_the_constants_are_the_documented_names():
    assert (autoscaling.SERVICE_NAMESPACE, autoscaling.SCALABLE_DIMENSION, autoscaling.METRIC_TYPE) == (
        "sagemaker",
        "sagemaker:variant:DesiredInstanceCount",
        "SageMakerVariantInvocationsPerInstance",
    )
    assert autoscaling.resource_id("e", "v") == "endpoint/e/variant/v"
