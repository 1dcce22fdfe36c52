"""Every failure the cloud commands know, in one place.

The CLI turns each of them into one line on stderr and exit code 1 (2 for a UsageError).
"""


class TrainingJobCommandError(Exception):
    """Base class: a failure with a message that is meant for the person at the terminal."""


class UsageError(TrainingJobCommandError):
    """Options argparse accepts one by one but not together; the CLI exits 2, as argparse does."""


class RecipeError(UsageError):
    """The training hyperparameters break a limit the algorithm's documentation states
    (training_job/recipe.py); nothing was sent to SageMaker. A usage error: the values came
    from the options given."""


class DownloadError(TrainingJobCommandError):
    """The archive could not be fetched."""


class ChecksumMismatchError(TrainingJobCommandError):
    """The downloaded archive is not the one we expect; nothing was uploaded."""

    def __init__(self, source: str, expected: str, actual: str):
        super().__init__(
            f"MD5 mismatch for {source}: expected {expected}, got {actual}; the file was discarded "
            "and nothing was uploaded"
        )
        self.source = source
        self.expected = expected
        self.actual = actual


class DatasetError(TrainingJobCommandError):
    """The archive or the image folder does not have the layout we read."""


class NotStagedError(TrainingJobCommandError):
    """`train` found no staged data in S3; run `stage` first."""


class TrainingJobFailedError(TrainingJobCommandError):
    """The SageMaker training job ended in Failed or Stopped."""


class EndpointFailedError(TrainingJobCommandError):
    """The endpoint ended in Failed instead of InService."""


class EndpointBusyError(TrainingJobCommandError):
    """The endpoint stayed Creating, Updating, SystemUpdating, RollingBack or Deleting past the
    wait `deploy` allows; UpdateEndpoint would refuse it, so nothing was created."""


class WaitTimeoutError(TrainingJobCommandError):
    """A wait ran past its time limit; the resource keeps going in AWS."""


class SmokeTestFailedError(TrainingJobCommandError):
    """The new endpoint config, served on a temporary endpoint, answered the committed sample
    photos below `--min-smoke-accuracy` (or never came up); no traffic was shifted and the model
    and config made for it were deleted."""


class RollbackAlarmFiringError(TrainingJobCommandError):
    """A rollback alarm is in ALARM before the rollout starts: SageMaker would roll the update
    back at its first baking period, so nothing was created."""


class AutoscalingConfigError(UsageError):
    """The autoscaling options do not make a valid scalable target or policy (max >= min >= 1,
    a target above 0, cooldowns of 0 or more seconds); nothing was sent to AWS. A usage error:
    the values came from the options given."""


class ServerlessConfigError(UsageError):
    """`deploy --serverless` options outside what ProductionVariantServerlessConfig allows
    (memory 1024-6144 MB in 1 GB steps, concurrency 1-200, provisioned <= max), instance options
    given with --serverless, or serverless options without it; nothing was sent to AWS."""


class ServerlessDataCaptureError(UsageError):
    """Data capture asked of a serverless endpoint, which AWS does not support there; the way is
    the stack's CaptureMode=Function. Nothing was sent to AWS."""


class ServerlessRolloutError(UsageError):
    """A guarded rollout (production variants, canary, linear, rollback alarms, smoke test) asked
    of a serverless endpoint; it is updated with a plain UpdateEndpoint. Nothing was sent."""


class ServerlessAutoscalingError(UsageError):
    """Instance autoscaling asked of a serverless endpoint, which scales itself up to its
    MaxConcurrency; ProvisionedConcurrency keeps some warm. Nothing was sent to AWS."""


class ServerlessConversionError(TrainingJobCommandError):
    """`deploy --serverless` onto an endpoint that runs on instances: AWS does not convert one to
    serverless (UpdateEndpoint answers ValidationError), so nothing was created."""
