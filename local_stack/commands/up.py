"""``python -m local_stack up``: the local ``sam deploy``, serving until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

from local_stack.commands.stack_options import start_stack


def up(args: argparse.Namespace) -> int:
    running, deployed = start_stack(args)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    state_dir = Path(tempfile.mkdtemp(prefix="local_stack-up-"))
    try:
        _put_sample_event_objects(running.session())
        environment = running.environment
        config = write_stack_aws_config(state_dir, environment, deployed)
        print(stack_banner({**environment, "AWS_CONFIG_FILE": str(config)}, deployed), flush=True)
        parent = os.getppid()
        while not stop.wait(1.0):
            if args.stop_with_parent and os.getppid() != parent:
                break
    finally:
        running.close()
        shutil.rmtree(state_dir, ignore_errors=True)
        print("# stopped", file=sys.stderr)
    return 0


def profiles(deployed) -> dict[str, str]:
    """The AWS config file's role profiles: ``reviewer`` acts as ``<stack>-Reviewer``."""
    return {"reviewer": deployed.reviewer_role_arn} if deployed.reviewer_role_arn else {}


def write_stack_aws_config(state_dir: Path, environment: dict[str, str], deployed) -> Path:
    """``aws-config`` in ``state_dir``: the administrator's profile and one per ``profiles``,
    each with the stack's endpoints (``credentials.write_aws_config``)."""
    from local_stack.aws.iam.credentials import write_aws_config

    return write_aws_config(
        state_dir / "aws-config",
        profiles(deployed),
        environment["AWS_DEFAULT_REGION"],
        environment["AWS_ENDPOINT_URL"],
        environment.get("AWS_ENDPOINT_URL_S3"),
    )


def stack_banner(environment: dict[str, str], deployed) -> str:
    """What ``up`` prints: the exports a shell needs to reach the stack (and two for the stack's
    bucket and state machine), then, as comments, where things are."""
    from local_stack.settings import CAPTURE_PREFIX

    outputs = deployed.outputs
    exports = {
        **environment,
        "IMAGE_BUCKET": outputs["ImageBucketName"],
        "STATE_MACHINE_ARN": outputs["ClassifyImageStateMachineArn"],
    }
    log_groups = "\n#           ".join(sorted(deployed.log_groups.values()))
    lines = [f"export {name}={value}" for name, value in exports.items()]
    lines += [
        f"# stack:    {deployed.stack_name}  (aws cloudformation describe-stacks --stack-name "
        f"{deployed.stack_name})",
        f"# endpoint: {outputs['EndpointName']}  (capture: s3://{deployed.bucket}/{CAPTURE_PREFIX}/)",
        f"# trigger:  {outputs['UploadLocation']}  (an image put here starts an execution)",
        *_profile_lines(environment, deployed),
        "# logs:     aws logs tail <group> --follow, for each group:",
        f"#           {log_groups}",
        "# events:   every events/*.json runs as is (its bucket and object are here)",
        "# serving; Ctrl-C to stop",
    ]
    return "\n".join(lines)


def _profile_lines(environment: dict[str, str], deployed) -> list[str]:
    if "AWS_CONFIG_FILE" not in environment:
        return []
    from local_stack.aws.iam.credentials import ADMIN_PROFILE

    named = ", ".join(f"{name} ({arn})" for name, arn in profiles(deployed).items())
    return [
        f"# profiles: {named}, {ADMIN_PROFILE} (the stack's key) in $AWS_CONFIG_FILE; the AWS_* keys",
        "#           above win over AWS_PROFILE, so drop them: env -u AWS_ACCESS_KEY_ID -u",
        "#           AWS_SECRET_ACCESS_KEY AWS_PROFILE=reviewer python -m review ...",
        "#           (the AWS CLI: aws --profile reviewer ..., an explicit profile wins over the keys)",
    ]


def _put_sample_event_objects(session) -> None:
    from local_stack.aws.deploy import create_bucket
    from local_stack.aws.sample_events import objects_named_by_events, put_objects_named_by_events

    s3 = session.client("s3")
    put_objects_named_by_events(
        s3, lambda client, name: create_bucket(client, name, session.region_name), objects_named_by_events()
    )
