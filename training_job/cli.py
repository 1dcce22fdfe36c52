"""`python -m training_job <command>`: stage, train, deploy, teardown (+ train-local, evaluate, cost).

This module only builds the parser and dispatches: each command is a module of
``training_job/commands/`` with its options (``add_arguments``) and its ``run``. Nothing heavy is
imported until a command runs (`--help` never imports the SageMaker SDK).
Exit codes: 0 done, 1 failed while running, 2 a usage error (argparse's code), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from training_job.commands import cost, deploy, evaluate, stage, teardown, train, train_local
from training_job.commands.cloud import common_options

#: The commands that talk to AWS (they share --region, --profile and --quiet), then the local ones.
CLOUD_COMMANDS = (stage, train, deploy, teardown)
LOCAL_COMMANDS = (train_local, evaluate, cost)

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="training-job",
        description="Build the bicycle/motorcycle model and the SageMaker endpoint the SAM stack uses.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="<command>")
    common = common_options()
    for command in CLOUD_COMMANDS + LOCAL_COMMANDS:
        parents = [common] if command in CLOUD_COMMANDS else []
        p = subparsers.add_parser(
            command.NAME, parents=parents, help=command.HELP, description=command.DESCRIPTION
        )
        command.add_arguments(p)
        p.set_defaults(func=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    from scones_core.stack_outputs import StackLookupError
    from training_job.exceptions import TrainingJobCommandError, UsageError

    try:
        return args.func(args)
    except NoCredentialsError:
        return _fail(
            "no AWS credentials found: set AWS_PROFILE (or run `aws configure` / "
            "`aws sso login`) and try again"
        )
    except NoRegionError:
        return _fail("no AWS region: pass --region or set AWS_REGION (or a region in your AWS profile)")
    except UsageError as error:
        return _fail(str(error), code=EXIT_USAGE)
    except TrainingJobCommandError as error:
        return _fail(str(error))
    except ClientError as error:
        info = error.response.get("Error", {})
        return _fail(
            f"AWS {error.operation_name}: {info.get('Code')}: {info.get('Message')}{_quota_hint(info)}"
        )
    except BotoCoreError as error:
        return _fail(str(error))
    except StackLookupError as error:
        return _fail(str(error))
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] == "sagemaker":
            return _fail("this command needs the SageMaker SDK: pip install '.[cloud]' (sagemaker-core)")
        raise
    except KeyboardInterrupt:
        return _fail("interrupted (anything already started in AWS keeps running)", code=EXIT_INTERRUPTED)


def _quota_hint(info: dict) -> str:
    """New accounts start with a quota of 0 for many SageMaker instance types: say how to ask."""
    if info.get("Code") != "ResourceLimitExceeded":
        return ""
    return (
        " (raise it with Service Quotas: aws service-quotas list-service-quotas --service-code "
        "sagemaker finds the quota's code, request-service-quota-increase asks for more)"
    )


def _fail(message: str, code: int = EXIT_FAILURE) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code
