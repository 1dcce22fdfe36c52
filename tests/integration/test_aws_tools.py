"""AWS's own tools against `up`, as the docs show them: the stack is started by docs/cloud.md's
"Locally" block and driven by its "Run an execution" block, both read from the page itself (so
the two cannot drift apart), with the AWS CLI; then the CLI does what a user's scripts do."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local_stack.aws.sample_events import objects_named_by_events
from local_stack.aws.template import Template
from local_stack.settings import EVENTS_DIR, REPO_ROOT, STACK_NAME

# the page that holds the blocks (the README sends readers there)
# the docs' own block starts `up` (its own stack, as a user would)
pytestmark = [pytest.mark.integration, pytest.mark.slow]
README = REPO_ROOT / "docs" / "cloud.md"


def readme_block(after: str) -> str:
    """The first ```bash block of docs/cloud.md after the line that starts with ``after``."""
    text = README.read_text()
    start = text.index(after)
    match = re.compile(r"```bash\n(.*?)```", re.S).search(text, start)
    assert match, f"no bash block after {after!r} in {README.relative_to(REPO_ROOT)}"
    return match.group(1)


def _aws_cli() -> str:
    aws = REPO_ROOT / ".tools" / "awscli" / "bin" / "aws"
    if aws.exists():
        return str(aws)
    found = shutil.which("aws")
    if found is None:
        pytest.skip("the AWS CLI is not installed: `make setup` puts it in .tools/awscli")
    return found


@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    """A shell's environment after the README's "Locally" block: `up` serving, its exports in."""
    workdir = tmp_path_factory.mktemp("readme")
    (workdir / "samples").symlink_to(REPO_ROOT / "samples")
    path = os.pathsep.join(
        [str(Path(sys.executable).parent), str(Path(_aws_cli()).parent), os.environ["PATH"]]
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"PATH": path}
    script = (
        readme_block("**Locally**, start the stack")
        + 'env | grep "^AWS_\\|^IMAGE_BUCKET=\\|^STATE_MACHINE_ARN=" > env.txt\nwait\n'
    )
    started = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", script], cwd=workdir, env=base, start_new_session=True
    )
    deadline = time.monotonic() + 300
    while not (workdir / "env.txt").exists() or not (workdir / "env.txt").read_text():
        assert started.poll() is None, (workdir / "out" / "up.txt").read_text()
        assert time.monotonic() < deadline, "the README's local block did not bring `up` up in 300 s"
        time.sleep(0.5)
    time.sleep(0.2)
    exports = dict(line.split("=", 1) for line in (workdir / "env.txt").read_text().splitlines())
    yield {"cwd": workdir, "env": base | exports}
    os.killpg(started.pid, signal.SIGTERM)
    started.wait(timeout=60)


def run(shell, script: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=shell["cwd"],
        env=shell["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def aws(shell, *arguments: str) -> dict:
    result = run(shell, " ".join(["aws", *arguments, "--output", "json"]))
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_the_readme_run_block_runs_verbatim_against_up(shell):
    result = run(shell, readme_block("### Run an execution"))
    status, output, _error = result.stdout.strip().splitlines()[-1].split("\t")
    assert status == "SUCCEEDED", result.stdout
    answer = json.loads(output)
    assert answer["label"] == "bicycle" and answer["confidence"] >= 0.93
    # what the README says it prints
    assert f'"confidence": {str(answer["confidence"])[:6]}' in README.read_text()


def test_describe_stacks_answers_the_template_outputs(shell):
    stack = aws(shell, "cloudformation", "describe-stacks", "--stack-name", STACK_NAME)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert set(outputs) == set(Template.load().body["Outputs"])
    assert outputs["ImageBucketName"] == shell["env"]["IMAGE_BUCKET"]
    assert outputs["ClassifyImageStateMachineArn"] == shell["env"]["STATE_MACHINE_ARN"]
    assert outputs["UploadLocation"] == f"s3://{shell['env']['IMAGE_BUCKET']}/incoming/"
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters["ConfidenceThreshold"] == Template.load().parameter_defaults()["ConfidenceThreshold"]
    resources = aws(shell, "cloudformation", "list-stack-resources", "--stack-name", STACK_NAME)
    groups = {
        r["PhysicalResourceId"]
        for r in resources["StackResourceSummaries"]
        if "LogGroup" in r["ResourceType"]
    }
    assert f"/aws/lambda/{STACK_NAME}/ClassifyImage" in groups


def _function_for(event_file: Path) -> str | None:
    for prefix, logical_id in (
        ("serialize_image_data", "SerializeImageDataFunction"),
        ("classify_image", "ClassifyImageFunction"),
        ("filter_inferences", "FilterInferencesFunction"),
    ):
        if event_file.name.startswith(prefix):
            return logical_id
    return None


@pytest.mark.parametrize(
    "event_file", [p for p in sorted(EVENTS_DIR.glob("*.json")) if _function_for(p)], ids=lambda p: p.stem
)
def test_aws_lambda_invoke_runs_each_sample_event(shell, event_file):
    """Each function answers its events as the unit tests expect: the good ones with a result,
    the bad ones with the named error (the objects the events name are in `up`'s S3)."""
    name = f"{STACK_NAME}-{_function_for(event_file)}"
    result = run(
        shell,
        f"aws lambda invoke --function-name {name} --payload fileb://{event_file} out.json "
        "--query FunctionError --output text; cat out.json",
    )
    function_error, _, payload = result.stdout.partition("\n")
    answer = json.loads(payload)
    expected_error = {
        "serialize_image_data_missing_key": "InvalidEvent",
        "serialize_image_data_not_an_image": "NotAnImage",
        "filter_inferences_low_confidence": "ThresholdConfidenceNotMet",
    }.get(event_file.stem)
    if expected_error:
        assert function_error == "Unhandled" and answer["errorType"] == expected_error, answer
    else:
        assert function_error == "None" and "errorType" not in answer, answer
    # and `local_stack invoke`, sam local invoke without Docker, answers the same with up's exports
    local = run(
        shell, f"python -m local_stack invoke {_function_for(event_file)} -e {event_file}", check=False
    )
    assert local.returncode == (1 if expected_error else 0), local.stderr
    local_answer = json.loads(local.stdout)
    assert local_answer.get("errorType") == answer.get("errorType")
    assert {k: v for k, v in local_answer.items() if k != "stackTrace"}.keys() == {
        k for k in answer if k != "stackTrace"
    }
    assert "REPORT" in local.stderr


def test_up_puts_the_objects_the_sample_events_name(shell):
    for uri in objects_named_by_events():
        run(shell, f"aws s3 ls {uri}")


def test_the_cli_starts_unnamed_executions_again_and_again(shell):
    """The README's form (no --name), as the console and the seed's notebook start them."""
    start = (
        'aws stepfunctions start-execution --state-machine-arn "$STATE_MACHINE_ARN" --input '
        '"{\\"s3_bucket\\": \\"$IMAGE_BUCKET\\", \\"s3_key\\": \\"images/not_there.png\\"}" '
        "--query executionArn --output text"
    )
    arns = [run(shell, start).stdout.strip() for _ in range(3)]
    names = [arn.rsplit(":", 1)[-1] for arn in arns]
    assert len(set(names)) == 3
    assert all(
        re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", n) for n in names
    )
    refused = run(
        shell,
        "aws stepfunctions start-execution --state-machine-arn \"$STATE_MACHINE_ARN\" --input '{bad'",
        check=False,
    )
    assert refused.returncode != 0 and "(InvalidExecutionInput)" in refused.stderr


def test_the_functions_and_the_state_machine_log_where_the_template_says(shell):
    """After the executions above: each function's group holds Lambda's START/END/REPORT around
    the handler's JSON lines, at the template's LogLevel; the state machine's, its events."""
    stack = f"/aws/lambda/{STACK_NAME}"
    # the environments send their lines about once a second; the deadline is for a busy machine
    deadline = time.monotonic() + 120
    while True:
        events = aws(shell, "logs", "filter-log-events", "--log-group-name", f"{stack}/SerializeImageData")[
            "events"
        ]
        messages = [e["message"] for e in events]
        if any(m.startswith("REPORT RequestId: ") for m in messages) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert any(m.startswith("START RequestId: ") for m in messages), messages[:5]
    logged = [json.loads(m) for m in messages if m.startswith('{"level"')]
    levels = {line["level"] for line in logged}
    assert "INFO" in levels  # the template's LogLevel default, not WARNING
    found = aws(
        shell,
        "logs",
        "filter-log-events",
        "--log-group-name",
        f"{stack}/ClassifyImage",
        "--filter-pattern",
        '"REPORT"',
    )["events"]
    assert found and all("REPORT" in e["message"] for e in found)
    machine = aws(
        shell,
        "logs",
        "filter-log-events",
        "--log-group-name",
        f"/aws/vendedlogs/states/{STACK_NAME}-classify-image",
    )["events"]
    types = [json.loads(e["message"])["type"] for e in machine]
    assert "ExecutionStarted" in types and "ExecutionSucceeded" in types and "ExecutionFailed" in types


def test_a_12_megapixel_jpeg_copied_to_incoming_is_classified_without_start_execution(shell):
    """Issue 13's proof: `aws s3 cp` (a multipart upload at this size) under the upload prefix,
    and nobody calls StartExecution; the execution is found by its input."""
    import numpy as np
    from PIL import Image

    photo = shell["cwd"] / "phone.jpg"
    pixels = np.random.default_rng(13).integers(0, 256, (3000, 4000, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(photo, quality=85)
    assert photo.stat().st_size > 8 * 1024 * 1024  # above the CLI's multipart threshold
    run(shell, f'aws s3 cp {photo} "s3://$IMAGE_BUCKET/incoming/phone.jpg"')
    deadline = time.monotonic() + 180  # seconds when idle; a busy machine's trigger and model are slower
    while True:
        listed = aws(shell, "stepfunctions", "list-executions", "--state-machine-arn", '"$STATE_MACHINE_ARN"')
        started = [
            e
            for e in listed["executions"]
            if json.loads(
                aws(shell, "stepfunctions", "describe-execution", "--execution-arn", e["executionArn"])[
                    "input"
                ]
            ).get("s3_key")
            == "incoming/phone.jpg"
        ]
        if (started and started[0]["status"] != "RUNNING") or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert started, "no execution for incoming/phone.jpg"
    ended = aws(shell, "stepfunctions", "describe-execution", "--execution-arn", started[0]["executionArn"])
    # classified: an answer, or the model's refusal of a photo of noise; never an unnamed error
    assert ended["status"] == "SUCCEEDED" or ended.get("error") == "ThresholdConfidenceNotMet", ended


def test_sam_logs_by_stack_name_prints_a_functions_lines(shell):
    """`sam logs --stack-name` finds the functions through the stack's resources and each one's
    LoggingConfig, as against AWS (after the executions above)."""
    sam = REPO_ROOT / ".tools" / "sam" / "bin" / "sam"
    if not sam.exists():
        pytest.skip("sam is not installed: `make setup` puts it in .tools/sam")
    result = run(
        shell,
        f"{sam} logs --stack-name {STACK_NAME} -n SerializeImageDataFunction --start-time '1 hour ago'",
    )
    assert "START RequestId: " in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]
    assert "vehicle-classifier" in result.stdout  # a handler's own JSON line (its service)
