"""`deploy --serverless`: SageMaker Serverless Inference, the endpoint that scales to zero.

The variant carries a ``ServerlessConfig`` instead of an instance type and count, within the
limits of https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantServerlessConfig.html:
MemorySizeInMB 1024-6144 in 1 GB steps, MaxConcurrency 1-200, ProvisionedConcurrency 1-200 and
"less than or equal to MaxConcurrency". Each is checked here, by option name, before any AWS call.

The built-in image-classification algorithm's image may serve it: the serverless guide's
"Container support" (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html)
lets an endpoint use "a SageMaker-provided container", which includes "containers for its
built-in algorithms", and its "Feature exclusions" do not name them. What they do name, and
what `deploy` would otherwise do, is refused by name with the supported way
(:func:`refusals`): data capture (capture in ClassifyImage instead: the stack's
``CaptureMode=Function``), multiple production variants and the guarded rollouts built on
them (a serverless endpoint is updated with UpdateEndpoint onto a new config, as
https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-update.html describes;
rolling deployments exclude serverless endpoints:
https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html), and
instance autoscaling (the endpoint scales itself up to MaxConcurrency; ProvisionedConcurrency
keeps some warm). The same page: "You cannot convert your instance-based, real-time endpoint to
a serverless endpoint" (UpdateEndpoint answers a ValidationError), so that is refused too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from training_job.exceptions import (
    ServerlessAutoscalingError,
    ServerlessConfigError,
    ServerlessConversionError,
    ServerlessDataCaptureError,
    ServerlessRolloutError,
)

#: API_ProductionVariantServerlessConfig: "Valid values are in 1 GB increments: 1024 MB, 2048 MB,
#: 3072 MB, 4096 MB, 5120 MB, or 6144 MB".
MEMORY_SIZES_MB = (1024, 2048, 3072, 4096, 5120, 6144)
#: MaxConcurrency and ProvisionedConcurrency: "Minimum value of 1. Maximum value of 200."
MIN_CONCURRENCY, MAX_CONCURRENCY = 1, 200
#: The memory `cost` prices serverless at (docs/costs.md); the 32x32 model needs far less.
DEFAULT_MEMORY_MB = 2048
#: Invocations past it are throttled (the guide's "Concurrent invocations"); a batch sends up to
#: BatchMaxConcurrency x BatchSize at once, so raise it for large batches.
DEFAULT_MAX_CONCURRENCY = 10

SERVERLESS_GUIDE = "https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html"
CAPTURE_WAY = (
    "capture in ClassifyImage instead: sam deploy --parameter-overrides CaptureMode=Function "
    "(the same JSON Lines records, hourly keys and sampling, read by `monitoring report`)"
)


@dataclass(frozen=True)
class ServerlessOptions:
    memory_mb: int = DEFAULT_MEMORY_MB
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    provisioned_concurrency: int | None = None  # None: on demand only, nothing billed while idle

    def request(self) -> dict[str, int]:
        """ProductionVariantServerlessConfig as the API reference spells it."""
        config = {"MemorySizeInMB": self.memory_mb, "MaxConcurrency": self.max_concurrency}
        if self.provisioned_concurrency is not None:
            config["ProvisionedConcurrency"] = self.provisioned_concurrency
        return config

    def line(self) -> str:
        warm = (
            f", {self.provisioned_concurrency} provisioned (kept warm, billed while the endpoint exists)"
            if self.provisioned_concurrency is not None
            else ", none provisioned (scales to zero: nothing billed while idle)"
        )
        return f"serverless, {self.memory_mb} MB, up to {self.max_concurrency} concurrent invocations{warm}"


def check_options(options: ServerlessOptions) -> ServerlessOptions:
    """Refuse, by option name, what CreateEndpointConfig would refuse."""
    if options.memory_mb not in MEMORY_SIZES_MB:
        raise ServerlessConfigError(
            f"--memory-mb {options.memory_mb}: a serverless endpoint takes "
            f"{', '.join(map(str, MEMORY_SIZES_MB))} MB (1 GB steps; API_ProductionVariantServerlessConfig)"
        )
    if not MIN_CONCURRENCY <= options.max_concurrency <= MAX_CONCURRENCY:
        raise ServerlessConfigError(
            f"--max-concurrency {options.max_concurrency}: must be {MIN_CONCURRENCY}..{MAX_CONCURRENCY} "
            "(API_ProductionVariantServerlessConfig)"
        )
    provisioned = options.provisioned_concurrency
    if provisioned is not None:
        if not MIN_CONCURRENCY <= provisioned <= MAX_CONCURRENCY:
            raise ServerlessConfigError(
                f"--provisioned-concurrency {provisioned}: must be {MIN_CONCURRENCY}..{MAX_CONCURRENCY} "
                "(leave it out for none; API_ProductionVariantServerlessConfig)"
            )
        if provisioned > options.max_concurrency:
            raise ServerlessConfigError(
                f"--provisioned-concurrency {provisioned} is above --max-concurrency "
                f"{options.max_concurrency}: AWS requires it to be less than or equal "
                "(API_ProductionVariantServerlessConfig)"
            )
    return options


@dataclass(frozen=True)
class Asked:
    """What the deploy options ask for besides the serverless config, each as the options given
    (empty: not asked)."""

    capture: tuple[str, ...] = ()
    instances: tuple[str, ...] = ()
    rollout: tuple[str, ...] = ()
    autoscaling: tuple[str, ...] = ()


def refuse_unsupported(asked: Asked) -> None:
    """Each thing a serverless endpoint does not support, refused by name with the supported way."""
    if asked.capture:
        raise ServerlessDataCaptureError(
            f"{', '.join(asked.capture)}: serverless endpoints do not support data capture "
            f"(Feature exclusions, {SERVERLESS_GUIDE}); {CAPTURE_WAY}; nothing was created"
        )
    if asked.instances:
        raise ServerlessConfigError(
            f"{', '.join(asked.instances)}: a serverless endpoint has no instances; "
            "--memory-mb and --max-concurrency size it; nothing was created"
        )
    if asked.rollout:
        raise ServerlessRolloutError(
            f"{', '.join(asked.rollout)}: serverless endpoints do not support multiple production "
            f"variants (Feature exclusions, {SERVERLESS_GUIDE}) nor rolling deployments "
            "(deployment guardrails' exclusions), and the guarded rollout built here sizes its canary "
            "and linear steps in instances and smoke-tests on an instance endpoint; deploy --serverless "
            "updates a serverless endpoint onto the new config with a plain UpdateEndpoint (all at "
            "once, as the serverless guide's update page does); nothing was created"
        )
    if asked.autoscaling:
        raise ServerlessAutoscalingError(
            f"{', '.join(asked.autoscaling)}: a serverless endpoint scales itself, from zero up to "
            "--max-concurrency concurrent invocations (registering instance autoscaling does not "
            "apply to it); to keep some warm, set --provisioned-concurrency; nothing was created"
        )


def is_serverless(endpoint: Any) -> bool:
    """Whether DescribeEndpoint shows a serverless variant (Current- or DesiredServerlessConfig)."""
    from training_job.training import assigned

    for variant in assigned(endpoint.production_variants) or []:
        if assigned(variant.current_serverless_config) or assigned(variant.desired_serverless_config):
            return True
    return False


def refuse_conversion(endpoint: Any, endpoint_name: str) -> None:
    """An instance-based endpoint cannot become serverless (UpdateEndpoint: ValidationError)."""
    if endpoint is None or is_serverless(endpoint):
        return
    raise ServerlessConversionError(
        f"endpoint {endpoint_name} runs on instances, and AWS does not convert an instance-based "
        f"endpoint to a serverless one ({SERVERLESS_GUIDE}); nothing was created. Delete it first "
        f"(`python -m training_job teardown --endpoint-name {endpoint_name}`) and deploy --serverless "
        "again, or deploy --serverless to a new --endpoint-name and give that name to the stack "
        "(sam deploy --parameter-overrides EndpointName=<new name>)"
    )
