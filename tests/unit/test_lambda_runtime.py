"""The in-process Lambda bridge runs handlers as Lambda would: one invocation at a time."""

from __future__ import annotations

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from local_stack.aws import lambda_runtime
from tests.conftest import load_event


def test_concurrent_invocations_do_not_share_powertools_state(functions):
    """Powertools' metric set is class-level: two handlers at once used to flush each other's
    metrics and fail with SchemaValidationError. Sixteen threads, two events, no failure."""
    handler = functions["FilterInferences"].app.lambda_handler
    events = [load_event("filter_inferences.json"), load_event("filter_inferences_low_confidence.json")]
    start = threading.Barrier(16)

    def call(number: int) -> tuple[str, bool]:
        if number < 16:
            start.wait()
        return lambda_runtime.invoke("FilterInferences", handler, events[number % 2])

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the race needs a switch mid-flush
    try:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(call, range(3000)))
    finally:
        sys.setswitchinterval(switch_interval)

    errors = {json.loads(text)["errorType"] for text, errored in results if errored}
    assert errors == {"ThresholdConfidenceNotMet"}  # the low-confidence event's own error, nothing else
    assert sum(not errored for _, errored in results) == 1500


def test_a_result_that_is_not_json_is_the_runtimes_marshal_error():
    text, errored = lambda_runtime.invoke("f", lambda event, context: {"when": object()}, {}, "request-1")
    assert errored is True
    error = json.loads(text)
    assert error["errorType"] == "Runtime.MarshalError"
    assert error["errorMessage"].startswith("Unable to marshal response: Object of type object")
    assert error["requestId"] == "request-1"


def test_the_context_carries_the_request_id():
    text, _ = lambda_runtime.invoke("f", lambda event, context: context.aws_request_id, {}, "request-2")
    assert json.loads(text) == "request-2"
