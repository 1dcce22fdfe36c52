"""local_stack.aws.moto_patches against the installed moto: each patch's target is where it was,
with the parameters it had; install and uninstall swap them; each replacement does its job
through the moto internals it relies on. A moto upgrade that moves any of them fails here."""

from __future__ import annotations

import gc
import inspect
import io
import json
import subprocess
import sys
import time
import uuid
import weakref
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from local_stack.aws import lambda_runtime, moto_patches
from local_stack.aws.moto_patches import threads
from local_stack.errors import MotoVersionError
from local_stack.settings import REPO_ROOT
from tests.conftest import service_role

ALL_PATCHES = [patch for group in moto_patches.PATCHES.values() for patch in group]
# how long a wait for an execution's end (or a callback's message) may take before it fails: the
# longest, 1,100 children one after another, ended 4.6 s after its start with this machine's two
# cores at a load of 8.6; this is 25 times that
ENDED_WITHIN = 120.0
MOST_BETWEEN_LOOKS = 0.1  # seconds
DEFINITION = json.dumps(
    {
        "StartAt": "Pass",
        "States": {
            "Pass": {"Type": "Pass", "Result": {"a": 1}, "ResultPath": "$.b", "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
)


@pytest.fixture
def patched(pristine_moto):
    moto_patches.install()
    yield
    lambda_runtime.unregister_all()


def test_the_module_refuses_another_moto_by_name():
    probe = (
        "import moto; moto.__version__ = '0.0.1'\n"
        "try:\n"
        "    import local_stack.aws.moto_patches\n"
        "except Exception as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith(MotoVersionError.__name__)
    assert f"written for moto {moto_patches.MOTO_VERSION}" in out and "moto 0.0.1 is installed" in out


@pytest.mark.parametrize("patch", ALL_PATCHES, ids=[p.target for p in ALL_PATCHES])
def test_each_target_is_where_it_was_with_the_parameters_it_had(patch, pristine_moto):
    owner, name = patch.owner_and_name()
    original = getattr(owner, name)
    if patch.parameters is None:  # a value: moto's list of the threads it started
        assert type(original) is list
        return
    assert tuple(inspect.signature(original).parameters) == patch.parameters


@pytest.mark.parametrize("patch", ALL_PATCHES, ids=[p.target for p in ALL_PATCHES])
def test_install_replaces_each_target_and_uninstall_puts_the_original_back(patch, pristine_moto):
    owner, name = patch.owner_and_name()
    original = getattr(owner, name)

    moto_patches.install()
    moto_patches.install()  # idempotent: the original is still the one put back
    assert getattr(owner, name) is not original
    assert patch.target in moto_patches.installed()

    moto_patches.uninstall()
    assert getattr(owner, name) is original
    assert moto_patches.installed() == set()


def test_a_registered_function_runs_where_moto_would_start_a_container(patched):
    from moto.awslambda.models import LambdaFunction

    lambda_runtime.register_invoker("f", lambda event: (json.dumps({"got": event}), False))
    function = SimpleNamespace(function_name="f")
    assert LambdaFunction._invoke_lambda(function, {"n": 1}) == ('{"got": {"n": 1}}', False, "")


def test_a_functions_error_is_unhandled_as_lambda_answers_a_raised_exception(patched):
    from moto.awslambda.models import LambdaFunction

    error = json.dumps({"errorType": "InvalidEvent", "errorMessage": "no s3_key"})
    lambda_runtime.register_invoker("fails", lambda event: (error, True))
    lambda_runtime.register_invoker("works", lambda event: ("{}", False))
    for name, expected in (("fails", {"x-amz-function-error": "Unhandled"}), ("works", {})):
        function = SimpleNamespace(function_name=name, _invoke_lambda=None)
        function._invoke_lambda = lambda event, f=function: LambdaFunction._invoke_lambda(f, event)
        headers: dict[str, str] = {}
        LambdaFunction.invoke(function, "{}", {}, headers)
        assert {k: v for k, v in headers.items() if k == "x-amz-function-error"} == expected


def test_the_interpreters_lambda_client_is_made_once_and_invokes_registered_functions(patched):
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    lambda_runtime.register_invoker("f", lambda event: (json.dumps({"errorType": "Boom"}), True))
    client = lambda_eval_utils.boto_client_for("us-east-1", "lambda")
    assert lambda_eval_utils.boto_client_for("us-east-1", "lambda") is client

    answer = client.invoke(
        FunctionName="arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST", Payload=b"{}"
    )
    assert (answer["StatusCode"], answer["FunctionError"]) == (200, "Unhandled")
    assert json.load(answer["Payload"]) == {"errorType": "Boom"}
    assert isinstance(answer["Payload"], io.BytesIO)


def test_each_definition_is_parsed_once_with_its_heap_keys_drawn(patched, monkeypatch):
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    parses = []
    parse = AmazonStateLanguageParser.parse
    monkeypatch.setattr(AmazonStateLanguageParser, "parse", lambda d: parses.append(d) or parse(d))
    worker = SimpleNamespace(
        _evaluation_details=SimpleNamespace(state_machine_details=SimpleNamespace(definition=DEFINITION))
    )

    program = ExecutionWorker._get_evaluation_entrypoint(worker)
    assert ExecutionWorker._get_evaluation_entrypoint(worker) is program
    assert parses == [DEFINITION]
    components: list = []
    _collect(program, EvalComponent, components, set())
    assert components and all(vars(c).get("_EvalComponent__heap_key") for c in components)


def _collect(component, eval_component, found: list, seen: set) -> None:
    if id(component) in seen:
        return
    seen.add(id(component))
    if isinstance(component, eval_component):
        found.append(component)
    children = vars(component).values() if hasattr(component, "__dict__") else ()
    if isinstance(component, list | tuple):
        children = component
    for child in children:
        if isinstance(child, list | tuple) or type(child).__module__.startswith("moto.stepfunctions"):
            _collect(child, eval_component, found, seen)


@pytest.mark.parametrize("module", ["json_path", "result_path"])
def test_json_paths_are_parsed_once_per_path(patched, module):
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    parse = {"json_path": json_path, "result_path": result_path}[module].parse
    assert parse("$.a.b") is parse("$.a.b")
    assert [match.value for match in parse("$.a.b").find({"a": {"b": 7}})] == [7]


def test_the_servers_method_names_are_kept_per_class(patched):
    from moto.core import responses
    from moto.stepfunctions.responses import StepFunctionResponse

    names = responses.method_names_from_class(StepFunctionResponse)
    assert isinstance(names, tuple) and "list_executions" in names
    assert responses.method_names_from_class(StepFunctionResponse) is names


def test_the_moto_app_looks_each_host_up_once(pristine_moto, monkeypatch):
    from moto import backends

    app = moto_patches.moto_app()
    assert "moto.core.responses:method_names_from_class" in moto_patches.installed()
    listed = []
    modules = backends.list_of_moto_modules
    monkeypatch.setattr(backends, "list_of_moto_modules", lambda: listed.append(1) or modules())
    with app.lock:  # as moto's __call__ asks
        assert app.get_backend_for_host("stepfunctions") == "stepfunctions"
        assert app.get_backend_for_host("stepfunctions") == "stepfunctions"
    assert listed == [1]


def test_retry_sleeps_are_recorded_for_the_block_only():
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    real_time = retrier_decl.time
    with moto_patches.retry_sleeps_recorded() as slept:
        retrier_decl.time.sleep(1.5)
    assert slept == [1.5] and retrier_decl.time is real_time


@pytest.fixture
def keep_two_ended_executions(patched):
    previous = moto_patches.keep_ended_executions(2)
    yield
    moto_patches.keep_ended_executions(previous)


def test_ended_executions_beyond_the_limit_are_forgotten_oldest_first_histories_included(
    keep_two_ended_executions,
):
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = _state_machine(sfn)
        backend = stepfunctions_parser_backends["123456789012"]["us-east-1"]
        started, first = [], None
        for number in range(5):
            started.append(sfn.start_execution(stateMachineArn=arn, name=f"e{number}")["executionArn"])
            if first is None:
                first = weakref.ref(backend.describe_execution(started[0]))
            _wait_until_ended(sfn, started[-1])
        # the limit applies at each start (the new one may have ended already: a Pass is quick)
        started.append(sfn.start_execution(stateMachineArn=arn, name="e5")["executionArn"])

        listed = {e["executionArn"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]}
        forgotten = [a for a in started if a not in listed]
        assert forgotten == started[: len(forgotten)] and len(forgotten) in (3, 4)  # the oldest
        assert sfn.describe_execution(executionArn=started[4])["status"] == "SUCCEEDED"
        with pytest.raises(sfn.exceptions.ExecutionDoesNotExist):
            sfn.get_execution_history(executionArn=started[0])
        gc.collect()
        assert first() is None  # nothing else holds it: its input, output and history are freed


def test_the_threads_of_ended_executions_are_not_kept(patched):
    """moto appends every thread of every execution to a list it never reads (localstack's
    ``TMP_THREADS``), imported by name wherever a thread starts: each of those names gets a list
    that keeps none."""
    from moto.stepfunctions.parser import utils
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state
    from moto.stepfunctions.parser.backend import execution_worker

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = _state_machine(sfn)
        _run_to_the_end(sfn, arn, 20)
    assert execution_worker.TMP_THREADS == execute_state.TMP_THREADS == utils.TMP_THREADS == []


def test_uninstall_in_a_fresh_process_puts_moto_s_own_thread_list_back_everywhere():
    # install imports the modules one by one: one that imports the list after ``utils`` was
    # patched would keep ours for good
    probe = (
        "import importlib\n"
        "from local_stack.aws import moto_patches\n"
        "from local_stack.aws.moto_patches import threads\n"
        "moto_patches.install()\n"
        "moto_patches.uninstall()\n"
        "lists = [importlib.import_module(m).TMP_THREADS for m in threads.THREAD_LISTS]\n"
        "print([m for m, kept in zip(threads.THREAD_LISTS, lists) if type(kept) is not list])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_every_module_that_imported_the_thread_list_is_patched():
    import importlib
    import pathlib

    import moto.stepfunctions.parser as parser

    root = pathlib.Path(parser.__file__).parent
    importers = {
        "moto.stepfunctions.parser." + ".".join(path.relative_to(root).with_suffix("").parts)
        for path in root.rglob("*.py")
        if "TMP_THREADS" in path.read_text()
    }
    assert importers == set(threads.THREAD_LISTS)
    for module in importers:
        importlib.import_module(module)


def test_without_a_limit_every_execution_is_kept(patched):
    assert moto_patches.keep_ended_executions(None) is None
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = _state_machine(sfn)
        _run_to_the_end(sfn, arn, 3)
        assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 3


def test_an_execution_is_listed_only_once_it_has_started(patched, monkeypatch):
    """moto appends it before ``start()`` gives it a status: a ListExecutions in between failed."""
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    seen_while_starting = []
    start = Execution.start

    def start_and_look(execution):
        machine = stepfunctions_parser_backends["123456789012"]["us-east-1"].describe_state_machine(
            execution.state_machine_arn
        )
        seen_while_starting.append(execution in machine.executions)
        start(execution)

    monkeypatch.setattr(Execution, "start", start_and_look)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = _state_machine(sfn)
        started = sfn.start_execution(stateMachineArn=arn, name="e")["executionArn"]
        assert seen_while_starting == [False]
        assert [e["executionArn"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]] == [
            started
        ]


def test_moto_parser_errors_answer_with_an_empty_code_unless_given_theirs():
    """Why each refusal of the start patch passes its code (``InvalidExecutionInput(message)``
    answered "An error occurred () ..." on the wire)."""
    from moto.stepfunctions.parser.api import InvalidExecutionInput, InvalidName

    assert InvalidExecutionInput("bad").error_type is None
    assert InvalidName("bad", InvalidName.code).error_type == "InvalidName"
    assert json.loads(InvalidName("bad", InvalidName.code).get_body())["__type"] == "InvalidName"


@pytest.mark.parametrize(
    ("name", "execution_input", "violated"),
    [
        ("a" * 80, "{}", None),
        (
            "a" * 81,
            "{}",
            "at 'name' failed to satisfy constraint: Member must have length less than or equal to 80",
        ),
        ("", "{}", "Member must have length greater than or equal to 1"),
        (None, '"' + "a" * 262_142 + '"', None),
        (
            None,
            '"' + "a" * 262_143 + '"',
            "Member must have size less than or equal to 262144 bytes in UTF-8",
        ),
        (None, None, None),
    ],
)
def test_starts_outside_the_apis_constraints_are_named(name, execution_input, violated):
    found = moto_patches.start_execution_constraint_violation(name, execution_input)
    assert found is None if violated is None else violated in found


def test_execution_names_are_checked_as_aws_documents_them():
    assert all(map(moto_patches.is_valid_execution_name, ["run-1", "Run_2", "é", "a.b@c+d=e!f'g(h)"]))
    refused = ' \t\u3000<>{}[]?*"#%\\^|~`$&,;:/\x00\x1f\x7f\x9f\ufffe\uffff\ud800\U0010ffff'
    assert not any(moto_patches.is_valid_execution_name(f"a{c}b") for c in refused)


def test_an_executions_end_is_logged_before_its_status_shows_it(patched, monkeypatch):
    """A client that sees the execution ended finds its log events."""
    from moto.logs.models import LogsBackend
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    happened = []
    # names of this test's own: a thread another test left behind can still end an execution of a
    # machine named "m" (the same ARN in moto's one account) while this test runs
    group, machine = f"g-{uuid.uuid4().hex}", f"m-{uuid.uuid4().hex}"
    put_log_events, reflect = (
        LogsBackend.put_log_events,
        BaseExecutionWorkerCommunication._reflect_execution_status,
    )

    def put_and_look(self, log_group_name, log_stream_name, log_events):
        if log_group_name == group:
            happened.append("logged")
        return put_log_events(self, log_group_name, log_stream_name, log_events)

    def reflect_and_look(self):
        if self.execution.state_machine_arn.endswith(f":{machine}"):
            happened.append("status")
        return reflect(self)

    monkeypatch.setattr(BaseExecutionWorkerCommunication, "_reflect_execution_status", reflect_and_look)
    monkeypatch.setattr(LogsBackend, "put_log_events", put_and_look)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        boto3.client("logs", region_name="us-east-1").create_log_group(logGroupName=group)
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        group_arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{group}:*"
        logging_configuration = {
            "level": "ALL",
            "includeExecutionData": False,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": group_arn}}],
        }
        arn = sfn.create_state_machine(
            name=machine,
            definition=DEFINITION,
            roleArn=_states_role(),
            loggingConfiguration=logging_configuration,
        )["stateMachineArn"]
        _run_to_the_end(sfn, arn, 1)
        assert happened == ["logged", "status"]


def test_the_limit_is_at_least_one():
    with pytest.raises(ValueError, match="at least 1"):
        moto_patches.keep_ended_executions(0)


CALLBACK_DEFINITION = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "QUEUE", "MessageBody": {"token.$": "$$.Task.Token"}},
            "Catch": [{"ErrorEquals": ["Refused"], "ResultPath": "$.error", "Next": "Refused"}],
            "End": True,
        },
        "Refused": {"Type": "Fail", "Error": "Refused", "CausePath": "$.error.Cause"},
    },
}


@pytest.mark.parametrize("installed", [False, True], ids=["moto as shipped", "patched"])
def test_send_task_failure_passes_its_cause_on(pristine_moto, installed):
    if installed:
        moto_patches.install()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        session = boto3.Session(region_name="us-east-1")
        sqs, sfn = session.client("sqs"), session.client("stepfunctions")
        queue = sqs.create_queue(QueueName="callbacks")["QueueUrl"]
        definition = json.dumps(CALLBACK_DEFINITION).replace("QUEUE", queue)
        machine = sfn.create_state_machine(name="m", definition=definition, roleArn=_states_role())
        arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="e")["executionArn"]
        token = json.loads(_one_message(sqs, queue)["Body"])["token"]

        sfn.send_task_failure(taskToken=token, error="Refused", cause="the reviewer's words")
        _wait_until_ended(sfn, arn)

        execution = sfn.describe_execution(executionArn=arn)
    assert (execution["status"], execution["error"]) == ("FAILED", "Refused")
    assert execution.get("cause") == ("the reviewer's words" if installed else None)


def _one_message(sqs, queue: str) -> dict:
    deadline, pause = time.monotonic() + ENDED_WITHIN, 0.01
    while not (messages := sqs.receive_message(QueueUrl=queue).get("Messages")):
        assert time.monotonic() < deadline, "no message"
        time.sleep(pause)
        pause = min(2 * pause, MOST_BETWEEN_LOOKS)
    return messages[0]


def _states_role() -> str:
    """A role Step Functions may assume, in the moto in force (CreateStateMachine refuses others),
    allowed what these interpreters' tasks call (Lambda, S3's ItemReader and ResultWriter, SQS)."""
    iam = boto3.client("iam", region_name="us-east-1")
    return service_role(iam, "states.amazonaws.com", actions=("lambda:*", "s3:*", "sqs:*", "states:*"))


def _state_machine(sfn) -> str:
    return sfn.create_state_machine(name="m", definition=DEFINITION, roleArn=_states_role())[
        "stateMachineArn"
    ]


def _run_to_the_end(sfn, arn: str, count: int) -> None:
    """``count`` executions, one after another, each waited for."""
    for number in range(count):
        _wait_until_ended(sfn, sfn.start_execution(stateMachineArn=arn, name=f"e{number}")["executionArn"])


def _wait_until_ended(sfn, arn: str) -> None:
    """Returns as soon as the execution has ended (looked at more and more seldom, up to
    ``MOST_BETWEEN_LOOKS``: each look takes the GIL from the threads running the execution)."""
    deadline, pause = time.monotonic() + ENDED_WITHIN, 0.01
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(pause)
        pause = min(2 * pause, MOST_BETWEEN_LOOKS)


# -- the Distributed Map (issue 15) --------------------------------------------------------------

BATCHED_MAP = {
    "StartAt": "Map",
    "States": {
        "Map": {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:listObjectsV2",
                "Parameters": {"Bucket.$": "$.bucket", "Prefix": "in/"},
            },
            "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"bucket.$": "$.bucket"}},
            "ToleratedFailurePercentage": 40,
            "MaxConcurrency": 2,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "First",
                "States": {
                    # moto reads "$.Items[0].Key" as a list (a path ending in [n] is the element)
                    "First": {"Type": "Pass", "Parameters": {"first.$": "$.Items[0]"}, "Next": "Check"},
                    "Check": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.first.Key", "StringMatches": "*bad*", "Next": "Bad"}],
                        "Default": "Good",
                    },
                    "Bad": {"Type": "Fail", "Error": "Bad", "Cause": "a bad one"},
                    "Good": {"Type": "Pass", "End": True},
                },
            },
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket.$": "$.bucket", "Prefix": "out"},
            },
            "ResultPath": "$.map_run",
            "Catch": [{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "TooMany"}],
            "End": True,
        },
        "TooMany": {"Type": "Fail", "Error": "TooMany", "CausePath": "$.Cause"},
    },
}


def _batched_run(keys: list[str], **map_fields) -> tuple[dict, dict]:
    """Run BATCHED_MAP over objects named ``keys``; the execution (its Map Run's DescribeMapRun
    under ``"map_run"``) and the result files by name."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        session = boto3.Session(region_name="us-east-1")
        s3, sfn = session.client("s3"), session.client("stepfunctions")
        s3.create_bucket(Bucket="batch-bucket")
        for key in keys:
            s3.put_object(Bucket="batch-bucket", Key=key, Body=b"x")
        definition = json.loads(json.dumps(BATCHED_MAP))
        definition["States"]["Map"].update(map_fields)
        arn = sfn.create_state_machine(name="m", definition=json.dumps(definition), roleArn=_states_role())[
            "stateMachineArn"
        ]
        execution = sfn.start_execution(stateMachineArn=arn, name="e", input='{"bucket": "batch-bucket"}')
        _wait_until_ended(sfn, execution["executionArn"])
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        (map_run,) = sfn.list_map_runs(executionArn=execution["executionArn"])["mapRuns"]
        described["map_run"] = sfn.describe_map_run(mapRunArn=map_run["mapRunArn"])
        files = {
            o["Key"].rpartition("/")[2]: json.loads(
                s3.get_object(Bucket="batch-bucket", Key=o["Key"])["Body"].read()
            )
            for o in s3.list_objects_v2(Bucket="batch-bucket", Prefix="out/").get("Contents", [])
        }
        return described, files


def test_moto_as_shipped_parses_neither_item_batcher_nor_express_children(pristine_moto):
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException

    with pytest.raises(ASLParserException, match="ItemBatcher"):
        AmazonStateLanguageParser.parse(json.dumps(BATCHED_MAP))
    express_only = json.loads(json.dumps(BATCHED_MAP))
    del express_only["States"]["Map"]["ItemBatcher"]
    with pytest.raises(ASLParserException, match="EXPRESS"):
        AmazonStateLanguageParser.parse(json.dumps(express_only))
    express_only["States"]["Map"]["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] = "STANDARD"
    with pytest.raises(ASLParserException):  # an integer tolerance
        AmazonStateLanguageParser.parse(json.dumps(express_only))
    express_only["States"]["Map"]["ToleratedFailurePercentage"] = 40.0
    AmazonStateLanguageParser.parse(json.dumps(express_only))  # as a float it parses


def test_a_batched_map_runs_children_of_batches_and_writes_every_result_as_aws_does(patched):
    keys = ["in/a", "in/b", "in/bad", "in/c", "in/d"]  # 3 children: [a, b], [bad, c], [d]

    execution, files = _batched_run(keys)

    assert execution["status"] == "SUCCEEDED", execution  # 2 of 5 items failed: 40 % is tolerated
    manifest = files["manifest.json"]
    assert json.loads(execution["output"])["map_run"]["ResultWriterDetails"]["Key"].endswith("/manifest.json")
    assert [len(f) for f in manifest["ResultFiles"].values()] == [1, 0, 1]  # FAILED, PENDING, SUCCEEDED
    succeeded, failed = files["SUCCEEDED_0.json"], files["FAILED_0.json"]
    assert sorted(item["Key"] for c in succeeded for item in json.loads(c["Input"])["Items"]) == [
        "in/a",
        "in/b",
        "in/d",
    ]
    assert [(c["Status"], c["Error"], c["Cause"]) for c in failed] == [("FAILED", "Bad", "a bad one")]
    assert json.loads(failed[0]["Input"]) == {
        "Items": [json.loads(failed[0]["Input"])["Items"][0], json.loads(failed[0]["Input"])["Items"][1]],
        "BatchInput": {"bucket": "batch-bucket"},
    }
    assert ":execution:m/" in succeeded[0]["ExecutionArn"]
    children = succeeded + failed  # each with its own times, not the moment the files were written
    assert all(c["StartDate"] <= c["StopDate"] for c in children)
    assert len({c["StopDate"] for c in children}) == 3


def test_each_child_keeps_its_own_events_not_every_childs(patched, monkeypatch):
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
        distributed_item_processor_worker as worker,
    )

    events_at_end = []
    eval_job = worker.DistributedItemProcessorWorker._eval_job

    def counting(self, env, job):
        eval_job(self, env, job)
        events_at_end.append(len(env.event_manager.get_event_history()))

    monkeypatch.setattr(worker.DistributedItemProcessorWorker, "_eval_job", counting)
    execution, _ = _batched_run([f"in/{n}" for n in range(8)])  # 4 children alike, 2 at a time

    assert execution["status"] == "SUCCEEDED"
    # each child's own Pass, Choice, Pass: the same count, not the Map Run's running total
    assert len(events_at_end) == 4 and len(set(events_at_end)) == 1, events_at_end


def test_a_worker_runs_its_children_one_after_another_however_many(patched):
    # MaxConcurrency 1: one worker runs every child; moto's called itself once a child, and kept
    # each child's environment on its stack, until a RecursionError past ~1,000 children
    keys = [f"in/{n:04}" for n in range(1100)]

    execution, files = _batched_run(keys, MaxConcurrency=1, ItemBatcher={"MaxItemsPerBatch": 1})

    assert execution["status"] == "SUCCEEDED", execution
    assert execution["map_run"]["executionCounts"]["succeeded"] == 1100
    assert len(files["SUCCEEDED_0.json"]) == 1100
    # and none of the ~3,300 threads they ran in is kept (moto appended each to a list for good)
    from moto.stepfunctions.parser.asl.component.program import program
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branch_worker

    assert program.TMP_THREADS == [] and branch_worker.TMP_THREADS == []


def test_describe_map_run_counts_each_item_of_a_batch_and_each_child_once(patched):
    execution, _ = _batched_run(["in/a", "in/b", "in/bad", "in/c", "in/d"])  # [a, b], [bad, c], [d]

    counts = {key: execution["map_run"][key] for key in ("itemCounts", "executionCounts")}
    wanted = ("total", "running", "succeeded", "failed", "resultsWritten")
    assert {kind: [c[key] for key in wanted] for kind, c in counts.items()} == {
        "itemCounts": [5, 0, 3, 2, 3],  # AWS counts a failed child's items as failed
        "executionCounts": [3, 0, 2, 1, 2],  # moto left a failed child running
    }


def test_map_runs_are_listed_and_described_while_an_execution_has_not_begun(patched):
    from moto.stepfunctions.exceptions import ResourceNotFound
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    class Record:
        def describe(self):
            return {"mapRunArn": "arn:run"}

    not_begun = type("Execution", (), {"exec_worker": None})()
    running = type(
        "Execution",
        (),
        {"exec_worker": type("Worker", (), {"env": type("Env", (), {"map_run_record_pool_manager": None})})},
    )()
    running.exec_worker.env.map_run_record_pool_manager = type(
        "Pool", (), {"get": staticmethod(lambda arn: Record() if arn == "arn:run" else None)}
    )

    class Backend:
        def describe_execution(self, execution_arn):
            return not_begun

        def _get_executions(self):
            return [not_begun, running]

    backend = Backend()
    assert StepFunctionsParserBackend.list_map_runs(backend, "arn:e") == {"mapRuns": []}  # moto: 500
    assert StepFunctionsParserBackend.describe_map_run(backend, "arn:run") == {"mapRunArn": "arn:run"}
    with pytest.raises(ResourceNotFound, match="arn:other"):  # moto: a TypeError, 500
        StepFunctionsParserBackend.describe_map_run(backend, "arn:other")


def test_more_failures_than_tolerated_fail_the_map(patched):
    execution, _ = _batched_run(["in/bad1", "in/bad2", "in/c"])  # 2 of 3 items fail: 67 % > 40 %

    assert (execution["status"], execution["error"]) == ("FAILED", "TooMany")
    assert "2 of 3 items failed" in execution["cause"]


def test_the_item_reader_lists_every_page(patched):
    keys = [f"in/{n:04}" for n in range(1001)]

    _, files = _batched_run(keys)

    listed = [item["Key"] for c in files["SUCCEEDED_0.json"] for item in json.loads(c["Input"])["Items"]]
    assert sorted(listed) == keys


def test_the_interpreters_s3_calls_go_to_aws_endpoint_url_s3_outside_mock_aws(patched, monkeypatch):
    from moto.core.models import botocore_stubber
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import resource_eval_s3

    monkeypatch.setattr(botocore_stubber, "enabled", False)  # as in the stack's server process
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    client = resource_eval_s3.boto_client_for("us-east-1", "s3")
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert resource_eval_s3.boto_client_for("us-east-1", "s3") is client
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    assert resource_eval_s3.boto_client_for("us-east-1", "s3").meta.endpoint_url.startswith(
        "http://localhost:"
    )


def test_a_log_stream_keeps_its_newest_events_up_to_the_limit(patched):
    previous = moto_patches.keep_log_events(3)
    try:
        with mock_aws():
            logs = boto3.client("logs", region_name="us-east-1")
            logs.create_log_group(logGroupName="g")
            logs.create_log_stream(logGroupName="g", logStreamName="s")
            now = int(time.time() * 1000)  # CloudWatch Logs refuses events older than 14 days
            for n in range(5):
                logs.put_log_events(
                    logGroupName="g",
                    logStreamName="s",
                    logEvents=[{"timestamp": now + n, "message": f"m{n}"}],
                )
            events = logs.get_log_events(logGroupName="g", logStreamName="s", startFromHead=True)["events"]
            assert [e["message"] for e in events] == ["m2", "m3", "m4"]  # the oldest forgotten first
    finally:
        moto_patches.keep_log_events(previous)
    with pytest.raises(ValueError, match="at least 1"):
        moto_patches.keep_log_events(0)


def test_a_log_group_keeps_its_newest_events_whichever_stream_holds_them(patched):
    """A function writes a stream per execution environment and the state machine one per hour:
    a cap per stream bounded nothing (10,000 per stream, 171k events alive after a soak)."""
    previous = moto_patches.keep_log_events(4)
    try:
        with mock_aws():
            logs = boto3.client("logs", region_name="us-east-1")
            logs.create_log_group(logGroupName="g")
            logs.create_log_group(logGroupName="other")
            now = int(time.time() * 1000)
            for n in range(9):  # three streams written in turn, as environments write side by side
                stream = f"s{n % 3}"
                if n < 3:
                    logs.create_log_stream(logGroupName="g", logStreamName=stream)
                logs.put_log_events(
                    logGroupName="g",
                    logStreamName=stream,
                    logEvents=[{"timestamp": now + n, "message": f"m{n}"}],
                )
            logs.create_log_stream(logGroupName="other", logStreamName="s")
            logs.put_log_events(
                logGroupName="other", logStreamName="s", logEvents=[{"timestamp": now, "message": "o"}]
            )
            kept = logs.filter_log_events(logGroupName="g")["events"]
            assert sorted(e["message"] for e in kept) == ["m5", "m6", "m7", "m8"]  # the newest 4 of 9
            streams = logs.describe_log_streams(logGroupName="g")["logStreams"]
            assert sorted(s["logStreamName"] for s in streams) == ["s0", "s1", "s2"]  # streams stay
            assert [e["message"] for e in logs.filter_log_events(logGroupName="other")["events"]] == ["o"]
            gc.collect()
            from moto.logs.models import LogEvent

            # the forgotten events are freed, not only unlisted (moto's dashboard list held them)
            assert len([o for o in gc.get_objects() if type(o) is LogEvent]) == 5
    finally:
        moto_patches.keep_log_events(previous)


def test_an_ended_execution_forgotten_frees_its_snapshot_of_the_state_machine(keep_two_ended_executions):
    """moto's StartExecution deep-copies the state machine for each execution, and its dashboard
    list (``instances_tracked``) kept every copy after the execution was forgotten."""
    from moto.stepfunctions.models import StateMachine

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = _state_machine(sfn)
        _run_to_the_end(sfn, arn, 12)
        gc.collect()
        # type(o), not isinstance: isinstance reads __class__, which some lazy modules warn on
        alive = [o for o in gc.get_objects() if issubclass(type(o), StateMachine)]
        # the machine, the snapshots of the 2 executions kept, and of one still being forgotten
        assert len(alive) <= 1 + 2 + 1, len(alive)
        assert len(list(StateMachine.instances_tracked)) == len(alive)  # the dashboard sees the living


def test_moto_s_dashboard_list_keeps_the_living_and_frees_the_rest(patched):
    from moto.core.common_models import BaseModel

    from local_stack.aws.moto_patches.model_instances import WeakInstances

    class Probe(BaseModel):
        pass

    kept, dropped = Probe(), Probe()
    dropped_ref = weakref.ref(dropped)
    del dropped
    gc.collect()
    assert dropped_ref() is None
    assert type(Probe.instances_tracked) is WeakInstances and list(Probe.instances_tracked) == [kept]
