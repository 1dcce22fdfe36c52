"""Every error the local stack raises on purpose, in one place.

The CLI turns them into one line and an exit code (docs/errors.md, "Exit codes"): a ``UsageError`` is
a mistake in what the user typed (2, as argparse answers a bad flag), any other
``LocalStackError`` a failure while running (1).
"""

from __future__ import annotations


class LocalStackError(Exception):
    """Something went wrong while running; the CLI prints the message, never a traceback."""


class UsageError(LocalStackError):
    """A flag or a file the user named is wrong: nothing was started."""


class DeployInputError(ValueError):
    """A value the deploy was given that AWS would refuse before creating anything."""


class ParameterValidationError(DeployInputError):
    """A parameter value breaks the template's own constraints: CloudFormation's ``ValidationError``."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class TemplateRuleFailed(ParameterValidationError):
    """The parameters together break one of the template's Rules: CloudFormation's
    ``ValidationError`` with the assertion's ``AssertDescription``."""


class InvalidBucketName(DeployInputError):
    """S3 would refuse the name (its ``InvalidBucketName``): said before anything starts."""


class TemplateError(ValueError):
    """The template uses something this reader cannot resolve locally."""


class MotoVersionError(LocalStackError):
    """The installed moto is not the one whose internals ``aws.moto_patches`` was written for."""


class BatchStackNotFound(LocalStackError):
    """The stack does not exist, or its Outputs name no BatchClassify state machine."""


class BatchFailed(LocalStackError):
    """The batch execution itself ended other than SUCCEEDED (InvalidBatchInput,
    TooManyPhotosFailed, a failed summary): the message has its error and cause."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"the batch ended in {error}: {cause}")
        self.error, self.cause = error, cause


class EndpointNotDescribed(LocalStackError):
    """DescribeEndpoint did not answer for the stack's endpoint, so a batch cannot be sized to it."""


class BatchResultsUnreadable(LocalStackError):
    """The batch's result files are missing or not what Step Functions' ResultWriter writes."""


class SampleObjectMissing(LocalStackError):
    """An event names an object whose file is not among the committed samples."""


class EnvironmentDidNotStart(LocalStackError):
    """The first workers' cold start failed; ``payload`` is the init error Lambda would answer."""

    def __init__(self, payload: dict) -> None:
        super().__init__(
            f"a Lambda execution environment did not start: {payload['errorType']}: {payload['errorMessage']}"
        )
        self.payload = payload
