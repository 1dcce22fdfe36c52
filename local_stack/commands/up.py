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
        for name, value in running.environment.items():
            print(f"export {name}={value}")
        print(f"# bucket:        {deployed.bucket}")
        print(f"# state machine: {deployed.state_machine_arn}")
        print(
            f"# endpoint:      {running.endpoint_name}  (capture: s3://{deployed.bucket}/{running.capture_prefix}/)"
        )
        print("# serving; Ctrl-C to stop", flush=True)
        parent = os.getppid()
        while not stop.wait(1.0):
            if args.stop_with_parent and os.getppid() != parent:
                break
    finally:
        running.close()
        print("# stopped", file=sys.stderr)
    return 0
