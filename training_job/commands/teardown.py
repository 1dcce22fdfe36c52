"""``teardown``: delete what the project has in SageMaker and CloudWatch, and say what is left.
The steps, their order and the report are :mod:`training_job.teardown_steps`'."""

from __future__ import annotations

import argparse

from scones_core.project import DEFAULT_STACK_NAME, PROJECT_TAG_KEY, PROJECT_TAG_VALUE
from training_job.commands.cloud import out, session

NAME = "teardown"
HELP = "delete the project's endpoints, configs, models and rollback alarms"
DESCRIPTION = (
    f"Delete the endpoints, endpoint configs, models and deploy's rollback alarms "
    f"tagged {PROJECT_TAG_KEY}={PROJECT_TAG_VALUE} (only those of --endpoint-name, if given); then "
    "say what SageMaker's log groups (which never expire), the SAM stack and the bucket still "
    "hold and how to delete them. Idempotent."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--endpoint-name", help="only this endpoint and the configs and models made for it")
    p.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    p.add_argument(
        "--stack-name", default=DEFAULT_STACK_NAME, help="SAM stack to report on (default: %(default)s)"
    )
    p.add_argument("--bucket", help="bucket to report on (the one `stage` used)")
    p.add_argument("--prefix", default="", help="only this prefix of --bucket (default: the whole bucket)")


def run(args: argparse.Namespace) -> int:
    from training_job.teardown_steps import TeardownRequest, tear_down

    request = TeardownRequest(
        endpoint_name=args.endpoint_name,
        dry_run=args.dry_run,
        stack_name=args.stack_name,
        bucket=args.bucket,
        prefix=args.prefix,
    )
    tear_down(session(args), request, say=out)
    return 0
