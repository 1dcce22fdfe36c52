"""The local endpoint's capacity: the queueing model (pure, on a clock of our own), and the
endpoint answering as SageMaker does when it is full, through a werkzeug test client."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from werkzeug.test import Client

from local_stack.aws.endpoint_capacity import (
    CapacityError,
    EndpointCapacity,
    Schedule,
    Throttled,
    capacity_from_endpoint_config,
)
from local_stack.aws.sagemaker_endpoint import LocalEndpoint
from local_stack.settings import SAMPLES_DIR

PHOTO = sorted(Path(SAMPLES_DIR).glob("*.png"))[0].read_bytes()


@pytest.mark.parametrize(("workers", "requests", "service"), [(1, 5, 0.5), (2, 7, 0.25), (4, 16, 3.0)])
def test_the_kth_of_n_simultaneous_requests_finishes_at_ceil_k_over_c_times_s(workers, requests, service):
    schedule = Schedule(EndpointCapacity(workers_per_instance=workers), service)
    finishes = [schedule.take(now=0.0).finish_at for _ in range(requests)]
    assert finishes == [math.ceil(k / workers) * service for k in range(1, requests + 1)]


def test_instances_multiply_the_workers_and_the_type_sets_them_by_default():
    assert EndpointCapacity().workers == 2  # one ml.m5.large, 2 vCPUs
    assert EndpointCapacity(instance_count=3, instance_type="ml.m5.xlarge").workers == 12
    assert EndpointCapacity(instance_count=2, workers_per_instance=1).workers == 2
    assert EndpointCapacity(max_concurrency=7, instance_count=3).workers == 7
    assert EndpointCapacity().photos_per_second(0.004) == pytest.approx(500)


def test_a_request_arriving_later_waits_only_for_the_worker_free_first():
    schedule = Schedule(EndpointCapacity(workers_per_instance=2), 1.0)
    assert [schedule.take(0.0).finish_at for _ in range(3)] == [1.0, 1.0, 2.0]
    assert schedule.take(1.5).start_at == 1.5  # the second worker is free again at 1.0
    assert schedule.in_flight(1.6) == 2


def test_a_request_that_would_wait_past_the_invocation_timeout_times_out_at_it():
    schedule = Schedule(EndpointCapacity(workers_per_instance=1), 25.0)
    slots = [schedule.take(0.0) for _ in range(3)]
    assert [slot.timed_out for slot in slots] == [False, False, True]
    assert slots[2].answer_at == 60.0  # SageMaker's 60 s, not the 75 s its turn would take


def test_a_serverless_endpoint_throttles_past_its_max_concurrency_and_never_queues():
    schedule = Schedule(EndpointCapacity(max_concurrency=2), 1.0)
    schedule.take(0.0), schedule.take(0.0)
    with pytest.raises(Throttled):
        schedule.take(0.5)
    assert schedule.take(1.0).start_at == 1.0


def test_the_first_request_and_the_first_after_idle_wait_the_cold_start():
    schedule = Schedule(EndpointCapacity(workers_per_instance=4, cold_start_seconds=5, idle_seconds=60), 1.0)
    assert schedule.take(0.0).start_at == 5.0  # cold
    assert schedule.take(2.0).start_at == 5.0  # arrived during the cold start: waits its end
    assert schedule.take(30.0).start_at == 30.0  # warm
    assert schedule.take(30.0 + 1 + 59).start_at == 90.0  # 59 s after the last answer: warm
    assert schedule.take(200.0).start_at == 205.0  # idle for longer than 60 s: cold again


def test_without_an_idle_time_a_warm_endpoint_stays_warm():
    schedule = Schedule(EndpointCapacity(cold_start_seconds=5), 1.0)
    assert schedule.take(0.0).start_at == 5.0
    assert schedule.take(10_000.0).start_at == 10_000.0


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"max_concurrency": 201}, "MaxConcurrency 201"),
        ({"max_concurrency": 0}, "MaxConcurrency 0"),
        ({"instance_count": 0}, "instance count 0"),
        ({"instance_type": "ml.x9.huge"}, "instance type ml.x9.huge"),
        ({"service_seconds": 60.0}, "service time 60.0"),
        ({"cold_start_seconds": -1}, "cold start -1"),
        ({"idle_seconds": 0}, "idle time 0"),
    ],
)
def test_settings_sagemaker_would_not_take_are_refused_by_name(fields, named):
    with pytest.raises(CapacityError, match=named):
        EndpointCapacity(**fields)


def test_the_endpoint_config_gives_the_instances_or_the_serverless_concurrency():
    instances = {"ProductionVariants": [{"InitialInstanceCount": 3, "InstanceType": "ml.c5.xlarge"}]}
    serverless = {"ProductionVariants": [{"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}]}
    assert capacity_from_endpoint_config(instances) == {"instance_count": 3, "instance_type": "ml.c5.xlarge"}
    assert capacity_from_endpoint_config(serverless) == {"max_concurrency": 5}
    assert capacity_from_endpoint_config({}) == {}


# -- the endpoint, on a clock that moves only when told --------------------------------------


class FrozenClock:
    """Time stands still unless a test moves it; every sleep is recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def _endpoint(capacity: EndpointCapacity, clock: FrozenClock) -> Client:
    endpoint = LocalEndpoint("e", capacity=capacity, clock=clock, sleep=clock.sleep)
    return Client(endpoint)


def _invoke(client: Client):
    # signed as the administrator (moto's test key): the endpoint refuses an unsigned request, as AWS
    signed = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sagemaker/aws4_request, Signature=0"
    return client.post(
        "/endpoints/e/invocations", data=PHOTO, headers={"Content-Type": "image/png", "Authorization": signed}
    )


def test_the_endpoint_answers_a_request_at_its_turn_and_after_its_service_time():
    clock = FrozenClock()
    client = _endpoint(EndpointCapacity(workers_per_instance=1, service_seconds=2.0), clock)
    assert [_invoke(client).status_code for _ in range(3)] == [200, 200, 200]
    # each waited for its turn (0, 2, 4 s) and then until its answer (2 s later)
    assert clock.sleeps == [2.0, 2.0, 4.0, 4.0, 6.0]


def test_a_request_queued_past_60_s_gets_sagemakers_invocation_timeout():
    clock = FrozenClock()
    client = _endpoint(EndpointCapacity(workers_per_instance=1, service_seconds=25.0), clock)
    _invoke(client), _invoke(client)
    answer = _invoke(client)
    body = json.loads(answer.data)
    assert (answer.status_code, answer.headers["X-Amzn-ErrorType"]) == (424, "ModelError")
    assert body["OriginalStatusCode"] == 0  # what ClassifyImage's adapter retries as unavailable
    assert body["Message"].startswith("Received server error (0) from primary")
    assert clock.sleeps[-1] == 60.0


def test_a_serverless_endpoint_at_max_concurrency_answers_throttling_exception():
    clock = FrozenClock()
    client = _endpoint(EndpointCapacity(max_concurrency=1, service_seconds=1.0), clock)
    assert _invoke(client).status_code == 200  # its worker is busy until 1.0; the clock is at 0
    answer = _invoke(client)
    assert (answer.status_code, answer.headers["X-Amzn-ErrorType"]) == (400, "ThrottlingException")
    clock.now = 1.0
    assert _invoke(client).status_code == 200


def test_the_service_time_is_the_models_measured_time_unless_set():
    clock = FrozenClock()
    endpoint = LocalEndpoint("e", capacity=EndpointCapacity(), clock=clock, sleep=clock.sleep)
    endpoint.load()
    assert 0 < endpoint.service_seconds < 1.0
    assert LocalEndpoint("e").service_seconds is None  # no capacity: answers at once, as before
