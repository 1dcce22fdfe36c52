"""The local SageMaker Runtime endpoint in a process of its own (see ``child_server``): the
model's inference and the endpoint's HTTP work use another core than moto and the handlers.

Its data capture goes to the local S3 over HTTP in small files, one at least every
``CAPTURE_FLUSH_SECONDS``, as SageMaker writes its capture as it goes: an endpoint killed
(``kill -9``, out of memory) loses at most the records of its last second or so, never the
whole run's. On a stop the rest is flushed before the process exits, and a failed flush
is its exit code, which ``close`` turns into a ``LocalStackError``.

A stop never waits for the queue: what waits for a worker is dropped (its caller's connection
closes, as a terminated instance's does), and the capture gets a bounded try
(``sagemaker_endpoint.CAPTURE_CLOSE_SECONDS``; its S3 client gives up after a few attempts of a
few seconds each, not botocore's defaults of 60 s a read), so the process is gone within
``child_server.STOP_SECONDS`` even when S3 has gone first.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from local_stack.aws.endpoint_capacity import EndpointCapacity
from local_stack.processes.child_server import ChildServer, serve_until_stopped, start_child_server
from local_stack.settings import LOOPBACK, REGION

# A record waits at most this long in the endpoint's memory. One PUT a second costs the S3
# process little (bench at c=16, S3's CPU per execution: 2.7-3.1 ms at 5 s, 2.4-2.7 ms at 1 s).
CAPTURE_FLUSH_SECONDS = 1.0
# S3 is on this machine: a write that takes longer has failed (and the timer tries it again)
CAPTURE_S3_CONFIG = {
    "connect_timeout": 2,
    "read_timeout": 10,
    "retries": {"mode": "standard", "total_max_attempts": 2},
}
ENDPOINT_THREADS = 256


@dataclass(frozen=True)
class EndpointSettings:
    """What the endpoint's process needs; plain values, so that they travel as JSON."""

    endpoint_name: str
    model_path: Path
    s3_url: str
    bucket: str
    capture_prefix: str
    sampling_percentage: int = 100
    fail_rate: float = 0.0
    latency_ms: float = 0.0
    seed: int | None = None
    # the endpoint's capacity (aws.endpoint_capacity.EndpointCapacity's fields), None: unlimited
    capacity: dict | None = None
    host: str = LOOPBACK
    region: str = REGION

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "model_path": str(self.model_path)})

    @classmethod
    def from_json(cls, text: str) -> EndpointSettings:
        fields = json.loads(text)
        return cls(**{**fields, "model_path": Path(fields["model_path"])})


def start_endpoint_server(settings: EndpointSettings) -> ChildServer:
    """Start the endpoint in a new process and wait until it serves; raise if it cannot start."""
    return start_child_server(
        "local_stack.processes.endpoint_server", settings.to_json(), "local endpoint", settings.host
    )


def _start(argument: str, listener):
    settings = EndpointSettings.from_json(argument)

    import boto3
    from botocore.config import Config

    from local_stack.aws.data_capture import DataCaptureWriter
    from local_stack.aws.sagemaker_endpoint import LocalEndpoint
    from local_stack.settings import FAKE_CREDENTIALS
    from scones_core.wsgi_server import serve

    s3 = boto3.client(
        "s3",
        region_name=settings.region,
        endpoint_url=settings.s3_url,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(**CAPTURE_S3_CONFIG),
    )
    capture = DataCaptureWriter(
        s3,
        bucket=settings.bucket,
        prefix=settings.capture_prefix,
        endpoint_name=settings.endpoint_name,
        sampling_percentage=settings.sampling_percentage,
        max_seconds=CAPTURE_FLUSH_SECONDS,
    )
    endpoint = LocalEndpoint(
        settings.endpoint_name,
        settings.model_path,
        capture=capture,
        fail_rate=settings.fail_rate,
        latency_ms=settings.latency_ms,
        seed=settings.seed,
        capacity=EndpointCapacity(**settings.capacity) if settings.capacity is not None else None,
    )
    # each queued request holds a server thread while it waits; a request past the threads would
    # wait in the socket's backlog, out of the schedule's sight
    # (its close flushes the capture)
    return serve(endpoint, name="endpoint", listener=listener, threads=ENDPOINT_THREADS)


if __name__ == "__main__":
    sys.exit(serve_until_stopped(_start))
