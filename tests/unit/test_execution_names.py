"""StartExecution as AWS answers it, through the wire: an unnamed start gets a UUID name, a name
AWS refuses is refused with AWS's error code, the same name and input while the first runs is
the same execution, input that is not JSON is ``InvalidExecutionInput``.

The calls go the whole way a client's do (boto3 serialises the request, moto's server app
answers it, botocore parses the answer, error codes included), but through WSGI in this
process instead of a loopback socket, which unit tests never open: ``moto_app()`` is the app
the local stack serves on cheroot."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from werkzeug.test import Client

from local_stack.aws import moto_patches
from tests.conftest import service_role

REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/r"
PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
# long enough to still be running when a test's next call comes, on a busy 2-core machine
WAIT = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 5, "End": True}}}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


class _Body:
    """An answer's body as botocore reads it."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _answered_by(app: Any):
    """A ``before-send`` handler that hands botocore's prepared request to ``app``."""
    http = Client(app)

    def send(request: Any, **_: Any) -> AWSResponse:
        url = urllib.parse.urlsplit(request.url)
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        answer = http.open(
            url.path, query_string=url.query, method=request.method, headers=headers, data=request.body or b""
        )
        return AWSResponse(request.url, answer.status_code, dict(answer.headers), _Body(answer.get_data()))

    return send


@pytest.fixture
def moto_server():
    """moto's server app with the stack's patches and its interpreter on, empty before and after."""
    moto_patches.install()
    app = moto_patches.moto_app()
    http = Client(app)
    previous = json.loads(http.get("/moto-api/config").get_data()).get("stepfunctions", {})
    http.post("/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}})
    http.post("/moto-api/reset")
    yield app
    http.post("/moto-api/reset")
    http.post("/moto-api/config", json={"stepfunctions": {"execute_state_machine": False, **previous}})


@pytest.fixture
def sfn(moto_server):
    client = boto3.client(
        "stepfunctions",
        region_name=REGION,
        endpoint_url="http://localhost:5000",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.meta.events.register("before-send", _answered_by(moto_server))
    iam = boto3.client(
        "iam",
        region_name=REGION,
        endpoint_url="http://localhost:5000",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    iam.meta.events.register("before-send", _answered_by(moto_server))
    assert service_role(iam, "states.amazonaws.com") == ROLE_ARN
    return client


def _state_machine(sfn, definition: dict, name: str = "m") -> str:
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE_ARN)[
        "stateMachineArn"
    ]


def _error_code(sfn, **start: Any) -> str:
    with pytest.raises(sfn.exceptions.ClientError) as refused:
        sfn.start_execution(**start)
    return refused.value.response["Error"]["Code"]


def _wait_until_ended(sfn, arn: str) -> None:
    deadline = time.monotonic() + 120
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.01)


def test_unnamed_starts_get_distinct_uuid_names_and_are_both_listed(sfn):
    """As ``aws stepfunctions start-execution --state-machine-arn ... --input '{...}'`` sends it."""
    machine = _state_machine(sfn, PASS)
    first = sfn.start_execution(stateMachineArn=machine, input='{"n": 1}')["executionArn"]
    second = sfn.start_execution(stateMachineArn=machine, input='{"n": 1}')["executionArn"]

    names = [arn.rsplit(":", 1)[1] for arn in (first, second)]
    assert names[0] != names[1] and all(UUID.fullmatch(name) for name in names)
    assert [sfn.describe_execution(executionArn=arn)["name"] for arn in (first, second)] == names
    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert sorted(e["name"] for e in listed) == sorted(names)


FORBIDDEN = {
    "whitespace": ["a b", "a\tb", "a\nb", "a\u00a0b", "a\u3000b"],
    "brackets": ["a<b", "a>b", "a{b", "a}b", "a[b", "a]b"],
    "wildcards": ["a?b", "a*b"],
    "special characters": [f"a{c}b" for c in '"#%\\^|~`$&,;:/'],
    "control characters": ["a\x00b", "a\x1fb", "a\x7fb", "a\x9fb"],
    "non-characters": ["a\ufffeb", "a\uffffb"],
}


@pytest.mark.parametrize(
    "name",
    [name for names in FORBIDDEN.values() for name in names],
    ids=[f"{kind}-{index}" for kind, names in FORBIDDEN.items() for index in range(len(names))],
)
def test_a_name_with_a_character_aws_forbids_is_an_invalid_name(sfn, name):
    machine = _state_machine(sfn, PASS)
    assert _error_code(sfn, stateMachineArn=machine, name=name) == "InvalidName"
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []


def test_a_name_longer_than_80_characters_fails_the_apis_validation(sfn):
    """The API's length constraint (1 to 80), answered before any other check, as AWS does."""
    machine = _state_machine(sfn, PASS)
    assert _error_code(sfn, stateMachineArn=machine, name="a" * 81) == "ValidationException"
    started = sfn.start_execution(stateMachineArn=machine, name="a" * 80)["executionArn"]
    assert started.endswith(":" + "a" * 80)


def test_names_aws_takes_are_taken(sfn):
    machine = _state_machine(sfn, PASS)
    for name in ("run-1", "Run_2", "é-ünïcode", "a.b@c+d=e!f'g(h)"):
        started = sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"]
        assert sfn.describe_execution(executionArn=started)["name"] == name


def test_the_same_name_and_input_while_the_first_runs_is_the_same_execution(sfn):
    machine = _state_machine(sfn, WAIT)
    first = sfn.start_execution(stateMachineArn=machine, name="job", input='{"a": 1}')
    again = sfn.start_execution(stateMachineArn=machine, name="job", input='{"a": 1}')

    assert (again["executionArn"], again["startDate"]) == (first["executionArn"], first["startDate"])
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1


def test_the_same_name_with_other_input_while_the_first_runs_already_exists(sfn):
    machine = _state_machine(sfn, WAIT)
    sfn.start_execution(stateMachineArn=machine, name="job", input='{"a": 1}')
    code = _error_code(sfn, stateMachineArn=machine, name="job", input='{"a": 2}')
    assert code == "ExecutionAlreadyExists"


def test_the_same_name_and_input_after_the_first_ended_already_exists(sfn):
    machine = _state_machine(sfn, PASS)
    first = sfn.start_execution(stateMachineArn=machine, name="job", input='{"a": 1}')["executionArn"]
    _wait_until_ended(sfn, first)
    code = _error_code(sfn, stateMachineArn=machine, name="job", input='{"a": 1}')
    assert code == "ExecutionAlreadyExists"


def test_concurrent_starts_with_the_same_name_and_input_start_one_execution(sfn, monkeypatch):
    """A client that retries a start it thinks was lost, while the first is still starting."""
    from moto.stepfunctions.parser.backend.execution import Execution

    start = Execution.start
    monkeypatch.setattr(Execution, "start", lambda execution: time.sleep(0.3) or start(execution))
    machine = _state_machine(sfn, WAIT)
    answers: list[Any] = []

    def start_job() -> None:
        try:
            answers.append(
                sfn.start_execution(stateMachineArn=machine, name="job", input="{}")["executionArn"]
            )
        except sfn.exceptions.ClientError as error:
            answers.append(error.response["Error"]["Code"])

    threads = [threading.Thread(target=start_job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == 2 and answers[0] == answers[1] and answers[0].startswith("arn:")
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1


def test_input_that_is_not_json_is_invalid_execution_input(sfn):
    machine = _state_machine(sfn, PASS)
    with pytest.raises(sfn.exceptions.ClientError) as refused:
        sfn.start_execution(stateMachineArn=machine, input='{"a": ')
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidExecutionInput"
    assert error["Message"].startswith("Invalid State Machine Execution Input: '")
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []


def test_input_over_256_kib_fails_the_apis_validation(sfn):
    """262,144 bytes of UTF-8 at most (the API's constraint); one more is refused before any
    other check."""
    machine = _state_machine(sfn, PASS)
    # "é" is 2 bytes in UTF-8; the quotes, one each
    largest = json.dumps("é" * ((262_144 - 2) // 2), ensure_ascii=False)
    assert len(largest.encode()) == 262_144 and len(largest) < 262_144
    assert sfn.start_execution(stateMachineArn=machine, name="largest", input=largest)["executionArn"]
    too_large = json.dumps("é" * ((262_144 - 2) // 2) + "a", ensure_ascii=False)
    assert (
        _error_code(sfn, stateMachineArn=machine, name="too-large", input=too_large) == "ValidationException"
    )


def test_a_missing_state_machine_is_named_before_a_bad_name(sfn):
    missing = f"arn:aws:states:{REGION}:123456789012:stateMachine:missing"
    assert _error_code(sfn, stateMachineArn=missing, name="a b") == "StateMachineDoesNotExist"
