"""`python -m local_stack up` in a process of its own, driven from this one (as `bench` does)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from local_stack.commands.cli import main
from local_stack.errors import LocalStackError
from local_stack.processes.stack_process import _module_of, _process_stats, start_stack_process
from local_stack.settings import DEFAULT_EXECUTION_ENVIRONMENTS, SAMPLES_DIR


@pytest.mark.slow  # a stack of its own: started and stopped here
def test_up_in_a_child_process_serves_the_stack_and_stops_on_close():
    with start_stack_process(["--bucket", "scones-child-process"]) as stack:
        assert stack.bucket == "scones-child-process"
        assert stack.environment["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        # S3 is a moto server of its own, found through the service's own setting
        assert stack.environment["AWS_ENDPOINT_URL_S3"] != stack.environment["AWS_ENDPOINT_URL"]
        machines = stack.client("stepfunctions").list_state_machines()["stateMachines"]
        assert sorted(m["stateMachineArn"] for m in machines) == sorted(
            [stack.state_machine_arn, stack.state_machine_arn.replace("-ClassifyImage", "-BatchClassify")]
        )  # the one-photo workflow and the batch
        assert (
            stack.client("s3").head_bucket(Bucket=stack.bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
        )
        cpu = stack.cpu_seconds()
        if Path("/proc").is_dir():
            assert cpu > 0
            children = [pid for pid, stat in _process_stats() if stat[1] == stack.process.pid]
            modules = sorted(_module_of(pid) for pid in children)
            assert set(stack.cpu_seconds_by_part()) == {
                "moto + interpreter",
                "execution environments",
                "S3",
                "endpoint",
            }
            assert modules == [  # S3, the endpoint, and the functions' execution environments
                "local_stack.processes.endpoint_server",
                *["local_stack.processes.execution_environments"] * DEFAULT_EXECUTION_ENVIRONMENTS,
                "local_stack.processes.s3_server",
            ]
    assert stack.process.returncode == 0  # SIGTERM is a clean stop, like Ctrl-C
    if Path("/proc").is_dir():  # they end with it
        deadline = time.monotonic() + 60
        while [pid for pid in children if Path(f"/proc/{pid}").exists()] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]


@pytest.mark.slow  # a stack of its own: one that fails to start
def test_an_up_that_fails_to_start_is_a_named_error():
    with pytest.raises(LocalStackError, match="stopped before serving"):
        start_stack_process(["--threshold", "2"])


@pytest.mark.slow  # a stack of its own: --bucket
def test_run_uses_the_bucket_of_the_stack_that_up_serves(tmp_path, monkeypatch, capsys):
    """`up --bucket X`, then `run` with its exports: the images go to X, not to run's default."""
    with start_stack_process(["--bucket", "scones-attached"]) as stack:
        for name, value in stack.environment.items():
            monkeypatch.setenv(name, value)
        results = tmp_path / "run.json"

        assert main(["run", "--images", str(SAMPLES_DIR), "--limit", "2", "--json", str(results)]) == 0
        assert "bucket scones-attached" in capsys.readouterr().err
        assert json.loads(results.read_text())["summary"]["executions"] == 2
        listed = stack.client("s3").list_objects_v2(Bucket="scones-attached")["Contents"]
        assert len({o["Key"] for o in listed if o["Key"].startswith("images/")}) == 2

        assert main(["run", "--images", str(SAMPLES_DIR), "--limit", "1", "--bucket", "someone-elses"]) == 2
        assert "serves scones-attached, scones-vehicle-images; name one of them" in capsys.readouterr().err


@pytest.mark.slow  # a stack of its own: bench's
def test_bench_runs_end_to_end_and_reports_every_figure(capsys):
    """A smoke run, not a timing: the figures' values depend on the machine."""
    from local_stack.commands.bench import run_bench

    assert run_bench(executions=24, concurrency=4, execution_environments=2) == 0
    out = capsys.readouterr().out
    assert "local stack: 24 executions at concurrency 4" in out
    assert re.search(r"direct: three handlers \+ model in a loop: [\d.]+ images/s", out)
    assert re.search(r"overhead: the stack takes [\d.]+x", out)
    if Path("/proc").is_dir():
        assert re.search(r"cores used: [\d.]+; CPU per execution is [\d.]+x", out)


@pytest.mark.slow  # a stack of its own: --retain-executions
def test_up_forgets_ended_executions_beyond_retain_executions():
    with start_stack_process(["--retain-executions", "2", "--execution-environments", "1"]) as stack:
        sfn = stack.client("stepfunctions")
        started = []
        for number in range(4):  # one at a time: each has ended before the next starts
            started.append(
                sfn.start_execution(
                    stateMachineArn=stack.state_machine_arn,
                    name=f"retain-{number}",
                    input=json.dumps({"s3_bucket": stack.bucket, "s3_key": "nothing-here.png"}),
                )["executionArn"]
            )
            deadline = time.monotonic() + 30
            while sfn.describe_execution(executionArn=started[-1])["status"] == "RUNNING":
                assert time.monotonic() < deadline
                time.sleep(0.05)
        listed = [
            e["executionArn"]
            for e in sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
        ]
    # at the 4th start: the 2 newest ended and the 4th (unless it had already ended: then those 2)
    assert sorted(listed) in (sorted(started[1:]), sorted(started[2:]))


def test_retain_executions_below_one_is_a_usage_error(capsys):
    assert main(["run", "--images", str(SAMPLES_DIR), "--retain-executions", "0"]) == 2
    assert "--retain-executions 0: must be at least 1" in capsys.readouterr().err
