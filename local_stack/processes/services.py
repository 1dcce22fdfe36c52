"""Start the local AWS, each part on a free loopback port: a moto server in this process (IAM,
Lambda, Step Functions with its ASL interpreter, which hands our handlers' invocations to the
execution environments that ``stack.deploy`` starts), and two more in processes of their own:
S3 (a second moto server) and the SageMaker Runtime endpoint."""

from __future__ import annotations

import json
import logging
import os
import sys
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from local_stack import lambda_bridge
from local_stack.child_server import ChildServer
from local_stack.endpoint_process import EndpointSettings, start_endpoint_process
from local_stack.execution_environment import ExecutionEnvironments
from local_stack.s3_process import start_s3_process
from local_stack.wsgi_server import ServingHandle, serve

REGION = "us-east-1"
LOOPBACK = "127.0.0.1"
DEFAULT_ENDPOINT_NAME = "vehicle-classifier-local"
DEFAULT_BUCKET = "scones-vehicle-images-local"
CAPTURE_PREFIX = "data-capture"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
_STACK_SETTINGS = (
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
    "MOTO_PORT",
    "POWERTOOLS_TRACE_DISABLED",
)


@dataclass
class LocalServices:
    moto: ServingHandle
    endpoint_name: str
    bucket: str
    s3: ChildServer | None = None  # once started
    endpoint: ChildServer | None = None  # once started
    capture_prefix: str = CAPTURE_PREFIX
    # the functions' worker processes, once deployed into them (local_stack.execution_environment)
    execution_environments: ExecutionEnvironments | None = None
    saved_environment: dict[str, str | None] = field(default_factory=dict, repr=False)
    restore: tuple = field(default=(None, None), repr=False)  # (stdout before start, function log)
    closed: bool = field(default=False, repr=False)

    @property
    def moto_url(self) -> str:
        return self.moto.url

    @property
    def environment(self) -> dict[str, str]:
        """What boto3, the aws CLI and our own code need to talk to this stack."""
        return {
            **FAKE_CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ENDPOINT_URL_S3": self.s3.url,
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.endpoint.url,
        }

    def session(self) -> boto3.Session:
        return boto3.Session(region_name=REGION)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.execution_environments is not None:
                self.execution_environments.close()  # first: no handler calls S3 or the endpoint after
            if self.endpoint is not None:
                self.endpoint.close()  # flushes the data capture into S3 first; raises if that failed
        finally:
            try:
                if self.s3 is not None:
                    self.s3.close()
            finally:
                self.moto.close()
            lambda_bridge.unregister_all()
            previous_stdout, sink = self.restore
            if previous_stdout is not None:
                sys.stdout = previous_stdout
            if sink is not None:
                sink.close()
            lambda_bridge.restore_environment(self.saved_environment)


def start(
    *,
    model_path: Path,
    endpoint_name: str = DEFAULT_ENDPOINT_NAME,
    bucket: str = DEFAULT_BUCKET,
    sampling_percentage: int = 100,
    endpoint_fail_rate: float = 0.0,
    endpoint_latency_ms: float = 0.0,
    seed: int | None = None,
    function_log: Path | None = None,
) -> LocalServices:
    """Start everything and point this process's AWS settings at it (until ``close``)."""
    saved = {name: os.environ.get(name) for name in (*FAKE_CREDENTIALS, *_STACK_SETTINGS)}
    # moto's interpreter logs each Catch-ed error at ERROR level with the whole state tree; the
    # execution history already holds it.
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
    moto = serve(lambda_bridge.moto_app(), host=LOOPBACK, port=0, name="moto")
    # moto's interpreter calls AWS services back on MOTO_PORT (moto's own server sets it).
    os.environ["MOTO_PORT"] = str(moto.port)
    # The functions' JSON logs and EMF metrics (CloudWatch's share in AWS) go to function_log,
    # or nowhere, instead of between the lines of the run's table.
    sink = function_log.open("a") if function_log else None
    previous_stdout, sys.stdout = sys.stdout, lambda_bridge.FunctionOutput(sys.stdout, sink)
    services = LocalServices(
        moto, endpoint_name, bucket, saved_environment=saved, restore=(previous_stdout, sink)
    )
    try:
        _post_json(f"{moto.url}/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
        os.environ.update({**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": moto.url})
        # No X-Ray daemon here. (Metrics stay on: Powertools 3.37 with POWERTOOLS_METRICS_DISABLED
        # never clears its metric set, and prints it every 100 values anyway.)
        os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
        # Powertools warns on every invocation that ends before adding a metric (the failure paths).
        warnings.filterwarnings("ignore", message="No application metrics to publish")

        services.s3 = start_s3_process(LOOPBACK)
        os.environ["AWS_ENDPOINT_URL_S3"] = services.s3.url
        boto3.client("s3", region_name=REGION, endpoint_url=services.s3.url).create_bucket(Bucket=bucket)
        services.endpoint = start_endpoint_process(
            EndpointSettings(
                endpoint_name=endpoint_name,
                model_path=Path(model_path),
                s3_url=services.s3.url,
                bucket=bucket,
                capture_prefix=CAPTURE_PREFIX,
                sampling_percentage=sampling_percentage,
                fail_rate=endpoint_fail_rate,
                latency_ms=endpoint_latency_ms,
                seed=seed,
                host=LOOPBACK,
                region=REGION,
            )
        )
    except BaseException:
        services.close()  # stop moto and give back the environment and stdout
        raise
    os.environ["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = services.endpoint.url
    return services


def _post_json(url: str, body: dict) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
