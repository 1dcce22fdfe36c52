"""What a month of this project costs on AWS, line by line, for a number of photos a day and a
configuration: the endpoint (instances, or SageMaker Serverless Inference), the one-photo
workflow (Standard or Express) and where capture is written (CaptureMode Endpoint or Function).

Pure functions: :func:`month_lines` turns a :class:`CostConfig` and the :class:`CostInputs`
(prices from ``cost_data/prices.json``, measured durations and log bytes from
``cost_data/measurements.json``, the functions' MemorySize and the fixed resources from
template.yaml, transitions from walking the ASL) into :class:`Line` s; :func:`break_even` finds
the photos a day at which an instance endpoint becomes cheaper than a serverless one. The
``cost`` command and the docs' tables (:func:`markdown`) are built on them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from training_job.cost_measurements import FUNCTIONS
from training_job.state_machine_path import ANSWERED, REFUSED, load_definition, walk

REPO_ROOT = Path(__file__).resolve().parents[1]
COST_DATA = Path(__file__).resolve().parent / "cost_data"
PRICES_FILE = COST_DATA / "prices.json"
MEASUREMENTS_FILE = COST_DATA / "measurements.json"
TEMPLATE_FILE = REPO_ROOT / "template.yaml"
ASL_FILE = REPO_ROOT / "statemachine" / "classify_image.asl.json"

#: AWS prices a month of instance time as 730 hours; a month of photos is the same 730 / 24 days.
HOURS_PER_MONTH = 730
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
GB = 1024**3
#: Express bills duration in 100 ms steps and memory in 64 MB steps
#: (https://aws.amazon.com/step-functions/pricing/); a one-photo execution fits the first 64 MB.
EXPRESS_DURATION_STEP_MS = 100
EXPRESS_MEMORY_GB = 64 / 1024
#: A capture record (SageMaker's JSON Lines shape) holds the image base64 plus ~600 bytes of
#: event metadata and the answer (measured on the local stack's capture files).
CAPTURE_RECORD_OVERHEAD_BYTES = 600
#: The answer InvokeEndpoint returns: a JSON list of two probabilities.
RESPONSE_BYTES = 60

EndpointKind = Literal["instance", "serverless"]
Workflow = Literal["Standard", "Express"]
CaptureMode = Literal["Endpoint", "Function"]


@dataclass(frozen=True)
class CostConfig:
    photos_per_day: float
    endpoint: EndpointKind = "instance"
    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    memory_mb: int = 2048  # serverless
    provisioned_concurrency: int = 0  # serverless
    workflow: Workflow = "Standard"
    capture: CaptureMode = "Endpoint"
    sampling_percentage: int = 100
    refused_share: float = 0.1  # photos refused as low-confidence (LowConfidenceAction Fail)
    photo_bytes: int = 200_000  # as uploaded, and as sent to the endpoint after normalising
    inference_ms: float = 100.0  # serverless inference duration per photo: assumed, not measured
    capture_put_ms: float = 20.0  # ClassifyImage's extra time under CaptureMode Function: assumed


@dataclass(frozen=True)
class CostInputs:
    prices: dict  # the "prices" of prices.json
    functions_ms: dict[str, float]  # median duration per function
    memory_mb: dict[str, int]  # MemorySize per function (template.yaml)
    function_log_bytes: float  # per photo
    state_machine_log_bytes: float  # per photo
    express_state_machine_log_bytes: float  # per photo: Express logs its whole history (level ALL)
    transitions_answered: int
    transitions_refused: int
    kms_keys: int
    dashboards: int
    alarm_metrics: int


@dataclass(frozen=True)
class Line:
    item: str
    usd: float  # a month
    detail: str


def price(inputs: CostInputs, name: str) -> float:
    return float(inputs.prices[name]["value"])


def photos_per_month(config: CostConfig) -> float:
    return config.photos_per_day * DAYS_PER_MONTH


def month_lines(config: CostConfig, inputs: CostInputs) -> list[Line]:
    """The month's cost, one line per service, in the order the bill reads."""
    photos = photos_per_month(config)
    return [
        _endpoint_line(config, inputs, photos),
        _workflow_line(config, inputs, photos),
        *_lambda_lines(config, inputs, photos),
        *_s3_lines(config, inputs, photos),
        _logs_line(config, inputs, photos),
        *_fixed_lines(inputs),
    ]


def total(lines: list[Line]) -> float:
    return sum(line.usd for line in lines)


def per_thousand_photos(config: CostConfig, inputs: CostInputs) -> float:
    photos = photos_per_month(config)
    return total(month_lines(config, inputs)) / photos * 1000 if photos else math.inf


def break_even(config: CostConfig, inputs: CostInputs) -> float | None:
    """Photos a day above which `config` on its instance endpoint costs less than on its
    serverless one (each line is linear in photos, so two points fix each total); None when
    serverless stays cheaper at any volume."""
    instance = replace(config, endpoint="instance")
    serverless = replace(config, endpoint="serverless")

    def fixed_and_slope(chosen: CostConfig) -> tuple[float, float]:
        at_zero = total(month_lines(replace(chosen, photos_per_day=0), inputs))
        at_one = total(month_lines(replace(chosen, photos_per_day=1), inputs))
        return at_zero, at_one - at_zero

    fixed_i, slope_i = fixed_and_slope(instance)
    fixed_s, slope_s = fixed_and_slope(serverless)
    if slope_s <= slope_i:
        return None
    return max(0.0, (fixed_i - fixed_s) / (slope_s - slope_i))


def _endpoint_line(config: CostConfig, inputs: CostInputs, photos: float) -> Line:
    if config.endpoint == "instance":
        hourly = inputs.prices["sagemaker_instance_hour"][config.instance_type]
        return Line(
            "SageMaker endpoint (instances)",
            config.instance_count * hourly * HOURS_PER_MONTH,
            f"{config.instance_count} x {config.instance_type} x {HOURS_PER_MONTH} h "
            f"x ${hourly}/h, used or not",
        )
    gb = config.memory_mb / 1024
    per_gb_second = price(
        inputs,
        "sagemaker_serverless_provisioned_inference_gb_second"
        if config.provisioned_concurrency
        else "sagemaker_serverless_gb_second",
    )
    compute = photos * config.inference_ms / 1000 * gb * per_gb_second
    data = photos * (config.photo_bytes + RESPONSE_BYTES) / GB * price(inputs, "sagemaker_serverless_data_gb")
    held = (
        config.provisioned_concurrency
        * gb
        * HOURS_PER_MONTH
        * 3600
        * price(inputs, "sagemaker_serverless_provisioned_gb_second")
    )
    detail = (
        f"{config.memory_mb} MB x {config.inference_ms:g} ms a photo (assumed) ${compute:.2f}"
        f" + data in/out ${data:.2f}"
    )
    if config.provisioned_concurrency:
        detail += f" + provisioned concurrency {config.provisioned_concurrency} held all month ${held:.2f}"
    return Line("SageMaker Serverless Inference", compute + data + held, detail)


def transitions_per_photo(config: CostConfig, inputs: CostInputs) -> float:
    return (
        1 - config.refused_share
    ) * inputs.transitions_answered + config.refused_share * inputs.transitions_refused


def _workflow_line(config: CostConfig, inputs: CostInputs, photos: float) -> Line:
    if config.workflow == "Standard":
        per_photo = transitions_per_photo(config, inputs)
        return Line(
            "Step Functions Standard",
            photos * per_photo * price(inputs, "stepfunctions_standard_transition"),
            f"{per_photo:.2f} transitions a photo ({inputs.transitions_answered} answered, "
            f"{inputs.transitions_refused} refused, from the ASL's path)",
        )
    run_ms = sum(_function_ms(config, inputs, name) for name in FUNCTIONS)
    billed_ms = math.ceil(run_ms / EXPRESS_DURATION_STEP_MS) * EXPRESS_DURATION_STEP_MS
    requests = photos * price(inputs, "stepfunctions_express_request")
    duration = (
        photos * billed_ms / 1000 * EXPRESS_MEMORY_GB * price(inputs, "stepfunctions_express_gb_second")
    )
    return Line(
        "Step Functions Express",
        requests + duration,
        f"requests ${requests:.2f} + duration ${duration:.2f} ({billed_ms} ms billed x 64 MB a photo)",
    )


def _function_ms(config: CostConfig, inputs: CostInputs, name: str) -> float:
    extra = config.capture_put_ms if name == "ClassifyImage" and config.capture == "Function" else 0.0
    return inputs.functions_ms[name] + extra


def _lambda_lines(config: CostConfig, inputs: CostInputs, photos: float) -> list[Line]:
    requests = photos * len(FUNCTIONS) * price(inputs, "lambda_request")
    gb_seconds = sum(
        math.ceil(_function_ms(config, inputs, name)) / 1000 * inputs.memory_mb[name] / 1024
        for name in FUNCTIONS
    )
    detail = ", ".join(
        f"{name} {_function_ms(config, inputs, name):g} ms at {inputs.memory_mb[name]} MB"
        for name in FUNCTIONS
    )
    return [
        Line("Lambda requests", requests, f"{len(FUNCTIONS)} invocations a photo"),
        Line(
            "Lambda duration (arm64)",
            photos * gb_seconds * price(inputs, "lambda_arm64_gb_second"),
            f"{gb_seconds * 1000:.1f} GB-ms a photo: {detail}",
        ),
    ]


def capture_record_bytes(config: CostConfig) -> float:
    return 4 / 3 * config.photo_bytes + CAPTURE_RECORD_OVERHEAD_BYTES


def _s3_lines(config: CostConfig, inputs: CostInputs, photos: float) -> list[Line]:
    sampled = config.sampling_percentage / 100
    # upload PUT, SerializeImageData's GET; under Function one capture PUT per sampled inference
    # (SageMaker's own capture writes batched files: a few PUTs an hour, left out)
    puts = 1 + (sampled if config.capture == "Function" else 0)
    requests = photos * (puts * price(inputs, "s3_put") + price(inputs, "s3_get"))
    stored_gb = photos * (config.photo_bytes + sampled * capture_record_bytes(config)) / GB
    return [
        Line("S3 requests", requests, f"{puts:g} PUT + 1 GET a photo"),
        Line(
            "S3 storage (a month's photos and capture)",
            stored_gb * price(inputs, "s3_storage_gb_month"),
            f"{stored_gb:.2f} GB: {config.photo_bytes / 1000:g} KB a photo + "
            f"{capture_record_bytes(config) / 1000:.0f} KB capture at {config.sampling_percentage}%",
        ),
    ]


def _logs_line(config: CostConfig, inputs: CostInputs, photos: float) -> Line:
    express = config.workflow == "Express"
    workflow_bytes = inputs.express_state_machine_log_bytes if express else inputs.state_machine_log_bytes
    per_photo = inputs.function_log_bytes + workflow_bytes
    return Line(
        "CloudWatch Logs ingestion",
        photos * per_photo / GB * price(inputs, "logs_ingestion_gb"),
        f"{per_photo / 1000:.1f} KB a photo (functions {inputs.function_log_bytes / 1000:.1f} KB, "
        f"{config.workflow} workflow {workflow_bytes / 1000:.1f} KB; measured)",
    )


def _fixed_lines(inputs: CostInputs) -> list[Line]:
    return [
        Line(
            "KMS keys",
            inputs.kms_keys * price(inputs, "kms_key_month"),
            f"{inputs.kms_keys} customer managed",
        ),
        Line(
            "CloudWatch dashboards",
            inputs.dashboards * price(inputs, "cloudwatch_dashboard_month"),
            f"{inputs.dashboards} (beyond the account's 3 free)",
        ),
        Line(
            "CloudWatch alarms",
            inputs.alarm_metrics * price(inputs, "cloudwatch_alarm_metric_month"),
            f"{inputs.alarm_metrics} alarm metrics (beyond the account's 10 free)",
        ),
    ]


# ---------------------------------------------------------------- the inputs, from their files


def _cfn_loader():
    import yaml

    class CloudFormationLoader(yaml.SafeLoader):
        """template.yaml with its short-form intrinsic functions (!Ref, !Sub, ...) read as plain
        values: the counts read here never look inside them."""

    def intrinsic(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_mapping(node)

    CloudFormationLoader.add_multi_constructor("!", intrinsic)
    return CloudFormationLoader


def template_facts(path: Path = TEMPLATE_FILE) -> dict:
    """The workflow functions' MemorySize (Globals, unless the function sets its own), and the
    fixed resources billed by the month: KMS keys, dashboards, alarm metrics (a metric-math
    alarm bills each metric it reads)."""
    import yaml

    template = yaml.load(path.read_text(), Loader=_cfn_loader())  # a SafeLoader subclass
    default_memory = template.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    resources = template["Resources"]
    memory = {
        name: int(resources[f"{name}Function"]["Properties"].get("MemorySize", default_memory))
        for name in FUNCTIONS
    }

    def of_type(kind: str) -> list[dict]:
        return [r for r in resources.values() if r.get("Type") == kind]

    alarm_metrics = sum(
        sum(1 for m in alarm["Properties"]["Metrics"] if "MetricStat" in m)
        if "Metrics" in alarm["Properties"]
        else 1
        for alarm in of_type("AWS::CloudWatch::Alarm")
    )
    return {
        "memory_mb": memory,
        "kms_keys": len(of_type("AWS::KMS::Key")),
        "dashboards": len(of_type("AWS::CloudWatch::Dashboard")),
        "alarm_metrics": alarm_metrics,
    }


def path_transitions(path: Path = ASL_FILE) -> tuple[int, int]:
    """States entered by an answered and by a refused photo (LowConfidenceAction Fail)."""
    definition = load_definition(path, {"LowConfidenceAction": "Fail"})
    return len(walk(definition, ANSWERED)), len(walk(definition, REFUSED))


def load_inputs(
    prices_file: Path = PRICES_FILE,
    measurements_file: Path = MEASUREMENTS_FILE,
    template_file: Path = TEMPLATE_FILE,
    asl_file: Path = ASL_FILE,
) -> CostInputs:
    prices = json.loads(prices_file.read_text())["prices"]
    measured = json.loads(measurements_file.read_text())["measured"]
    facts = template_facts(template_file)
    answered, refused = path_transitions(asl_file)
    return CostInputs(
        prices=prices,
        functions_ms={name: measured["functions"][name]["median_ms"] for name in FUNCTIONS},
        memory_mb=facts["memory_mb"],
        function_log_bytes=measured["function_log_bytes_per_photo"],
        state_machine_log_bytes=measured["state_machine_log_bytes_per_photo"],
        express_state_machine_log_bytes=measured["express_state_machine_log_bytes_per_photo"],
        transitions_answered=answered,
        transitions_refused=refused,
        kms_keys=facts["kms_keys"],
        dashboards=facts["dashboards"],
        alarm_metrics=facts["alarm_metrics"],
    )


# ---------------------------------------------------------------- the docs' tables

#: The configurations the README and docs/costs.md compare (issue 26).
COMPARED = (
    ("today's stack: 1 x ml.m5.large, endpoint capture, Standard", CostConfig(photos_per_day=0)),
    (
        "serverless (2048 MB) + function capture, Standard",
        CostConfig(photos_per_day=0, endpoint="serverless", capture="Function"),
    ),
    (
        "serverless (2048 MB) + function capture + Express",
        CostConfig(photos_per_day=0, endpoint="serverless", capture="Function", workflow="Express"),
    ),
)
VOLUMES = (100, 10_000, 1_000_000)
MARKDOWN_BEGIN = "<!-- cost:begin (python -m training_job cost --markdown) -->"
MARKDOWN_END = "<!-- cost:end -->"


def usd(amount: float) -> str:
    if amount >= 100:
        return f"${amount:,.0f}"
    if amount >= 1:
        return f"${amount:,.2f}"
    return f"${amount:.4f}".rstrip("0").rstrip(".") if amount else "$0"


def markdown(inputs: CostInputs) -> str:
    """The tables the docs embed between MARKDOWN_BEGIN and MARKDOWN_END."""
    out = [
        "Cost per 1,000 photos, everything in the month included (us-east-1 list prices of "
        "`training_job/cost_data/prices.json`, no free tiers):",
        "",
        "| configuration | " + " | ".join(f"{v:,} photos/day" for v in VOLUMES) + " |",
        "| --- |" + " --- |" * len(VOLUMES),
    ]
    for label, config in COMPARED:
        cells = [usd(per_thousand_photos(replace(config, photos_per_day=v), inputs)) for v in VOLUMES]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    base = COMPARED[0][1]
    even = break_even(base, inputs)
    out += [
        "",
        "An ml.m5.large endpoint becomes cheaper than a 2048 MB serverless one above "
        + (f"**{even:,.0f} photos a day**" if even is not None else "no volume")
        + " (endpoint capture, Standard; `python -m training_job cost` for any other configuration).",
        "",
        f"The month of today's stack at {VOLUMES[1]:,} photos a day, line by line:",
        "",
        "| line | a month | how |",
        "| --- | --- | --- |",
    ]
    lines = month_lines(replace(base, photos_per_day=VOLUMES[1]), inputs)
    out += [f"| {line.item} | {usd(line.usd)} | {line.detail} |" for line in lines]
    out.append(f"| **total** | **{usd(total(lines))}** | |")
    return "\n".join(out) + "\n"


def embedded(text: str) -> str | None:
    """What a doc holds between the markers (None without them)."""
    if MARKDOWN_BEGIN not in text or MARKDOWN_END not in text:
        return None
    return text.split(MARKDOWN_BEGIN, 1)[1].split(MARKDOWN_END, 1)[0].strip("\n") + "\n"
