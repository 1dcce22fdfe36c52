"""What the AWS commands (stage, train, deploy, teardown) share: the options every one takes
(--region, --profile, --quiet), --role-arn, the session they open, and a line printed at once."""

from __future__ import annotations

import argparse
import os

ROLE_ENV = "SAGEMAKER_ROLE_ARN"


def common_options() -> argparse.ArgumentParser:
    """The parent parser of the AWS commands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--region", help="AWS region (default: from the boto3 session / AWS_REGION)")
    common.add_argument("--profile", help="AWS named profile (default: AWS_PROFILE / default chain)")
    common.add_argument("--quiet", action="store_true", help="no progress bars")
    return common


def add_role_arn(parser: argparse.ArgumentParser) -> None:
    role = os.environ.get(ROLE_ENV)
    parser.add_argument(
        "--role-arn",
        default=role,
        required=role is None,
        help=f"SageMaker execution role (default: ${ROLE_ENV})",
    )


def session(args: argparse.Namespace):
    """The boto3 session of --region and --profile, checked (credentials, region) before use."""
    from scones_core.aws import check_session, make_session

    opened = make_session(args.region, args.profile)
    check_session(opened)
    return opened


def out(line: str = "") -> None:
    print(line, flush=True)
