"""`train`: SageMaker's built-in image-classification algorithm, through sagemaker-core (SDK v3).

`training_job_request` builds the CreateTrainingJob arguments as sagemaker-core shapes;
`start` sends them with `sagemaker.core.resources.TrainingJob.create`; `wait` polls the
resource with a progress line; `outcome` reads the final validation accuracy and the artifact.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from scones_core.aws import parse_s3_uri, s3_uri
from scones_core.project import (
    ALGORITHM,
    CHANNELS,
    DEFAULT_PREFIX,
    DEFAULT_TRAINING_INSTANCE,
    TRAIN,
    TRAINING_JOB_PREFIX,
    project_tags,
)
from training_job.exceptions import NotStagedError, TrainingJobFailedError
from training_job.recipe import check_recipe

IMAGE_CONTENT_TYPE = "application/x-image"
ACCURACY_METRIC = "validation:accuracy"


@dataclass(frozen=True)
class TrainingConfig:
    bucket: str
    role_arn: str
    num_training_samples: int
    job_name: str
    prefix: str = DEFAULT_PREFIX
    instance_type: str = DEFAULT_TRAINING_INSTANCE
    epochs: int = 30
    learning_rate: float = 0.01
    mini_batch_size: int = 32
    from_scratch: bool = False  # default: transfer learning (see `hyperparameters`)
    num_layers: int | None = None  # default: 18 for transfer learning, 20 from scratch
    early_stopping_patience: int = 5
    early_stopping_min_epochs: int = 10
    volume_size_gb: int = 10
    max_runtime_seconds: int = 3600
    spot: bool = False
    max_wait_seconds: int | None = None  # spot only; default twice the runtime


@dataclass(frozen=True)
class TrainingOutcome:
    job_name: str
    status: str
    validation_accuracy: float | None
    model_data: str | None
    billable_seconds: int | None


def default_job_name(now: float | None = None) -> str:
    return TRAINING_JOB_PREFIX + time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))


#: Transfer learning: the algorithm upscales CIFAR's 32x32 images (`resize`, shortest side) to
#: the only input its ImageNet-pretrained ResNets take, 224x224.
TRANSFER_SIDE, TRANSFER_LAYERS = 224, 18
#: From scratch at CIFAR's own size, with the smallest of the small-image ResNets.
SCRATCH_SIDE, SCRATCH_LAYERS = 32, 20


def hyperparameters(config: TrainingConfig) -> dict[str, str]:
    """The algorithm's hyperparameters, within its documented limits (training_job/recipe.py).

    Default, transfer learning: ImageNet-pretrained ResNet-18 fine-tuned at 3x224x224, the
    algorithm resizing each 32x32 image (`resize=224`); the hyperparameter page allows pretrained
    models nothing but 224x224 and requires `resize` with image content types
    (https://docs.aws.amazon.com/sagemaker/latest/dg/IC-Hyperparameter.html). With 800-1,000
    training images, pretrained features are what the documentation offers transfer learning
    for ("when a large number of training images are not available",
    https://docs.aws.amazon.com/sagemaker/latest/dg/image-classification.html).
    `from_scratch`: a small-image ResNet (20 layers unless told) at 3x32x32 with `resize=32`.
    """
    side = SCRATCH_SIDE if config.from_scratch else TRANSFER_SIDE
    layers = config.num_layers or (SCRATCH_LAYERS if config.from_scratch else TRANSFER_LAYERS)
    values = {
        "num_classes": 2,
        "num_training_samples": config.num_training_samples,
        "image_shape": f"3,{side},{side}",
        "resize": side,
        "use_pretrained_model": 0 if config.from_scratch else 1,
        "num_layers": layers,
        "epochs": config.epochs,
        "learning_rate": config.learning_rate,
        "mini_batch_size": config.mini_batch_size,
        "augmentation_type": "crop_color_transform",
        "early_stopping": "True",
        "early_stopping_patience": config.early_stopping_patience,
        "early_stopping_min_epochs": config.early_stopping_min_epochs,
        "precision_dtype": "float32",
    }
    return {key: str(value) for key, value in values.items()}


def count_training_samples(s3: Any, bucket: str, prefix: str) -> int:
    """Number of lines in the staged train .lst (what `num_training_samples` must be)."""
    from botocore.exceptions import ClientError

    key = parse_s3_uri(s3_uri(bucket, prefix, f"{TRAIN}_lst", f"{TRAIN}.lst"))[1]
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    except ClientError as error:
        raise NotStagedError(
            f"no s3://{bucket}/{key} ({error.response['Error'].get('Code')}); "
            f"run: python -m training_job stage --bucket {bucket} --prefix {prefix}"
        ) from error
    count = sum(1 for line in body.splitlines() if line.strip())
    if count == 0:
        raise NotStagedError(f"s3://{bucket}/{key} is empty")
    return count


def core_tags(tags: list[dict[str, str]]) -> list[dict[str, str]]:
    """API tags as sagemaker-core takes them: snake_case dicts.

    Plain dicts, not `shapes.Tag`: inside `resources.py` the name `Tag` is rebound to the Tag
    *resource* class after Endpoint/Model are defined, so `TrainingJob.create` rejects a
    `shapes.Tag` instance while accepting the dict for either class.
    """
    return [{"key": tag["Key"], "value": tag["Value"]} for tag in tags]


def training_job_request(config: TrainingConfig, region: str) -> dict[str, Any]:
    """Keyword arguments for `TrainingJob.create`, as sagemaker-core shapes.

    Raises `RecipeError` before anything is built when the hyperparameters break a documented
    limit of the algorithm.
    """
    hyper_parameters = hyperparameters(config)
    check_recipe(hyper_parameters, IMAGE_CONTENT_TYPE)

    from sagemaker.core import image_uris
    from sagemaker.core.shapes import (
        AlgorithmSpecification,
        Channel,
        CheckpointConfig,
        DataSource,
        OutputDataConfig,
        ResourceConfig,
        S3DataSource,
        StoppingCondition,
    )

    if config.spot:
        max_wait = config.max_wait_seconds or 2 * config.max_runtime_seconds
        if max_wait < config.max_runtime_seconds:
            raise ValueError("--max-wait must be at least the maximum runtime")
        stopping = StoppingCondition(
            max_runtime_in_seconds=config.max_runtime_seconds, max_wait_time_in_seconds=max_wait
        )
    else:
        stopping = StoppingCondition(max_runtime_in_seconds=config.max_runtime_seconds)

    request: dict[str, Any] = {
        "training_job_name": config.job_name,
        "role_arn": config.role_arn,
        "algorithm_specification": AlgorithmSpecification(
            training_image=image_uris.retrieve(ALGORITHM, region), training_input_mode="File"
        ),
        "hyper_parameters": hyper_parameters,
        "input_data_config": [
            Channel(
                channel_name=channel,
                content_type=IMAGE_CONTENT_TYPE,
                input_mode="File",
                data_source=DataSource(
                    s3_data_source=S3DataSource(
                        s3_data_type="S3Prefix",
                        s3_uri=s3_uri(config.bucket, config.prefix, channel) + "/",
                        s3_data_distribution_type="FullyReplicated",
                    )
                ),
            )
            for channel in CHANNELS
        ],
        "output_data_config": OutputDataConfig(s3_output_path=s3_uri(config.bucket, config.prefix, "output")),
        "resource_config": ResourceConfig(
            instance_type=config.instance_type, instance_count=1, volume_size_in_gb=config.volume_size_gb
        ),
        "stopping_condition": stopping,
        "tags": core_tags(project_tags()),
    }
    if config.spot:
        request["enable_managed_spot_training"] = True
        request["checkpoint_config"] = CheckpointConfig(
            s3_uri=s3_uri(config.bucket, config.prefix, "checkpoints", config.job_name)
        )
    return request


def start(session: Any, config: TrainingConfig) -> Any:
    """CreateTrainingJob through sagemaker-core; returns the TrainingJob resource."""
    from sagemaker.core.resources import TrainingJob

    request = training_job_request(config, session.region_name)
    return TrainingJob.create(**request, session=session, region=session.region_name)


def wait(job: Any, *, poll_seconds: float = 30, timeout_seconds: float | None = None, **options) -> Any:
    """Poll until Completed, Failed or Stopped; raise TrainingJobFailedError unless Completed."""
    from training_job.waiting import wait_for

    def refresh() -> tuple[str, str]:
        job.refresh()
        status, secondary = job.training_job_status, assigned(job.secondary_status)
        return status, f"{status} / {secondary}" if secondary else status

    status = wait_for(
        refresh,
        done={"Completed", "Failed", "Stopped"},
        what=f"training job {job.training_job_name}",
        poll_seconds=poll_seconds,
        timeout_seconds=timeout_seconds,
        **options,
    )
    if status != "Completed":
        reason = assigned(job.failure_reason) or "no reason given"
        raise TrainingJobFailedError(f"training job {job.training_job_name} ended {status}: {reason}")
    return job


def assigned(value: Any) -> Any:
    """sagemaker-core marks fields the API did not return as `Unassigned()`; read them as None."""
    from sagemaker.core.utils.utils import Unassigned

    return None if isinstance(value, Unassigned) else value


def outcome(job: Any) -> TrainingOutcome:
    """The final `validation:accuracy` (FinalMetricDataList) and the model artifact's S3 URI."""

    accuracy = None
    for metric in assigned(job.final_metric_data_list) or []:
        if metric.metric_name == ACCURACY_METRIC:
            accuracy = float(metric.value)
    artifacts = assigned(job.model_artifacts)
    return TrainingOutcome(
        job_name=job.training_job_name,
        status=job.training_job_status,
        validation_accuracy=accuracy,
        model_data=artifacts.s3_model_artifacts if artifacts else None,
        billable_seconds=assigned(job.billable_time_in_seconds),
    )
