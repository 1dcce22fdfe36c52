"""local_stack.runner's execution watcher, with a stand-in Step Functions client."""

from local_stack.runner import ExecutionWatcher


class StepFunctionsStandIn:
    def __init__(self, statuses: dict[str, str]):
        self.statuses = statuses

    def get_paginator(self, name):
        assert name == "list_executions"
        return self

    def paginate(self, stateMachineArn, statusFilter):
        running = [{"executionArn": arn} for arn, status in self.statuses.items() if status == statusFilter]
        return [{"executions": running}]

    def describe_execution(self, executionArn):
        return {"executionArn": executionArn, "status": self.statuses[executionArn]}


def test_an_ended_execution_is_described_once_it_leaves_running():
    sfn = StepFunctionsStandIn({"a": "SUCCEEDED"})
    watcher = ExecutionWatcher(sfn, "sm", interval=0.001)
    try:
        assert watcher.wait("a") == {"executionArn": "a", "status": "SUCCEEDED"}
    finally:
        watcher.close()


def test_an_execution_still_running_at_the_timeout_is_reported_as_running_not_raised():
    sfn = StepFunctionsStandIn({"slow": "RUNNING"})
    watcher = ExecutionWatcher(sfn, "sm", interval=0.001, timeout=0.05)
    try:
        assert watcher.wait("slow")["status"] == "RUNNING"
    finally:
        watcher.close()
