"""What the deploy tests of training_job expect of SageMaker and CloudWatch: the names and ARNs
of one deploy at a fixed instant, the requests it sends (each checked against the API model, its
enums, maximums and patterns included), and the answers the Stubbers give back."""

from __future__ import annotations

import datetime
import re

import botocore.session

ENDPOINT = "vehicle-classifier"
STAMP = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
NOW = STAMP.timestamp()
NAME = f"{ENDPOINT}-20250102-030405"
OLD = f"{ENDPOINT}-20241231-235959"
ARN = "arn:aws:sagemaker:us-east-1:123456789012"
IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"
MODEL_DATA = "s3://scones-test-bucket/vehicle-classifier/output/job/output/model.tar.gz"
CAPTURE = "s3://scones-test-bucket/vehicle-classifier/data-capture"
TAGS = [{"Key": "project", "Value": "scones-vehicle-classifier"}, {"Key": "endpoint", "Value": ENDPOINT}]
STACK = "scones-vehicle-classifier"
STACK_ALARM = "scones-vehicle-classifier-LowConfidenceShareAlarm-1Q2W3E4R5T6Y"
ERRORS_ALARM = "scones-vehicle-classifier-rollback-vehicle-classifier-Invocation5XXErrors"
LATENCY_ALARM = "scones-vehicle-classifier-rollback-vehicle-classifier-ModelLatency"
ALARMS = [ERRORS_ALARM, LATENCY_ALARM, STACK_ALARM]
_MODELS = botocore.session.get_session()


def strictly_valid(service, operation, params):
    """The problems botocore's own validation leaves out: enums, maximums, patterns."""
    shape = _MODELS.get_service_model(service).operation_model(operation).input_shape
    problems = []
    _check(shape, params, operation, problems)
    return problems


def _check(shape, value, path, problems):
    meta = shape.metadata
    if shape.type_name == "structure":
        problems += [f"{path}.{name} missing" for name in shape.required_members if name not in value]
        for name, member in value.items():
            if name not in shape.members:
                problems.append(f"{path}.{name} unknown")
            else:
                _check(shape.members[name], member, f"{path}.{name}", problems)
        return
    if shape.type_name == "list":
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}[{index}]", problems)
    if shape.type_name == "boolean":
        return
    size = value if shape.type_name in ("integer", "long", "double", "float") else len(value)
    if ("min" in meta and size < meta["min"]) or ("max" in meta and size > meta["max"]):
        problems.append(f"{path}={value!r} outside {meta.get('min')}..{meta.get('max')}")
    if shape.type_name == "string":
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}={value!r} not one of {shape.enum}")
        try:
            pattern = re.compile(meta["pattern"]) if "pattern" in meta else None
        except re.error:  # Java-only classes such as \p{ASCII}: not checkable here
            pattern = None
        if pattern and not pattern.fullmatch(value):
            problems.append(f"{path}={value!r} does not match {meta['pattern']}")


def describe_endpoint(name, status, config_name, **extra):
    return {
        "EndpointName": name,
        "EndpointArn": f"{ARN}:endpoint/{name}",
        "EndpointConfigName": config_name,
        "EndpointStatus": status,
        "CreationTime": STAMP,
        "LastModifiedTime": STAMP,
        **extra,
    }


def expect_alarm_states(cw, names=tuple(ALARMS), states=None):
    states = states or {LATENCY_ALARM: "OK", STACK_ALARM: "OK"}  # the 5xx alarm: not made yet
    found = [{"AlarmName": name, "StateValue": state} for name, state in states.items()]
    cw.add_response("describe_alarms", {"MetricAlarms": found}, {"AlarmNames": list(names)})


def expect_model(sm, role_arn):
    """CreateModel as deploy sends it (the built-in algorithm's image), described back."""
    request = {
        "ModelName": NAME,
        "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": MODEL_DATA},
        "ExecutionRoleArn": role_arn,
        "Tags": TAGS,
    }
    assert strictly_valid("sagemaker", "CreateModel", request) == []
    sm.add_response("create_model", {"ModelArn": f"{ARN}:model/{NAME}"}, request)
    sm.add_response(
        "describe_model",
        {"ModelName": NAME, "ModelArn": f"{ARN}:model/{NAME}", "CreationTime": STAMP},
        {"ModelName": NAME},
    )


def serverless_config_request(serverless):
    """CreateEndpointConfig for a serverless endpoint, as the API reference shapes it: one variant
    with a ServerlessConfig (MemorySizeInMB, MaxConcurrency, ProvisionedConcurrency when asked)
    and no instance type, count, weight or DataCaptureConfig
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantServerlessConfig.html)."""
    return {
        "EndpointConfigName": NAME,
        "ProductionVariants": [
            {"VariantName": "AllTraffic", "ModelName": NAME, "ServerlessConfig": serverless}
        ],
        "Tags": TAGS,
    }


def expect_serverless_model_and_config(sm, role_arn, serverless):
    """CreateModel (described back) and a serverless CreateEndpointConfig, sent through the client."""
    expect_model(sm, role_arn)
    request = serverless_config_request(serverless)
    assert strictly_valid("sagemaker", "CreateEndpointConfig", request) == []
    sm.add_response("create_endpoint_config", {"EndpointConfigArn": f"{ARN}:endpoint-config/{NAME}"}, request)


def expect_model_and_config(sm, role_arn, instances=1, instance_type="ml.m5.large", sampling=100):
    """CreateModel and CreateEndpointConfig (with data capture) as deploy sends them, each described back."""
    expect_model(sm, role_arn)
    variants = [
        {
            "VariantName": "AllTraffic",
            "ModelName": NAME,
            "InitialInstanceCount": instances,
            "InstanceType": instance_type,
            "InitialVariantWeight": 1.0,
        }
    ]
    sm.add_response(
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
    sm.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": NAME,
            "EndpointConfigArn": f"{ARN}:endpoint-config/{NAME}",
            "ProductionVariants": variants,
            "CreationTime": STAMP,
        },
        {"EndpointConfigName": NAME},
    )


def alarm_requests(latency_ms=1000):
    dimensions = [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": "AllTraffic"}]
    common = {
        "ActionsEnabled": False,
        "Namespace": "AWS/SageMaker",
        "Dimensions": dimensions,
        "Period": 60,
        "EvaluationPeriods": 2,
        "DatapointsToAlarm": 2,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "Tags": TAGS,
    }
    return [
        {
            "AlarmName": ERRORS_ALARM,
            "AlarmDescription": "Rolls back a `training_job deploy` to endpoint vehicle-classifier: "
            "more than 5% of requests answered 5xx, 2 minutes running. Deleted by "
            "`python -m training_job teardown`.",
            "MetricName": "Invocation5XXErrors",
            "Statistic": "Average",
            "Threshold": 0.05,
            **common,
        },
        {
            "AlarmName": LATENCY_ALARM,
            "AlarmDescription": "Rolls back a `training_job deploy` to endpoint vehicle-classifier: "
            f"p90 ModelLatency above {latency_ms} ms, 2 minutes running. Deleted by "
            "`python -m training_job teardown`.",
            "MetricName": "ModelLatency",
            "ExtendedStatistic": "p90",
            "Threshold": latency_ms * 1000.0,
            **common,
        },
    ]


def expect_alarms_put(cw, latency_ms=1000):
    for request in alarm_requests(latency_ms):
        assert strictly_valid("cloudwatch", "PutMetricAlarm", request) == []
        cw.add_response("put_metric_alarm", {}, request)
