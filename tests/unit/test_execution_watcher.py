"""local_stack.client.executions: the execution watcher, with a stand-in Step Functions client."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from local_stack.client.executions import ExecutionWatcher
from local_stack.errors import LocalStackError


class NoReviewHistory:
    """A running execution's history that is not a wait for a person."""

    def paginate(self, executionArn):
        return [{"events": [{"id": 1, "type": "ExecutionStarted"}]}]


class StepFunctionsStandIn:
    def __init__(self, statuses: dict[str, str]):
        self.statuses = statuses

    def get_paginator(self, name):
        assert name in ("list_executions", "get_execution_history")
        return self if name == "list_executions" else NoReviewHistory()

    def paginate(self, stateMachineArn, statusFilter):
        running = [{"executionArn": arn} for arn, status in self.statuses.items() if status == statusFilter]
        return [{"executions": running}]

    def describe_execution(self, executionArn):
        return {"executionArn": executionArn, "status": self.statuses[executionArn]}


def test_an_ended_execution_is_described_once_it_leaves_running():
    sfn = StepFunctionsStandIn({"a": "SUCCEEDED"})
    with ExecutionWatcher(sfn, "sm", interval=0.001) as watcher:
        assert watcher.wait("a") == {"executionArn": "a", "status": "SUCCEEDED"}


def test_an_execution_still_running_at_the_timeout_is_reported_as_running_not_raised():
    sfn = StepFunctionsStandIn({"slow": "RUNNING"})
    with ExecutionWatcher(sfn, "sm", interval=0.001, timeout=0.05) as watcher:
        assert watcher.wait("slow")["status"] == "RUNNING"


def test_each_waiter_describes_its_own_execution_so_describes_run_side_by_side():
    described_in = []

    class Recording(StepFunctionsStandIn):
        def describe_execution(self, executionArn):
            described_in.append(threading.current_thread().name)
            return super().describe_execution(executionArn)

    sfn = Recording({arn: "SUCCEEDED" for arn in "abc"})
    with (
        ExecutionWatcher(sfn, "sm", interval=0.001) as watcher,
        ThreadPoolExecutor(3, thread_name_prefix="waiter") as pool,
    ):
        assert [e["executionArn"] for e in pool.map(watcher.wait, "abc")] == list("abc")
    assert len(described_in) == 3 and all(name.startswith("waiter") for name in described_in)


def test_an_execution_described_as_running_after_it_left_the_list_is_waited_for_again():
    class Lagging(StepFunctionsStandIn):
        """ListExecutions already leaves it out, DescribeExecution still says RUNNING once."""

        def __init__(self):
            super().__init__({"a": "SUCCEEDED"})
            self.describes = 0

        def describe_execution(self, executionArn):
            self.describes += 1
            return {"executionArn": executionArn, "status": "RUNNING" if self.describes == 1 else "SUCCEEDED"}

    sfn = Lagging()
    with ExecutionWatcher(sfn, "sm", interval=0.001) as watcher:
        assert watcher.wait("a")["status"] == "SUCCEEDED" and sfn.describes == 2


@pytest.mark.parametrize(
    "error",
    # a TimeoutError must not pass for the wait's own timeout (and report RUNNING)
    [ConnectionError("stack gone"), TimeoutError("read timed out")],
    ids=["connection", "timeout"],
)
def test_a_failing_list_reaches_the_waiter_as_the_error(error):
    class Broken(StepFunctionsStandIn):
        def paginate(self, stateMachineArn, statusFilter):
            raise error

    with (
        ExecutionWatcher(Broken({}), "sm", interval=0.001) as watcher,
        pytest.raises(type(error), match=str(error)),
    ):
        watcher.wait("a")


def test_a_running_execution_that_is_not_listed_yet_is_described_with_backoff():
    """AWS's ListExecutions is eventually consistent: a new execution may be missing from it."""

    class NotListedYet(StepFunctionsStandIn):
        def __init__(self):
            super().__init__({})
            self.describes = 0

        def describe_execution(self, executionArn):
            self.describes += 1
            return {"executionArn": executionArn, "status": "RUNNING"}

    sfn = NotListedYet()
    with ExecutionWatcher(sfn, "sm", interval=0.001, timeout=0.3) as watcher:
        assert watcher.wait("new")["status"] == "RUNNING"
    assert sfn.describes <= 12  # 1, 2, 4 ... 256 ms apart, not once per round (~300)


def test_close_ends_the_waits_with_a_named_error():
    watcher = ExecutionWatcher(StepFunctionsStandIn({"slow": "RUNNING"}), "sm", interval=0.001)
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(watcher.wait, "slow")
        deadline = time.monotonic() + 60
        while "slow" not in watcher._waiting:  # the wait has begun: close ends it, not refuses it
            assert time.monotonic() < deadline, "the wait did not begin"
            time.sleep(0.01)
        watcher.close()
        with pytest.raises(LocalStackError, match="closed while waiting"):
            waiting.result(timeout=60)
    with pytest.raises(LocalStackError, match="closed"):
        watcher.wait("later")
