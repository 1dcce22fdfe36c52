"""Start the local AWS, each part on a free loopback port: a moto server in this process (IAM,
Lambda, Step Functions with its ASL interpreter, which hands our handlers' invocations to the
execution environments that ``aws.deploy`` starts), and two more in processes of their own:
S3 (a second moto server) and the SageMaker Runtime endpoint, which a ``supervisor`` restarts
on the same URL if they die."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from local_stack.aws import lambda_concurrency_limits, lambda_runtime, moto_patches
from local_stack.aws.endpoint_capacity import (
    MODEL_IMAGE,
    EndpointCapacity,
    capacity_from_endpoint_config,
    endpoint_config_request,
    registered_fields,
)
from local_stack.aws.function_logs import FunctionOutput
from local_stack.aws.iam import enforcement, principals
from local_stack.aws.lambda_concurrency_limits import DEFAULT_ACCOUNT_CONCURRENCY
from local_stack.aws.upload_trigger import ArmedRule, UploadRule
from local_stack.process_state import ProcessState
from local_stack.processes.child_server import ChildServer
from local_stack.processes.endpoint_server import EndpointSettings, start_endpoint_server
from local_stack.processes.execution_environments import ExecutionEnvironments
from local_stack.processes.s3_server import arm_upload_trigger, start_s3_server
from local_stack.processes.supervisor import Supervisor
from local_stack.settings import (
    ACCOUNT_ID,
    CAPTURE_PREFIX,
    DEFAULT_BUCKET,
    DEFAULT_ENDPOINT_NAME,
    DEFAULT_RETAIN_EXECUTIONS,
    DEFAULT_RETAIN_LOG_EVENTS,
    FAKE_CREDENTIALS,
    LOOPBACK,
    REGION,
)
from scones_core.wsgi_server import ServingHandle, serve


@dataclass
class LocalServices:
    moto: ServingHandle
    endpoint_name: str
    bucket: str
    process_state: ProcessState = field(repr=False)  # what ``start`` changed in this process
    s3: ChildServer | None = None  # once started
    endpoint: ChildServer | None = None  # once started
    capture_prefix: str = CAPTURE_PREFIX
    # the functions' worker processes, once deployed into them (processes.execution_environments)
    execution_environments: ExecutionEnvironments | None = None
    supervisor: Supervisor | None = None  # restarts S3 and the endpoint, once both started
    # takes out of the local SageMaker what ``start`` registered there for the endpoint
    unregister_endpoint: Callable[[], None] | None = field(default=None, repr=False)
    # where an upload starts an execution (the template's UploadLocation), once armed
    upload_location: str | None = None
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

    def arm_upload_trigger(self, rule: UploadRule, location: str) -> None:
        """From now on an upload that ``rule`` matches (at ``location``) starts an execution on
        this stack's Step Functions, as the bucket's EventBridge rule does in AWS; S3 keeps the
        rule across its restarts."""
        arm_upload_trigger(self.s3, ArmedRule(rule, endpoint_url=self.moto_url, region=REGION))
        self.upload_location = location

    def close(self) -> None:
        """Stop everything, the functions first (no handler calls S3 after), the endpoint
        before S3 (it flushes its data capture into S3; raises if that failed), and give this
        process's settings back whatever failed on the way. The endpoint is asked first: it
        drops its queue at once (child_server), so that a function waiting in that queue ends
        now instead of at its timeout, and each part stops within its bound."""
        if self.closed:
            return
        self.closed = True
        if self.supervisor is not None:
            self.supervisor.stop()  # a server stopped from here on is not one that died
        if self.endpoint is not None:
            self.endpoint.ask_to_stop()
        try:
            if self.execution_environments is not None:
                self.execution_environments.close()
            if self.endpoint is not None:
                self.endpoint.close()
        finally:
            try:
                if self.s3 is not None:
                    self.s3.close()
            finally:
                lambda_runtime.unregister_all()  # sends their last lines while moto still serves
                if self.unregister_endpoint is not None:
                    self.unregister_endpoint()
                self.moto.close()
                self.process_state.restore()


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
    retain_executions: int = DEFAULT_RETAIN_EXECUTIONS,
    endpoint_capacity: dict | None = None,
    lambda_concurrency: int = DEFAULT_ACCOUNT_CONCURRENCY,
    iam: bool = True,
    retain_log_events: int = DEFAULT_RETAIN_LOG_EVENTS,
) -> LocalServices:
    """Start everything and point this process's AWS settings at it (until ``close``); the
    Step Functions here keep ``retain_executions`` ended executions per state machine, the
    CloudWatch Logs ``retain_log_events`` events per log group."""
    state = ProcessState()
    previous_concurrency = lambda_concurrency_limits.set_account_limit(lambda_concurrency)
    state.on_restore(lambda: lambda_concurrency_limits.set_account_limit(previous_concurrency))
    # moto's PutFunctionConcurrency keeps the unreserved 100 only with this quota set
    state.set_environment({"MOTO_LAMBDA_CONCURRENCY_QUOTA": str(lambda_concurrency)})
    previous_limit = moto_patches.keep_ended_executions(retain_executions)
    state.on_restore(lambda: moto_patches.keep_ended_executions(previous_limit))
    previous_log_limit = moto_patches.keep_log_events(retain_log_events)
    state.on_restore(lambda: moto_patches.keep_log_events(previous_log_limit))
    # moto's interpreter logs each Catch-ed error at ERROR level with the whole state tree; the
    # execution history already holds it.
    state.set_log_level("moto.stepfunctions.parser", logging.CRITICAL)
    # The functions' JSON logs and EMF metrics (CloudWatch's share in AWS) go to function_log,
    # or nowhere, instead of between the lines of the run's table.
    sink = function_log.open("a") if function_log else None
    if sink is not None:
        state.on_restore(sink.close)
    state.set_stdout(FunctionOutput(sys.stdout, sink))
    if not iam:  # ``up --no-iam``: this process and the servers it starts check nothing
        state.set_environment({enforcement.SWITCH_VARIABLE: "off"})
    try:
        app = principals.with_principal_route(moto_patches.moto_app())
        moto = serve(app, host=LOOPBACK, port=0, name="moto")
    except BaseException:
        state.restore()
        raise
    services = LocalServices(moto, endpoint_name, bucket, process_state=state)
    try:
        # moto's interpreter calls AWS services back on MOTO_PORT (moto's own server sets it).
        # the S3 and endpoint processes look principals up here (``iam.principals``)
        state.set_environment({"MOTO_PORT": str(moto.port), principals.PRINCIPALS_URL_VARIABLE: moto.url})
        _post_json(f"{moto.url}/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
        state.set_environment(
            {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": moto.url}
        )
        # (Metrics stay on: Powertools 3.37 with POWERTOOLS_METRICS_DISABLED never clears its
        # metric set, and prints it every 100 values anyway.)
        # Powertools warns on every invocation that ends before adding a metric (the failure paths).
        state.ignore_warning("No application metrics to publish")

        services.s3 = start_s3_server(LOOPBACK)
        state.set_environment({"AWS_ENDPOINT_URL_S3": services.s3.url})
        boto3.client("s3", region_name=REGION, endpoint_url=services.s3.url).create_bucket(Bucket=bucket)
        sagemaker = _sagemaker(moto.url)
        capacity = with_endpoint_config(sagemaker, endpoint_name, endpoint_capacity)
        # DescribeEndpoint answers what the endpoint serves (unlimited: as the flags describe it)
        services.unregister_endpoint = register_endpoint(
            sagemaker,
            endpoint_name,
            EndpointCapacity(**(capacity or {})),
            f"s3://{bucket}/{CAPTURE_PREFIX.strip('/')}" if sampling_percentage else None,
            sampling_percentage,
        )
        services.endpoint = start_endpoint_server(
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
                capacity=capacity,
                host=LOOPBACK,
                region=REGION,
            )
        )
        state.set_environment({"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": services.endpoint.url})
        services.supervisor = Supervisor([services.s3, services.endpoint])
    except BaseException:
        services.close()  # stop what started and give back the environment and stdout
        raise
    return services


def _sagemaker(moto_url: str):
    return boto3.client(
        "sagemaker",
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def with_endpoint_config(sagemaker, endpoint_name: str, capacity: dict | None) -> dict | None:
    """``capacity`` over what the local SageMaker's endpoint config for ``endpoint_name`` says
    (InstanceCount, InstanceType, ServerlessConfig): the endpoint's, else a config of that name,
    where there is one; None: unlimited."""
    if capacity is None:
        return None
    config = _existing_endpoint_config(sagemaker, endpoint_name)
    return {**capacity_from_endpoint_config(config), **capacity} if config else capacity


def _existing_endpoint_config(sagemaker, endpoint_name: str) -> dict | None:
    try:
        config_name = sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
    except sagemaker.exceptions.ClientError:  # no endpoint (a fresh stack): a config of its name?
        config_name = endpoint_name
    try:
        return sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    except sagemaker.exceptions.ClientError:
        return None


def register_endpoint(
    sagemaker,
    endpoint_name: str,
    capacity: EndpointCapacity,
    capture_uri: str | None,
    sampling_percentage: int,
) -> Callable[[], None]:
    """Make the local SageMaker describe ``endpoint_name`` as it serves (CreateModel,
    CreateEndpointConfig, CreateEndpoint: InService at once, as moto makes it), reusing a model or
    an endpoint config already there that says the same; an endpoint already there on a config that
    says otherwise is made again on a new one (moto has no UpdateEndpoint). Returns what takes out
    again what this made."""
    made: list[tuple[str, dict]] = []  # (the Delete* call, its parameters), newest last
    wanted = registered_fields(capacity)
    existing = _existing_endpoint_config(sagemaker, endpoint_name)
    try:
        sagemaker.describe_endpoint(EndpointName=endpoint_name)
        endpoint_there = True
    except sagemaker.exceptions.ClientError:
        endpoint_there = False
    if endpoint_there and existing and capacity_from_endpoint_config(existing) == wanted:
        return lambda: None
    if existing and capacity_from_endpoint_config(existing) == wanted:
        config_name = existing["EndpointConfigName"]
    else:
        model_name = existing["ProductionVariants"][0]["ModelName"] if existing else endpoint_name
        try:
            sagemaker.describe_model(ModelName=model_name)
        except sagemaker.exceptions.ClientError:
            sagemaker.create_model(
                ModelName=model_name,
                PrimaryContainer={"Image": MODEL_IMAGE},
                ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{endpoint_name}-local-model",
            )
            made.append(("delete_model", {"ModelName": model_name}))
        config_name = endpoint_name if existing is None else f"{endpoint_name}-{uuid.uuid4().hex[:8]}"
        sagemaker.create_endpoint_config(
            **endpoint_config_request(config_name, model_name, capacity, capture_uri, sampling_percentage)
        )
        made.append(("delete_endpoint_config", {"EndpointConfigName": config_name}))
    if endpoint_there:
        sagemaker.delete_endpoint(EndpointName=endpoint_name)
    sagemaker.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name)
    made.append(("delete_endpoint", {"EndpointName": endpoint_name}))

    def unregister() -> None:
        for call, parameters in reversed(made):
            with contextlib.suppress(sagemaker.exceptions.ClientError):
                getattr(sagemaker, call)(**parameters)

    return unregister


def _post_json(url: str, body: dict) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
