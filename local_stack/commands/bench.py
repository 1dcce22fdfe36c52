"""``python -m local_stack bench``: executions/s through the whole local stack, against the
same three handlers and the model called directly in a loop (the floor any stack can reach).

The stack runs as ``up`` in a child process, driven from this one as a client of AWS would; the
CPU per execution of both sides is printed, so that runs on a busy machine still compare."""

from __future__ import annotations

import contextlib
import io
import json
import time
import warnings
from itertools import cycle, islice

import boto3
from botocore.response import StreamingBody
from moto import mock_aws

from local_stack.aws import lambda_runtime
from local_stack.aws.deploy import FUNCTION_IDS
from local_stack.aws.template import Template, make_resolver
from local_stack.client import images, results
from local_stack.client.executions import run_executions
from local_stack.client.images import ImageToRun
from local_stack.processes.stack_process import start_stack_process
from local_stack.settings import SAMPLES_DIR, SAMPLES_LST
from training_job.local_model import MODEL_PATH
from training_job.local_model.inference import load_session, predict_probabilities
from training_job.local_model.preprocess import decode_image


class _ModelAsEndpoint:
    """Stands in for the sagemaker-runtime client: the model called in-process, no HTTP."""

    def __init__(self) -> None:
        self.session = load_session(MODEL_PATH)

    def invoke_endpoint(self, *, Body: bytes, **_: object) -> dict:
        answer = json.dumps(
            predict_probabilities(self.session, decode_image(Body)[None])[0].tolist()
        ).encode()
        return {"Body": StreamingBody(io.BytesIO(answer), len(answer))}


def direct_loop(to_run: list[ImageToRun]) -> float:
    """Images/s calling the three handlers in order (S3 in-process moto), no Step Functions."""
    template = Template.load()
    resolve = make_resolver(
        {**template.parameter_defaults(), "EndpointName": "bench", "LogLevel": "WARNING"}, {}, {}
    )
    with mock_aws():
        handlers = {
            logical_id: lambda_runtime.load_function(
                template.function_code_dir(logical_id), template.function_environment(logical_id, resolve)
            )
            for logical_id in FUNCTION_IDS
        }
        model = _ModelAsEndpoint()
        handlers["ClassifyImageFunction"].endpoint.sagemaker_runtime_client = lambda: model
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bench")
        for image in {i.path.name: i for i in to_run}.values():
            s3.put_object(Bucket="bench", Key=image.path.name, Body=image.path.read_bytes())
        with contextlib.redirect_stdout(io.StringIO()):  # the handlers' logs and EMF metrics
            return _classify_all(to_run, handlers)


def _classify_all(to_run: list[ImageToRun], handlers: dict) -> float:
    started = time.perf_counter()
    for image in to_run:
        payload = {"s3_bucket": "bench", "s3_key": image.path.name}
        for logical_id in FUNCTION_IDS:
            text, errored = lambda_runtime.invoke(
                logical_id, handlers[logical_id].app.lambda_handler, payload
            )
            if errored:
                break
            payload = json.loads(text)
    return len(to_run) / (time.perf_counter() - started)


def run_bench(
    executions: int, concurrency: int, execution_environments: int, workflow_type: str = "Standard"
) -> int:
    samples, _ = images.find_images(SAMPLES_DIR, SAMPLES_LST)
    photos = [image for image in samples if image.path.suffix == ".png"]
    to_run = list(islice(cycle(photos), executions))
    direct, direct_cpu_ms = _measure_direct_loop(to_run)
    print(
        f"direct: three handlers + model in a loop: {direct:.1f} images/s ({1000 / direct:.2f} ms each, "
        f"CPU {direct_cpu_ms:.1f} ms each)"
    )
    summary, parts_ms, client_cpu_ms = _measure_stack(
        photos, to_run, concurrency, execution_environments, workflow_type
    )
    print(f"workflow: {workflow_type}")
    _print_stack_figures(summary, concurrency, parts_ms, client_cpu_ms, direct, direct_cpu_ms)
    return 0


def _measure_direct_loop(to_run: list[ImageToRun]) -> tuple[float, float]:
    """Images/s and CPU ms per image of the direct loop, as the stack runs the handlers: metrics
    on (their EMF lines go nowhere)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        cpu = time.process_time()
        direct = direct_loop(to_run)
        return direct, (time.process_time() - cpu) * 1000 / len(to_run)


def _measure_stack(
    photos: list[ImageToRun],
    to_run: list[ImageToRun],
    concurrency: int,
    execution_environments: int,
    workflow_type: str = "Standard",
) -> tuple[dict, dict[str, float], float]:
    """The stack as a user runs it, ``up`` in one process and the client in this one: the run's
    summary, CPU ms per execution of each part of the stack, and of the client. An Express
    workflow's ends are read from its log group (``run_executions`` chooses), as on AWS."""
    options = ["--endpoint-name", "vehicle-classifier-bench", "--bucket", "scones-bench"]
    options += ["--workflow-type", workflow_type]
    with start_stack_process([*options, "--execution-environments", str(execution_environments)]) as stack:
        keys = images.upload_images(stack.client("s3"), stack.bucket, photos)
        sfn, logs = stack.client("stepfunctions"), stack.client("logs")
        run_executions(sfn, stack.state_machine_arn, stack.bucket, photos[:4], keys, 4, logs)  # warm up
        cpu, parts_before = time.process_time(), stack.cpu_seconds_by_part()
        ran, wall = run_executions(
            sfn, stack.state_machine_arn, stack.bucket, to_run, keys, concurrency, logs
        )
        client_cpu_ms = (time.process_time() - cpu) * 1000 / len(to_run)
        parts_ms = {
            part: (seconds - parts_before.get(part, 0.0)) * 1000 / len(to_run)
            for part, seconds in stack.cpu_seconds_by_part().items()
        }
    return results.summarize(ran, wall), parts_ms, client_cpu_ms


def _print_stack_figures(
    summary: dict,
    concurrency: int,
    parts_ms: dict[str, float],
    client_cpu_ms: float,
    direct: float,
    direct_cpu_ms: float,
) -> None:
    stack_rate = summary["executions_per_second"]
    print(
        f"local stack: {summary['executions']} executions at concurrency {concurrency}: "
        f"{stack_rate} executions/s, "
        f"p50 {summary['latency_p50_seconds']} s, p95 {summary['latency_p95_seconds']} s, "
        f"succeeded {summary['succeeded']}, failed {summary['failed']}"
    )
    if parts_ms:
        # the machine runs at about 2 cores / (stack + client) executions/s at best
        detail = ", ".join(f"{part} {ms:.1f}" for part, ms in sorted(parts_ms.items(), key=lambda p: -p[1]))
        total_ms = sum(parts_ms.values()) + client_cpu_ms
        print(
            f"CPU per execution: stack {sum(parts_ms.values()):.1f} ms ({detail}), "
            f"client {client_cpu_ms:.1f} ms"
        )
        # these two hold across machine speeds, where executions/s does not (same code, same
        # 2-core machine: 28 to 47 ms of CPU per execution within one day)
        print(
            f"cores used: {stack_rate * total_ms / 1000:.2f}; CPU per execution is "
            f"{total_ms / direct_cpu_ms:.1f}x the direct loop's CPU per image"
        )
    print(f"overhead: the stack takes {direct / stack_rate:.1f}x the direct loop's time per image")
