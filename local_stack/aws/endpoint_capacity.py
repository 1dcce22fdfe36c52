"""How much a SageMaker endpoint can serve at once, and when each request is answered.

An instance-based endpoint has ``instance_count`` instances of ``instance_type``, each running
``workers_per_instance`` model workers (by default one per vCPU of the instance type, as the
built-in algorithms' model servers start one worker per vCPU); each request holds one worker
for ``service_seconds``. Requests beyond the workers queue, first come first served. SageMaker
has no throttle for an overloaded instance endpoint (InvokeEndpoint's errors list none:
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html);
the request waits, and one not answered within the 60 s SageMaker allows a container ends in
``ModelError`` with ``OriginalStatusCode`` 0 ("Your invocation timed out while waiting for a
response from container primary"), while a caller whose own read timeout is shorter sees
botocore's ``ReadTimeoutError`` first. A request that timed out still holds its worker, as the
container still works through its queue.

A serverless endpoint (``max_concurrency``, ProductionVariantServerlessConfig's MaxConcurrency,
1..200: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantServerlessConfig.html)
runs at most that many requests at once and throttles the others at once with
``ThrottlingException`` ("concurrent requests beyond MaxConcurrency are throttled":
https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-how-it-works.html).

A cold start (``cold_start_seconds``): the first request, and the first after ``idle_seconds``
without a request in flight, waits that long before any worker serves (a serverless endpoint
scaled to zero, or a model loading), and so do the requests that arrive meanwhile.

:class:`Schedule` is the model, pure: given the arrival time, it says when the request starts,
when it is answered, or that it is throttled; the endpoint sleeps until then.
"""

from __future__ import annotations

import heapq
import math
import threading
from dataclasses import dataclass

# SageMaker ends a real-time invocation the container has not answered within 60 s (InvokeEndpoint
# reference above; "Your model container must respond to requests within 60 seconds").
INVOCATION_TIMEOUT_SECONDS = 60.0
MAX_SERVERLESS_CONCURRENCY = 200

# vCPUs of the instance types this project deploys or names (https://aws.amazon.com/sagemaker/pricing/,
# "Instance details"); any other type needs --endpoint-workers.
INSTANCE_VCPUS = {
    "ml.t2.medium": 2,
    "ml.t2.large": 2,
    "ml.m5.large": 2,
    "ml.m5.xlarge": 4,
    "ml.m5.2xlarge": 8,
    "ml.m5.4xlarge": 16,
    "ml.c5.large": 2,
    "ml.c5.xlarge": 4,
    "ml.c5.2xlarge": 8,
    "ml.c5.4xlarge": 16,
    "ml.g4dn.xlarge": 4,
}
DEFAULT_INSTANCE_TYPE = "ml.m5.large"


class CapacityError(ValueError):
    """A capacity setting outside what SageMaker allows, or one the model cannot size."""


@dataclass(frozen=True)
class EndpointCapacity:
    """What the endpoint can serve at once. ``service_seconds`` None: the model's time, measured."""

    instance_count: int = 1
    instance_type: str = DEFAULT_INSTANCE_TYPE
    workers_per_instance: int | None = None
    service_seconds: float | None = None
    max_concurrency: int | None = None  # set: a serverless endpoint (instances ignored)
    cold_start_seconds: float = 0.0
    idle_seconds: float | None = None  # None: once warm, warm for ever
    invocation_timeout_seconds: float = INVOCATION_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if self.max_concurrency is not None and not 1 <= self.max_concurrency <= MAX_SERVERLESS_CONCURRENCY:
            raise CapacityError(
                f"MaxConcurrency {self.max_concurrency}: must lie in 1..{MAX_SERVERLESS_CONCURRENCY}"
            )
        if self.instance_count < 1:
            raise CapacityError(f"instance count {self.instance_count}: must be at least 1")
        if self.workers_per_instance is None and self.instance_type not in INSTANCE_VCPUS:
            raise CapacityError(
                f"instance type {self.instance_type}: its vCPUs are not known here; give the "
                f"workers per instance (known: {', '.join(sorted(INSTANCE_VCPUS))})"
            )
        if self.workers_per_instance is not None and self.workers_per_instance < 1:
            raise CapacityError(f"workers per instance {self.workers_per_instance}: must be at least 1")
        timeout = self.invocation_timeout_seconds
        if self.service_seconds is not None and not 0 <= self.service_seconds < timeout:
            raise CapacityError(
                f"service time {self.service_seconds} s: must lie in 0..{self.invocation_timeout_seconds:g} s"
            )
        if self.cold_start_seconds < 0:
            raise CapacityError(f"cold start {self.cold_start_seconds} s: must be 0 or more")
        if self.idle_seconds is not None and self.idle_seconds <= 0:
            raise CapacityError(f"idle time {self.idle_seconds} s: must be more than 0")

    @property
    def serverless(self) -> bool:
        return self.max_concurrency is not None

    @property
    def workers(self) -> int:
        """Requests served at once."""
        if self.max_concurrency is not None:
            return self.max_concurrency
        per_instance = self.workers_per_instance or INSTANCE_VCPUS[self.instance_type]
        return self.instance_count * per_instance

    def photos_per_second(self, service_seconds: float) -> float:
        """Steady-state capacity at ``service_seconds`` a request."""
        return math.inf if service_seconds <= 0 else self.workers / service_seconds


def capacity_from_endpoint_config(config: dict) -> dict:
    """The capacity fields a DescribeEndpointConfig answer sets (its first production variant):
    ``instance_count`` and ``instance_type``, or ``max_concurrency`` for a serverless variant."""
    variants = config.get("ProductionVariants") or []
    if not variants:
        return {}
    variant = variants[0]
    serverless = variant.get("ServerlessConfig")
    if serverless:
        return {"max_concurrency": int(serverless["MaxConcurrency"])}
    fields: dict = {}
    if variant.get("InitialInstanceCount"):
        fields["instance_count"] = int(variant["InitialInstanceCount"])
    if variant.get("InstanceType"):
        fields["instance_type"] = variant["InstanceType"]
    return fields


@dataclass(frozen=True)
class Slot:
    """When one request starts and is answered (``answer_at``); ``timed_out``: at ``answer_at``
    it gets SageMaker's invocation timeout instead of the model's answer."""

    arrived_at: float
    start_at: float
    finish_at: float
    timed_out: bool
    answer_at: float


class Throttled(Exception):
    """A serverless endpoint at its MaxConcurrency."""


class Schedule:
    """The endpoint's workers as the times each becomes free; thread-safe. ``take(now)`` places
    a request arriving at ``now`` on the worker free first (so the k-th of N simultaneous
    requests finishes at ceil(k / workers) * service_seconds)."""

    def __init__(self, capacity: EndpointCapacity, service_seconds: float) -> None:
        self.capacity = capacity
        self.service_seconds = service_seconds
        self._free_at = [-math.inf] * capacity.workers
        self._ready_at = -math.inf  # the end of the current (or last) cold start
        self._warm_until = -math.inf  # cold again after this, if nothing arrives
        self._lock = threading.Lock()

    def take(self, now: float) -> Slot:
        """Reserve a worker for a request arriving at ``now``; raise Throttled where a serverless
        endpoint has none free."""
        capacity = self.capacity
        with self._lock:
            if capacity.serverless and self._free_at[0] > now:
                raise Throttled(f"MaxConcurrency {capacity.max_concurrency} reached")
            if capacity.cold_start_seconds and now >= self._warm_until and now >= self._ready_at:
                self._ready_at = now + capacity.cold_start_seconds
            free_at = heapq.heappop(self._free_at)
            start_at = max(now, free_at, self._ready_at)
            finish_at = start_at + self.service_seconds
            heapq.heappush(self._free_at, finish_at)
            if capacity.idle_seconds is None:
                self._warm_until = math.inf
            else:
                self._warm_until = max(self._warm_until, finish_at + capacity.idle_seconds)
        deadline = now + capacity.invocation_timeout_seconds
        timed_out = finish_at > deadline
        return Slot(now, start_at, finish_at, timed_out, deadline if timed_out else finish_at)

    def in_flight(self, now: float) -> int:
        """Requests whose worker is still busy at ``now``."""
        with self._lock:
            return sum(1 for free_at in self._free_at if free_at > now)


# What the local endpoint is registered as in the local SageMaker (``processes.services``), so that
# DescribeEndpoint answers what it serves: one variant, as training_job deploys it.
VARIANT_NAME = "AllTraffic"
# the built-in image-classification algorithm's image in us-east-1, whose contract (image/png in,
# [p_bicycle, p_motorcycle] out) the local model serves
# (https://docs.aws.amazon.com/sagemaker/latest/dg-ecr-paths/ecr-us-east-1.html)
MODEL_IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"
# a serverless variant's MemorySizeInMB (1024..6144, a multiple of 1024), as training_job deploys one
SERVERLESS_MEMORY_MB = 2048


def registered_fields(capacity: EndpointCapacity) -> dict:
    """What an endpoint config says of ``capacity`` (``capacity_from_endpoint_config``'s fields)."""
    if capacity.serverless:
        return {"max_concurrency": capacity.max_concurrency}
    return {"instance_count": capacity.instance_count, "instance_type": capacity.instance_type}


def endpoint_config_request(
    config_name: str,
    model_name: str,
    capacity: EndpointCapacity,
    capture_uri: str | None = None,
    sampling_percentage: int = 100,
) -> dict:
    """CreateEndpointConfig for an endpoint that serves like ``capacity``: a ProductionVariant of
    ``InitialInstanceCount`` x ``InstanceType``, or a ``ServerlessConfig`` (which takes no data
    capture, as SageMaker refuses it for serverless variants); data capture into ``capture_uri``
    when given (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html)."""
    variant: dict = {"VariantName": VARIANT_NAME, "ModelName": model_name, "InitialVariantWeight": 1.0}
    if capacity.serverless:
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": SERVERLESS_MEMORY_MB,
            "MaxConcurrency": capacity.max_concurrency,
        }
    else:
        variant["InitialInstanceCount"] = capacity.instance_count
        variant["InstanceType"] = capacity.instance_type
    request: dict = {"EndpointConfigName": config_name, "ProductionVariants": [variant]}
    if capture_uri is not None and not capacity.serverless:
        request["DataCaptureConfig"] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": sampling_percentage,
            "DestinationS3Uri": capture_uri,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        }
    return request
