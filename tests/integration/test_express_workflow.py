"""The one-photo workflow deployed with WorkflowType=Express answers as the Standard one does
(issue 26): an answered photo, a photo refused below the threshold, a file that is not an
image, and an upload through the bucket's rule. Each Express outcome is read as an AWS user
reads it, from the workflow's log group (``LogGroupWatcher``; DescribeExecution refuses an
Express execution), and compared with what the Standard stack (the shared one, the same bucket
name and template defaults) answers for the same object. Then ``python -m local_stack run``
against each prints the same answers."""

from __future__ import annotations

import json
import shutil
import time

import pytest
from botocore.exceptions import ClientError

from local_stack.client.executions import ExecutionWatcher, LogGroupWatcher, watcher_for
from local_stack.commands.cli import main
from local_stack.processes.stack_process import StackProcess, start_stack_process
from local_stack.settings import SAMPLES_DIR
from scones_core.project import DEFAULT_CONFIDENCE_THRESHOLD
from training_job.local_model import MODEL_PATH
from training_job.local_model.inference import load_session, predict_probabilities
from training_job.local_model.preprocess import decode_image

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # a stack of its own: --workflow-type Express

ANSWERED = "bicycle_s_001687.png"  # the model: bicycle at 0.9985
REFUSED = "bicycle_s_001688.png"  # 0.7534: below the template's 0.93
NOT_AN_IMAGE = "not_an_image.txt"
# far above what one execution takes here (under a second): only a loss or a hang reaches it
ENDS_WITHIN_SECONDS = 120


@pytest.fixture(scope="module")
def express_stack(shared_stack) -> StackProcess:
    # the shared stack's bucket name, so that the two workflows' outputs (which name the object)
    # compare whole; each stack has its own S3
    options = ["--bucket", shared_stack.bucket, "--workflow-type", "Express", "--execution-environments", "2"]
    with start_stack_process(options) as stack:
        yield stack


def confidence_of(name: str) -> float:
    probabilities = predict_probabilities(
        load_session(MODEL_PATH), decode_image((SAMPLES_DIR / name).read_bytes())
    )
    return float(max(probabilities[0]))


def ended(stack: StackProcess, execution_arn: str) -> dict:
    """The execution's end as a client of AWS reads it: DescribeExecution for Standard, the
    log group's end event for Express (``watcher_for`` chooses by the machine's type)."""
    sfn = stack.client("stepfunctions")
    with watcher_for(sfn, stack.state_machine_arn, logs=stack.client("logs")) as watcher:
        execution = watcher.wait(execution_arn)
    outcome = {key: execution.get(key) for key in ("status", "error", "cause")}
    # the output as JSON (moto's DescribeExecution spaces it out, the history's event does not),
    # its own execution's ARN (the capture's context names it) in a word
    output = (execution.get("output") or "null").replace(execution_arn, "<this execution>")
    outcome["output"] = json.loads(output)
    return outcome


def run_photo(stack: StackProcess, name: str, key: str) -> tuple[str, dict]:
    stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=(SAMPLES_DIR / name).read_bytes())
    arn = stack.client("stepfunctions").start_execution(
        stateMachineArn=stack.state_machine_arn, input=json.dumps({"s3_bucket": stack.bucket, "s3_key": key})
    )["executionArn"]
    return arn, ended(stack, arn)


def test_the_express_stack_deploys_an_express_workflow_read_from_its_log_group(express_stack, shared_stack):
    sfn = express_stack.client("stepfunctions")
    assert sfn.describe_state_machine(stateMachineArn=express_stack.state_machine_arn)["type"] == "EXPRESS"
    with watcher_for(sfn, express_stack.state_machine_arn, logs=express_stack.client("logs")) as watcher:
        assert isinstance(watcher, LogGroupWatcher)
    with watcher_for(shared_stack.client("stepfunctions"), shared_stack.state_machine_arn) as watcher:
        assert isinstance(watcher, ExecutionWatcher)


@pytest.mark.parametrize(
    ("photo", "status", "error"),
    [
        (ANSWERED, "SUCCEEDED", None),
        (REFUSED, "FAILED", "ThresholdConfidenceNotMet"),
        (NOT_AN_IMAGE, "FAILED", "NotAnImage"),
    ],
)
def test_a_photo_ends_on_express_as_on_standard(express_stack, shared_stack, unique, photo, status, error):
    if photo == ANSWERED:
        assert confidence_of(photo) >= DEFAULT_CONFIDENCE_THRESHOLD
    if photo == REFUSED:
        assert confidence_of(photo) < DEFAULT_CONFIDENCE_THRESHOLD
    key = f"images/express-vs-standard/{unique}/{photo}"  # where the functions' roles may read

    express_arn, express = run_photo(express_stack, photo, key)
    _, standard = run_photo(shared_stack, photo, key)

    assert (express["status"], express["error"]) == (status, error)
    assert express == standard
    if status == "SUCCEEDED":
        assert express["output"]["label"] == "bicycle"
    # AWS's Express ARN, which DescribeExecution and StopExecution refuse
    assert express_arn.split(":")[5:7] == ["express", express_stack.state_machine_arn.split(":")[-1]]
    sfn = express_stack.client("stepfunctions")
    for refused in (sfn.describe_execution, sfn.stop_execution):
        with pytest.raises(ClientError, match="Resource type not valid in this context: express") as refusal:
            refused(executionArn=express_arn)
        assert refusal.value.response["Error"]["Code"] == "InvalidArn"


def started_by_upload(stack: StackProcess, key: str) -> str:
    """The ARN of the execution an upload of ``key`` started, from the log group's
    ExecutionStarted event whose input names the key (an Express workflow lists no execution)."""
    sfn, logs = stack.client("stepfunctions"), stack.client("logs")
    machine = sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)
    group_arn = machine["loggingConfiguration"]["destinations"][0]["cloudWatchLogsLogGroup"]["logGroupArn"]
    group = group_arn.split(":log-group:")[1].split(":")[0]
    deadline = time.monotonic() + ENDS_WITHIN_SECONDS
    while time.monotonic() < deadline:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, filterPattern=f'"{key}"')
        for page in pages:
            for event in page["events"]:
                record = json.loads(event["message"])
                if (
                    record["type"] == "ExecutionStarted"
                    and json.loads(record["details"]["input"])["s3_key"] == key
                ):
                    return record["execution_arn"]
        time.sleep(0.1)
    raise AssertionError(f"no execution started by the upload of {key} within {ENDS_WITHIN_SECONDS} s")


def test_an_upload_starts_an_express_execution_that_ends_as_standard_answers(
    express_stack, shared_stack, unique
):
    key = f"incoming/{unique}-{ANSWERED}"
    express_stack.client("s3").put_object(
        Bucket=express_stack.bucket, Key=key, Body=(SAMPLES_DIR / ANSWERED).read_bytes()
    )

    arn = started_by_upload(express_stack, key)
    express = ended(express_stack, arn)
    _, standard = run_photo(shared_stack, ANSWERED, key)  # its own upload starts one more: no matter

    assert arn.split(":")[5] == "express"
    assert express["status"] == "SUCCEEDED"
    assert express == standard


def test_run_prints_the_same_answers_on_express_as_on_standard(
    express_stack, shared_stack, tmp_path, monkeypatch, capsys
):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in (ANSWERED, REFUSED, NOT_AN_IMAGE):
        shutil.copy(SAMPLES_DIR / name, photos / name)

    answers, tables = {}, {}
    for workflow, stack in (("Express", express_stack), ("Standard", shared_stack)):
        for variable, value in stack.environment.items():
            monkeypatch.setenv(variable, value)
        out = tmp_path / f"{workflow}.json"
        assert main(["run", "--images", str(photos), "--json", str(out)]) == 0
        answers[workflow] = {
            e["image"]: (e["status"], e["label"], e["confidence"], e["error"], e["cause"])
            for e in json.loads(out.read_text())["executions"]
        }
        # the table's rows less the seconds column, and the summary's first line
        printed = capsys.readouterr().out.splitlines()
        tables[workflow] = [
            line.split()[:5] for line in printed if line.split()[:1] in ([ANSWERED], [REFUSED])
        ]

    assert answers["Express"] == answers["Standard"]
    assert answers["Express"][ANSWERED][:2] == ("SUCCEEDED", "bicycle")
    assert answers["Express"][REFUSED][3] == "ThresholdConfidenceNotMet"
    assert answers["Express"][NOT_AN_IMAGE][3] == "NotAnImage"
    assert tables["Express"] == tables["Standard"] and len(tables["Express"]) == 2
