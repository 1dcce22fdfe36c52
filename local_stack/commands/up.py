"""``python -m local_stack up``: the local ``sam deploy``, serving until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from local_stack.commands.stack_options import start_stack


def up(args: argparse.Namespace) -> int:
    running, deployed = start_stack(args)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        _put_sample_event_objects(running.session())
        print(stack_banner(running.environment, deployed), flush=True)
        parent = os.getppid()
        while not stop.wait(1.0):
            if args.stop_with_parent and os.getppid() != parent:
                break
    finally:
        running.close()
        print("# stopped", file=sys.stderr)
    return 0


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
        "# logs:     aws logs tail <group> --follow, for each group:",
        f"#           {log_groups}",
        "# events:   every events/*.json runs as is (its bucket and object are here)",
        "# serving; Ctrl-C to stop",
    ]
    return "\n".join(lines)


def _put_sample_event_objects(session) -> None:
    from local_stack.aws.deploy import create_bucket
    from local_stack.aws.sample_events import objects_named_by_events, put_objects_named_by_events

    s3 = session.client("s3")
    put_objects_named_by_events(
        s3, lambda client, name: create_bucket(client, name, session.region_name), objects_named_by_events()
    )
