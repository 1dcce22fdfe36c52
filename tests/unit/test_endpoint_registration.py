"""``up`` registers its endpoint in the local SageMaker with the capacity it serves, so that
DescribeEndpoint answers as SageMaker does and a batch sizes itself from it; in-process moto with
the local stack's patches (the server's group, where the local SageMaker is served)."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from local_stack.aws import moto_patches
from local_stack.aws.endpoint_capacity import EndpointCapacity, capacity_from_endpoint_config
from local_stack.aws.moto_patches.endpoints import described_endpoint
from local_stack.client import batch
from local_stack.client.batch import BatchSizing, BatchStack
from local_stack.commands.batch import batch_sizing
from local_stack.errors import UsageError
from local_stack.processes.services import register_endpoint, with_endpoint_config

CAPTURE = "s3://scones/data-capture"


@pytest.fixture
def sagemaker(pristine_moto):
    moto_patches.install("server")
    with mock_aws():
        yield boto3.client("sagemaker", region_name="us-east-1")


def test_an_endpoint_of_two_instances_is_described_in_service_with_two_and_sizes_the_batch(sagemaker):
    register_endpoint(sagemaker, "e", EndpointCapacity(instance_count=2), CAPTURE, 40)

    described = sagemaker.describe_endpoint(EndpointName="e")
    (variant,) = described["ProductionVariants"]
    assert described["EndpointStatus"] == "InService"
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (2, 2)
    assert (variant["CurrentWeight"], variant["DesiredWeight"]) == (1.0, 1.0)
    assert described["DataCaptureConfig"] == {
        "EnableCapture": True,
        "CaptureStatus": "Started",
        "CurrentSamplingPercentage": 40,
        "DestinationS3Uri": CAPTURE,
    }
    config = sagemaker.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    assert capacity_from_endpoint_config(config) == {"instance_count": 2, "instance_type": "ml.m5.large"}
    # 2 x 2 instances x 3 = 12 in flight: 2 children of 6 photos
    sized = batch.endpoint_sizing(sagemaker, "e")
    assert (sized.max_concurrency, sized.batch_size) == (2, 6)


def test_a_serverless_endpoint_is_described_by_its_max_concurrency_without_capture(sagemaker):
    register_endpoint(sagemaker, "e", EndpointCapacity(max_concurrency=5), CAPTURE, 100)

    described = sagemaker.describe_endpoint(EndpointName="e")
    (variant,) = described["ProductionVariants"]
    assert variant["CurrentServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert "CurrentInstanceCount" not in variant and "DataCaptureConfig" not in described
    assert batch.endpoint_sizing(sagemaker, "e").in_flight == 4  # 2 children of 2: at most 5


def test_an_endpoint_config_already_there_sets_what_the_flags_leave_and_is_used_as_it_is(sagemaker):
    sagemaker.create_model(
        ModelName="m", PrimaryContainer={"Image": "i"}, ExecutionRoleArn="arn:aws:iam::1:role/r"
    )
    variant = {"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 3}
    sagemaker.create_endpoint_config(
        EndpointConfigName="e", ProductionVariants=[{**variant, "InstanceType": "ml.c5.xlarge"}]
    )

    fields = with_endpoint_config(sagemaker, "e", {})
    assert fields == {"instance_count": 3, "instance_type": "ml.c5.xlarge"}
    unregister = register_endpoint(sagemaker, "e", EndpointCapacity(**fields), None, 100)

    described = sagemaker.describe_endpoint(EndpointName="e")
    assert described["EndpointConfigName"] == "e"  # the config that was there, not a copy
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 3
    unregister()  # takes out the endpoint it made, not the config and model that were there
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]] == ["e"]


def test_an_endpoint_there_on_another_capacity_is_made_again_on_what_is_served(sagemaker):
    register_endpoint(sagemaker, "e", EndpointCapacity(), None, 100)
    unregister = register_endpoint(sagemaker, "e", EndpointCapacity(instance_count=4), None, 100)

    assert sagemaker.describe_endpoint(EndpointName="e")["ProductionVariants"][0]["CurrentInstanceCount"] == 4
    unregister()
    assert [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]] == ["e"]


def test_unregister_takes_out_the_model_config_and_endpoint_it_made(sagemaker):
    register_endpoint(sagemaker, "e", EndpointCapacity(), None, 100)()

    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
    assert sagemaker.list_models()["Models"] == []


def test_describe_endpoint_as_moto_answers_it_is_put_in_sagemakers_shape():
    moto_answer = {
        "EndpointName": "e",
        "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 1}],
        "DataCaptureConfig": {},
    }
    assert described_endpoint(moto_answer, {}) == {
        "EndpointName": "e",
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "CurrentInstanceCount": 1,
                "CurrentWeight": 1.0,
                "DesiredWeight": 1.0,
            }
        ],
    }
    stopped = described_endpoint(moto_answer, {"EnableCapture": False, "DestinationS3Uri": CAPTURE})
    assert stopped["DataCaptureConfig"]["CaptureStatus"] == "Stopped"
    assert moto_answer["DataCaptureConfig"] == {}  # moto's own answer untouched


def _batch_args(**given) -> argparse.Namespace:
    options = {"batch_max_concurrency": None, "batch_size": None, "endpoint_instances": None}
    return argparse.Namespace(**{**options, "per_instance_concurrency": None, **given})


STACK = BatchStack("arn:aws:states:us-east-1:123456789012:stateMachine:b", "scones", 3, "e")


def test_batch_sizes_itself_from_the_registered_endpoint_with_no_flag(sagemaker):
    register_endpoint(sagemaker, "e", EndpointCapacity(instance_count=2), None, 100)
    session = SimpleNamespace(client=lambda name: sagemaker)

    assert batch_sizing(_batch_args(), session, STACK) == BatchSizing(2, 6)
    assert batch_sizing(_batch_args(endpoint_instances=4), session, STACK) == BatchSizing(2, 10)


def test_batch_size_and_max_concurrency_given_size_the_batch_as_given(sagemaker):
    register_endpoint(sagemaker, "e", EndpointCapacity(), None, 100)
    session = SimpleNamespace(client=lambda name: sagemaker)

    given = _batch_args(batch_max_concurrency=100, batch_size=10)
    assert batch_sizing(given, session, STACK) == BatchSizing(100, 10)
    with pytest.raises(UsageError, match="give both"):
        batch_sizing(_batch_args(batch_size=10), session, STACK)
