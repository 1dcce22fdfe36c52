"""``python -m local_stack up | run | batch | demo | bench | invoke``: the SAM stack on this machine.

Exit codes, as the project's other CLIs: 0 done, 1 a failure while running, 2 a usage error
(argparse's own, or a flag or file the user named that is wrong), 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from local_stack.commands.batch_options import add_sizing_options
from local_stack.commands.invoke import add_invoke_arguments
from local_stack.commands.stack_options import add_stack_options
from local_stack.errors import LocalStackError, UsageError
from local_stack.settings import DEFAULT_EXECUTION_ENVIRONMENTS, REPO_ROOT

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as error:
        print(f"local_stack: {error}", file=sys.stderr)
        return EXIT_USAGE
    except LocalStackError as error:
        print(f"local_stack: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="start the stack and serve until Ctrl-C (the local `sam deploy`)")
    add_stack_options(up)
    up.add_argument(
        "--stop-with-parent",
        action="store_true",
        help="also stop when the process that started this one ends (for scripts, e.g. bench)",
    )
    up.set_defaults(func=_up)

    run = commands.add_parser("run", help="one workflow execution per image, a table and a summary")
    run.add_argument("--images", type=Path, required=True, help="folder of images (non-images fail by name)")
    run.add_argument("--lst", type=Path, help="index<TAB>label<TAB>path file: expected labels")
    run.add_argument("--concurrency", type=int, default=8, help="executions in flight (default 8)")
    run.add_argument("--limit", type=int, help="run only the first N images")
    run.add_argument("--json", type=Path, help="write {summary, executions} here")
    add_stack_options(run)
    run.set_defaults(func=_run)

    batch = commands.add_parser(
        "batch",
        help="one BatchClassify execution (Distributed Map) over a folder or a prefix, and its summary",
    )
    source = batch.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", type=Path, help="folder to upload under a fresh images/batch-<id>/")
    source.add_argument(
        "--prefix", help="classify the objects already under this prefix (images/... or incoming/...)"
    )
    batch.add_argument(
        "--lst", type=Path, help="index<TAB>label<TAB>path file: expected labels (the path under the prefix)"
    )
    batch.add_argument("--json", type=Path, help="write {summary, photos} here")
    add_sizing_options(batch)
    add_stack_options(batch)
    batch.set_defaults(func=_batch)

    demo = commands.add_parser(
        "demo", help="the committed samples through the stack, then the monitoring report"
    )
    demo.add_argument("--out", type=Path, default=REPO_ROOT / "out" / "demo", help="where results go")
    demo.set_defaults(func=_demo)

    bench = commands.add_parser(
        "bench", help="throughput at concurrency N against calling the handlers directly"
    )
    bench.add_argument("--executions", type=int, help="default 400; 300 with --chaos")
    bench.add_argument("--concurrency", type=int, default=16)
    bench.add_argument("--execution-environments", type=int, default=DEFAULT_EXECUTION_ENVIRONMENTS)
    mode = bench.add_mutually_exclusive_group()
    mode.add_argument(
        "--soak",
        type=int,
        metavar="N",
        help="instead: N executions of one ~180 KB photo, and the memory (RSS) of each of the "
        "stack's processes after the warm-up, half-way and at the end",
    )
    mode.add_argument(
        "--chaos",
        action="store_true",
        help="instead: SIGKILL an execution environment, the endpoint and S3 once each (after 25, "
        "50 and 75%% of the executions started), then how every execution ended, what the "
        "endpoint captured and each process's recovery time; exit code 1 if any execution was "
        "lost or a process did not come back",
    )
    bench.add_argument(
        "--retain-executions",
        type=int,
        metavar="N",
        help="with --soak: passed to up (default: up's)",
    )
    bench.add_argument(
        "--workflow-type",
        choices=("Standard", "Express"),
        default="Standard",
        help="the stack's WorkflowType (Express: each execution's end read from its log group)",
    )
    bench.set_defaults(func=_bench)

    invoke = commands.add_parser(
        "invoke",
        help="one function with one event in a fresh execution environment (sam local invoke, no Docker)",
    )
    add_invoke_arguments(invoke)
    invoke.set_defaults(func=_invoke)
    return parser


# each command's module is imported only when it runs: `up` never loads the bench's model
def _up(args: argparse.Namespace) -> int:
    from local_stack.commands.up import up

    return up(args)


def _run(args: argparse.Namespace) -> int:
    from local_stack.commands.run import run

    return run(args)


def _batch(args: argparse.Namespace) -> int:
    from local_stack.commands.batch import batch

    return batch(args)


def _demo(args: argparse.Namespace) -> int:
    from local_stack.commands.demo import run_demo

    return run_demo(args.out)


def _invoke(args: argparse.Namespace) -> int:
    from local_stack.commands.invoke import invoke_command

    return invoke_command(args)


def _bench(args: argparse.Namespace) -> int:
    if args.soak is not None:
        from local_stack.commands.soak import run_soak

        _check_at_least_one(soak=args.soak, concurrency=args.concurrency)
        return run_soak(args.soak, args.concurrency, args.execution_environments, args.retain_executions)
    if args.chaos:
        from local_stack.commands.chaos import DEFAULT_EXECUTIONS, run_chaos

        executions = args.executions or DEFAULT_EXECUTIONS
        _check_at_least_one(executions=executions, concurrency=args.concurrency)
        return run_chaos(executions, args.concurrency, args.execution_environments)
    from local_stack.commands.bench import run_bench

    return run_bench(
        args.executions or 400, args.concurrency, args.execution_environments, args.workflow_type
    )


def _check_at_least_one(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise UsageError(f"--{name} {value}: must be at least 1")
