"""Lambda execution environments as worker processes: same answers as the handler run here,
one invocation per environment at a time, a dead environment answered and replaced."""

from __future__ import annotations

import json
import os
import signal
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from local_stack.aws import lambda_runtime
from local_stack.errors import LocalStackError
from local_stack.processes.execution_environments import ExecutionEnvironments, FunctionSpec
from tests.conftest import load_event


def write_function(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "app.py").write_text(textwrap.dedent(body))
    return folder


@pytest.fixture
def probe(tmp_path) -> FunctionSpec:
    """Answers its process id and its setting; exits the process when asked to."""
    code_dir = write_function(
        tmp_path / "probe",
        """
        import os, time
        SETTING = os.environ["PROBE_SETTING"]  # read at import, as our functions read theirs

        def lambda_handler(event, context):
            if event.get("exit"):
                os._exit(event["exit"])
            if event.get("fail"):
                raise ValueError(event["fail"])
            print("handled", event.get("n"))  # a log line: goes to the function log
            time.sleep(event.get("sleep", 0))
            return {
                "pid": os.getpid(), "setting": SETTING, "n": event.get("n"), "function": context.function_name
            }
        """,
    )
    return FunctionSpec(code_dir, {"PROBE_SETTING": "from-the-template"})


def test_the_filter_answers_as_it_does_in_this_process(template, functions):
    filter_dir = template.function_code_dir("FilterInferencesFunction")
    spec = FunctionSpec(filter_dir, {**_filter_environment(template)})
    events = [load_event("filter_inferences.json"), load_event("filter_inferences_low_confidence.json")]
    with ExecutionEnvironments({"filter": spec}, size=1) as environments:
        remote = [environments.invoke("filter", event) for event in events]
    handler = functions["FilterInferences"].app.lambda_handler
    here = [lambda_runtime.invoke("filter", handler, event) for event in events]

    assert remote[0] == here[0] and remote[0][1] is False
    (text, errored), (here_text, _) = remote[1], here[1]
    assert errored is True
    assert json.loads(text)["errorType"] == json.loads(here_text)["errorType"] == "ThresholdConfidenceNotMet"
    assert json.loads(text)["errorMessage"] == json.loads(here_text)["errorMessage"]


def _filter_environment(template) -> dict[str, str]:
    from local_stack.aws.template import make_resolver

    resolve = make_resolver({**template.parameter_defaults(), "EndpointName": "e"}, {}, {})
    return template.function_environment("FilterInferencesFunction", resolve)


def test_each_environment_runs_one_invocation_at_a_time_and_they_run_side_by_side(probe, tmp_path):
    log = tmp_path / "functions.log"
    with ExecutionEnvironments({"probe": probe}, size=2, function_log=log) as environments:

        def call(n: int) -> dict:
            text, errored = environments.invoke("probe", {"n": n, "sleep": 0.02})
            assert not errored, text
            return json.loads(text)

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(call, range(40)))
    # eight callers, two environments: every caller got its own answer (no two invocations
    # shared an environment's pipe at once)
    assert [a["n"] for a in answers] == list(range(40))
    assert {a["setting"] for a in answers} == {"from-the-template"}
    assert {a["function"] for a in answers} == {"probe"}
    assert len({a["pid"] for a in answers}) == 2  # both environments served
    # what the handlers printed went to the function log, whole lines, none lost
    lines = log.read_text().splitlines()
    assert sorted(lines) == sorted(f"handled {n}" for n in range(40))


def test_a_handler_error_is_a_lambda_error_payload(probe):
    with ExecutionEnvironments({"probe": probe}, size=1) as environments:
        text, errored = environments.invoke("probe", {"fail": "bad input"})
    assert errored is True
    error = json.loads(text)
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "bad input")
    assert error["stackTrace"]


def test_an_environment_that_dies_answers_runtime_exit_error_and_is_replaced(probe):
    with ExecutionEnvironments({"probe": probe}, size=1) as environments:
        before = json.loads(environments.invoke("probe", {"n": 1})[0])["pid"]
        text, errored = environments.invoke("probe", {"exit": 3})
        after = json.loads(environments.invoke("probe", {"n": 2})[0])["pid"]

    assert errored is True
    error = json.loads(text)
    assert error["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in error["errorMessage"]
    assert after != before  # a fresh environment (a cold start) took its place


def test_a_function_that_cannot_be_imported_stops_the_start_with_a_named_error(tmp_path):
    broken = write_function(tmp_path / "broken", "import a_module_that_does_not_exist\n")
    with pytest.raises(LocalStackError, match=r"did not start: Runtime\.ImportModuleError: Unable to import"):
        ExecutionEnvironments({"broken": FunctionSpec(broken, {})}, size=2)


def test_an_environment_killed_while_idle_is_a_cold_start_not_a_failure(probe):
    with ExecutionEnvironments({"probe": probe}, size=1) as environments:
        first = json.loads(environments.invoke("probe", {"n": 1})[0])["pid"]
        os.kill(first, signal.SIGKILL)
        _wait_until_dead(first)  # before the next invocation looks
        text, errored = environments.invoke("probe", {"n": 2})
    assert errored is False
    assert json.loads(text)["pid"] != first


def test_a_killed_environment_answers_as_lambda_words_a_signal(probe):
    with ExecutionEnvironments({"probe": probe}, size=1) as environments:
        text, errored = environments.invoke("probe", {"exit": -9})  # os._exit(-9): status 247
        assert "exit status 247" in json.loads(text)["errorMessage"]
        killer = threading.Timer(0.3, lambda: os.kill(_only_worker(environments), signal.SIGKILL))
        killer.start()
        text, errored = environments.invoke("probe", {"n": 1, "sleep": 5})
    assert errored is True
    assert json.loads(text)["errorMessage"].endswith("Runtime exited with error: signal: killed")


def _wait_until_dead(pid: int) -> None:
    """Until the process has ended (a zombie, or reaped), however slow the machine."""
    deadline = time.monotonic() + 60
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return
        if state in ("Z", "X"):
            return
        assert time.monotonic() < deadline, f"{pid} still alive"
        time.sleep(0.01)


def _only_worker(environments: ExecutionEnvironments) -> int:
    (process,) = environments._live
    return process.pid


def test_an_invocation_past_the_timeout_is_stopped_and_answers_sandbox_timedout(probe):
    slow = FunctionSpec(probe.code_dir, probe.environment, timeout_seconds=0.5)
    with ExecutionEnvironments({"probe": slow}, size=1) as environments:
        started = time.monotonic()
        text, errored = environments.invoke("probe", {"n": 1, "sleep": 30})
        waited = time.monotonic() - started
        after, _ = environments.invoke("probe", {"n": 2})  # a fresh environment serves the next one
    assert errored is True and waited < 20  # stopped at its 0.5 s timeout, not after its 30 s sleep
    error = json.loads(text)
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Task timed out after 0.50 seconds")
    assert json.loads(after)["n"] == 2


def test_a_cold_start_that_fails_answers_the_init_error_and_the_slot_stays(probe, tmp_path):
    with ExecutionEnvironments({"probe": probe}, size=1) as environments:
        (probe.code_dir / "app.py").write_text("raise KeyError('SETTING')\n")  # the code changed meanwhile
        environments.invoke("probe", {"exit": 1})  # its environment ends: the next one starts afresh
        answers = [environments.invoke("probe", {"n": n}) for n in range(3)]  # never blocks
    for text, errored in answers:
        assert errored is True
        assert (json.loads(text)["errorType"], json.loads(text)["errorMessage"]) == ("KeyError", "'SETTING'")


def test_close_ends_waiting_invocations_instead_of_leaving_them_blocked(probe, tmp_path):
    log = tmp_path / "functions.log"
    environments = ExecutionEnvironments({"probe": probe}, size=1, function_log=log)
    with ThreadPoolExecutor(4) as pool:
        calls = [pool.submit(environments.invoke, "probe", {"n": n, "sleep": 0.5}) for n in range(4)]
        deadline = time.monotonic() + 120
        while "handled" not in (log.read_text() if log.exists() else ""):  # one invocation in hand
            assert time.monotonic() < deadline, "no invocation started"
            time.sleep(0.01)
        environments.close()
        outcomes = []
        for call in calls:
            try:
                outcomes.append(call.result(timeout=120))
            except LocalStackError as error:
                outcomes.append(str(error))
    answered = [o for o in outcomes if isinstance(o, tuple)]
    assert len(answered) == 1  # the one in hand finished; the other three were never started
    assert json.loads(answered[0][0])["n"] == int(log.read_text().split()[1])
    refused = [o for o in outcomes if not isinstance(o, tuple)]
    assert refused == ["the stack's execution environments are closed"] * 3
    with pytest.raises(LocalStackError, match="closed"):
        environments.invoke("probe", {"n": 9})


def test_at_least_one_environment(probe):
    with pytest.raises(LocalStackError, match="at least 1"):
        ExecutionEnvironments({"probe": probe}, size=0)
