"""The local deploy records a CloudFormation stack that answers as the real one would."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from local_stack.aws import deploy, lambda_runtime
from local_stack.aws.sample_events import (
    SampleObjectMissing,
    objects_named_by_events,
    put_objects_named_by_events,
)
from local_stack.aws.stack_record import stack_template
from local_stack.aws.template import NO_VALUE, Template, make_resolver
from local_stack.errors import TemplateError
from local_stack.settings import EVENTS_DIR, STACK_NAME


@pytest.fixture
def deployed():
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        yield (
            session,
            deploy.deploy(session, endpoint_name="vehicle-classifier-local", bucket="scones-record"),
        )
        lambda_runtime.unregister_all()  # the functions' logs go to this moto, not the next test's


def test_describe_stacks_answers_every_output_of_the_template_with_the_local_values(deployed):
    session, stack = deployed
    described = session.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    assert set(outputs) == set(Template.load().body["Outputs"]) and outputs == stack.outputs
    assert outputs["ImageBucketName"] == "scones-record"
    assert outputs["ClassifyImageStateMachineArn"] == stack.state_machine_arn
    for logical_id, name in stack.function_names.items():
        assert outputs[f"{logical_id.removesuffix('Function')}FunctionName"] == name
    assert outputs["EndpointName"] == "vehicle-classifier-local"
    assert outputs["UploadLocation"] == "s3://scones-record/incoming/"
    # Refs to what the recorded stack created are CloudFormation's own answers
    assert outputs["AlarmTopicArn"] in [t["TopicArn"] for t in session.client("sns").list_topics()["Topics"]]
    assert outputs["UploadDeadLetterQueueUrl"] in session.client("sqs").list_queues()["QueueUrls"]
    assert outputs["ReviewQueueUrl"].endswith(f"/{STACK_NAME}-ReviewQueue")  # the local deploy's own
    # describe-stacks also shows what the stack was deployed with
    assert {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]} == stack.parameters


def test_the_log_groups_are_the_templates_and_the_state_machine_logs_to_its_own(deployed):
    session, stack = deployed
    groups = {g["logGroupName"]: g for g in session.client("logs").describe_log_groups()["logGroups"]}
    assert (
        set(groups)
        == set(stack.log_groups.values())
        == {
            f"/aws/lambda/{STACK_NAME}/SerializeImageData",
            f"/aws/lambda/{STACK_NAME}/ClassifyImage",
            f"/aws/lambda/{STACK_NAME}/FilterInferences",
            f"/aws/vendedlogs/states/{STACK_NAME}-classify-image",
            f"/aws/lambda/{STACK_NAME}/SummarizeBatch",
            f"/aws/vendedlogs/states/{STACK_NAME}-batch-classify",
        }
    )
    retention = int(Template.load().parameter_defaults()["LogRetentionInDays"])
    assert {g["retentionInDays"] for g in groups.values()} == {retention}
    machine = session.client("stepfunctions").describe_state_machine(stateMachineArn=stack.state_machine_arn)
    assert machine["loggingConfiguration"] == {
        "level": "ALL",
        "includeExecutionData": False,
        "destinations": [
            {
                "cloudWatchLogsLogGroup": {
                    "logGroupArn": groups[f"/aws/vendedlogs/states/{STACK_NAME}-classify-image"]["arn"]
                }
            }
        ],
    }


def test_a_second_deploy_updates_the_recorded_stack(deployed):
    session, first = deployed
    same = deploy.deploy(session, endpoint_name="vehicle-classifier-local", bucket="scones-record")
    assert same.outputs == first.outputs  # nothing to update is no failure
    again = deploy.deploy(
        session,
        endpoint_name="vehicle-classifier-local",
        bucket="scones-record",
        parameters={"ConfidenceThreshold": "0.5"},
    )
    described = session.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"]
    assert len(described) == 1
    assert {p["ParameterKey"]: p["ParameterValue"] for p in described[0]["Parameters"]}[
        "ConfidenceThreshold"
    ] == "0.5"
    assert again.outputs["ImageBucketName"] == "scones-record"


def test_an_output_the_local_stack_cannot_resolve_is_refused_by_name():
    template = Template(json.loads(json.dumps(Template.load().body)))
    template.body["Outputs"] = {"Nowhere": {"Value": {"Fn::GetAtt": ["NoSuchThing", "Arn"]}}}
    pseudo = {"AWS::StackName": "s", "AWS::Region": "us-east-1"}
    resolve = make_resolver({**template.parameter_defaults(), "EndpointName": "e"}, {}, pseudo)
    with pytest.raises(TemplateError, match=r"NoSuchThing\.Arn"):
        stack_template(template, resolve, {})


def test_conditions_decide_fn_if_as_cloudformation_does():
    template = Template(
        {
            "Conditions": {
                "On": {"Fn::Equals": [{"Ref": "Switch"}, "true"]},
                "Off": {"Fn::Not": [{"Condition": "On"}]},
                "Both": {
                    "Fn::And": [{"Condition": "On"}, {"Fn::Or": [{"Condition": "Off"}, {"Condition": "On"}]}]
                },
            },
            "Resources": {},
        }
    )
    value = {"Fn::If": ["On", "/opt/otel-instrument", {"Ref": "AWS::NoValue"}]}
    for switch, expected in (("false", NO_VALUE), ("true", "/opt/otel-instrument")):
        resolve = make_resolver({"Switch": switch}, {}, {})
        assert template.chosen(value, resolve) == expected
        assert template.condition_holds("Off", resolve) is (switch == "false")
        assert template.condition_holds("Both", resolve) is (switch == "true")
    with pytest.raises(TemplateError, match="no condition 'Nope'"):
        template.condition_holds("Nope", make_resolver({}, {}, {}))


def test_every_object_a_sample_event_names_is_a_committed_sample():
    objects = objects_named_by_events()
    assert "s3://scones-vehicle-images/images/bicycle_s_000035.png" in objects
    named = {
        f"s3://{e['s3_bucket']}/{e['s3_key']}"
        for e in (json.loads(p.read_text()) for p in EVENTS_DIR.glob("*.json"))
        if "s3_key" in e
    }
    assert set(objects) == named


def test_an_event_naming_a_missing_sample_is_refused_by_name(tmp_path):
    (tmp_path / "e.json").write_text('{"s3_bucket": "b-b-b", "s3_key": "images/nowhere.png"}')
    with pytest.raises(SampleObjectMissing, match=r"nowhere\.png"):
        objects_named_by_events(tmp_path, tmp_path)


def test_the_sample_objects_are_put_with_their_buckets():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        put = put_objects_named_by_events(
            s3,
            lambda client, name: deploy.create_bucket(client, name, "us-east-1"),
            objects_named_by_events(),
        )
        for uri in put:
            bucket, key = uri.removeprefix("s3://").split("/", 1)
            assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
