"""The local stack end to end: the real ASL in moto's interpreter (server mode), our handlers,
the local SageMaker endpoint over HTTP serving the shipped model, data capture into the local S3."""

import base64
import json
import random
import re
from collections import Counter

import pytest

from local_stack.client import executions, images
from local_stack.commands.cli import main
from local_stack.settings import SAMPLES_DIR, SAMPLES_LST, STACK_NAME
from monitoring.cli import main as monitoring_main
from scones_core.project import CLASS_NAMES, DEFAULT_CONFIDENCE_THRESHOLD
from training_job.local_model import MODEL_PATH
from training_job.local_model.inference import load_session, predict_probabilities
from training_job.local_model.preprocess import UndecodableImage, decode_image

pytestmark = pytest.mark.integration

THROTTLED_ATTEMPTS = 5  # the ASL's Retry on EndpointThrottled: MaxAttempts 4 after the first


@pytest.fixture(scope="module")
def model_answers() -> dict[str, list[float] | None]:
    """What the shipped model answers for each sample, called directly (None: not an image):
    the oracle the stack's results must match exactly."""
    session = load_session(MODEL_PATH)
    answers = {}
    for path in sorted(p for p in SAMPLES_DIR.iterdir() if p.is_file()):
        try:
            answers[path.name] = [
                float(p) for p in predict_probabilities(session, decode_image(path.read_bytes()))[0]
            ]
        except UndecodableImage:
            answers[path.name] = None
    return answers


def expected_outcome(answer: list[float] | None, threshold: float) -> tuple:
    """(status, label, error) the workflow must end in for an image the model answers so."""
    if answer is None:
        return ("FAILED", None, "NotAnImage")
    confidence = max(answer)
    if confidence < threshold:
        return ("FAILED", None, "ThresholdConfidenceNotMet")
    return ("SUCCEEDED", CLASS_NAMES[answer.index(confidence)], None)


def outcomes(report: dict) -> dict[str, tuple]:
    return {e["image"]: (e["status"], e["label"], e["error"]) for e in report["executions"]}


def run_cli(tmp_path, *options: str) -> dict:
    out = tmp_path / "run.json"
    code = main(
        ["run", "--images", str(SAMPLES_DIR), "--lst", str(SAMPLES_LST), "--json", str(out), *options]
    )
    assert code == 0
    return json.loads(out.read_text())


def test_samples_run_through_the_stack_with_named_failures(tmp_path, capsys, model_answers, attached):
    report = run_cli(tmp_path, "--concurrency", "8")

    expected = {name: expected_outcome(a, DEFAULT_CONFIDENCE_THRESHOLD) for name, a in model_answers.items()}
    assert outcomes(report) == expected
    for execution in report["executions"]:
        if execution["status"] == "SUCCEEDED":
            assert execution["confidence"] == pytest.approx(max(model_answers[execution["image"]]))
    summary = report["summary"]
    assert summary["executions"] == len(expected)
    assert summary["succeeded"] == sum(status == "SUCCEEDED" for status, _, _ in expected.values())
    assert summary["failed"] == dict(Counter(e for s, _, e in expected.values() if s == "FAILED"))
    table = capsys.readouterr().out
    assert "not_an_image.txt" in table and "executions/s" in table


@pytest.mark.slow  # a stack of its own: --threshold
def test_a_high_threshold_turns_answers_into_threshold_failures(tmp_path, model_answers):
    report = run_cli(tmp_path, "--threshold", "0.99999", "--limit", "12")

    first_twelve = dict(list(model_answers.items())[:12])
    assert outcomes(report) == {name: expected_outcome(a, 0.99999) for name, a in first_twelve.items()}
    assert report["summary"]["failed"]["ThresholdConfidenceNotMet"] >= 6  # the point of the threshold


def simulate_throttling(photos: list[str], fail_rate: float, seed: int) -> tuple[int, set[str]]:
    """The endpoint draws one number per call from ``random.Random(seed)``; one execution at a
    time, the calls come in image order: the Retry count and the images that stay throttled."""
    rng = random.Random(seed)
    retries, exhausted = 0, set()
    for photo in photos:
        for attempt in range(THROTTLED_ATTEMPTS):
            if rng.random() >= fail_rate:
                break
            if attempt == THROTTLED_ATTEMPTS - 1:
                exhausted.add(photo)
            else:
                retries += 1
    return retries, exhausted


@pytest.mark.slow  # a stack of its own: in this process, --fail-rate
def test_injected_endpoint_throttling_is_retried_exactly_as_seeded(tmp_path, retry_sleeps, model_answers):
    # seed 3 at a 60 % fault rate throttles one image through all five attempts
    report = run_cli(tmp_path, "--endpoint-fail-rate", "0.6", "--seed", "3", "--concurrency", "1")

    photos = [name for name, answer in model_answers.items() if answer is not None]
    retries, exhausted = simulate_throttling(photos, 0.6, seed=3)
    assert exhausted, "the seed should exhaust the retries of at least one image"
    expected = {
        name: ("FAILED", None, "EndpointThrottled")
        if name in exhausted
        else expected_outcome(answer, DEFAULT_CONFIDENCE_THRESHOLD)
        for name, answer in model_answers.items()
    }
    assert outcomes(report) == expected
    assert len(retry_sleeps) == retries


@pytest.mark.slow  # a stack of its own: its own capture bucket
def test_capture_holds_one_record_per_answered_invocation_and_feeds_the_report(tmp_path):
    from local_stack.aws import deploy
    from local_stack.processes import services

    found, _ = images.find_images(SAMPLES_DIR, SAMPLES_LST, limit=20)
    running = services.start(model_path=MODEL_PATH, bucket="capture-test", endpoint_name="capture-test")
    try:
        session = running.session()
        deployed = deploy.deploy(
            session, endpoint_name="capture-test", bucket="capture-test", stack_name="capture"
        )
        s3 = session.client("s3")
        keys = images.upload_images(s3, deployed.bucket, found)
        results, _ = executions.run_executions(
            session.client("stepfunctions"), deployed.state_machine_arn, deployed.bucket, found, keys, 8
        )
        running.endpoint.close()  # flush
        report_dir = tmp_path / "report"
        report_code = monitoring_main(
            [
                "report",
                "--capture",
                "s3://capture-test/data-capture/",
                "--out",
                str(report_dir),
                "--no-progress",
            ]
        )
        records = []
        listing = s3.list_objects_v2(Bucket="capture-test", Prefix="data-capture/capture-test/AllTraffic/")
        for item in listing.get("Contents", []):
            body = s3.get_object(Bucket="capture-test", Key=item["Key"])["Body"].read().decode()
            records += [json.loads(line) for line in body.splitlines() if line]
    finally:
        running.close()

    answered = [r for r in results if r.status == "SUCCEEDED" or r.error == "ThresholdConfidenceNotMet"]
    assert len(records) == len(answered) > 0
    sent = Counter((SAMPLES_DIR / r.image).read_bytes() for r in answered)
    captured = Counter(base64.b64decode(r["captureData"]["endpointInput"]["data"]) for r in records)
    assert captured == sent
    # the monitoring report reads the same capture through the local S3 and counts the same records
    assert report_code == 0
    summary = json.loads((report_dir / "summary.json").read_text())
    assert summary["records"] == len(records)
    labels = Counter(r.label for r in results if r.status == "SUCCEEDED")
    refused = sum(r.error == "ThresholdConfidenceNotMet" for r in results)
    assert summary["below_threshold"]["count"] == refused
    assert sum(summary["counts_per_class"].values()) == len(records) >= sum(labels.values())
    assert (report_dir / "report.html").read_text().count("data:image/png;base64,") >= 5
    for record in records:
        assert record["captureData"]["endpointInput"]["observedContentType"] == "image/png"
        probabilities = json.loads(record["captureData"]["endpointOutput"]["data"])
        assert len(probabilities) == 2 and abs(sum(probabilities) - 1) < 1e-3


RUN_ONE = ["run", "--images", str(SAMPLES_DIR), "--limit", "1"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--images", "/nonexistent-folder"], "no such folder"),
        (["run", "--images", str(SAMPLES_DIR), "--lst", "/nonexistent.lst"], "no such file"),
        (
            ["run", "--images", str(SAMPLES_DIR), "--threshold", "1.5"],
            "--threshold 1.5: Parameter 'ConfidenceThreshold' must be a number not greater",
        ),
        # `run` with one image: were a check gone, the test would fail, not serve forever as `up`
        (
            [*RUN_ONE, "--threshold", "nan"],
            "--threshold nan: Parameter 'ConfidenceThreshold' must be a number",
        ),
        ([*RUN_ONE, "--endpoint-name", "Bad_Name"], "EndpointName failed to satisfy constraint"),
        ([*RUN_ONE, "--bucket", "b1"], "is not valid in S3: 3-63"),
        ([*RUN_ONE, "--bucket", "192.168.1.10"], "not formatted as an IP address"),
        ([*RUN_ONE, "--log-level", "LOUD"], "--log-level LOUD: Parameter 'LogLevel' must be one of"),
        ([*RUN_ONE, "--sampling-percentage", "101"], "must lie in 0..100"),
    ],
)
def test_bad_input_is_a_clear_message_not_a_traceback(argv, message, capsys):
    assert main(argv) == 2  # a usage error
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_an_empty_folder_is_a_clear_message(tmp_path, capsys):
    assert main(["run", "--images", str(tmp_path)]) == 2
    assert "holds no files" in capsys.readouterr().err


def test_an_lst_naming_missing_files_warns_and_runs_the_rest(tmp_path, capsys, attached):
    folder = tmp_path / "images"
    folder.mkdir()
    photo = next(SAMPLES_DIR.glob("*.png"))
    (folder / photo.name).write_bytes(photo.read_bytes())
    lst = tmp_path / "images.lst"
    lst.write_text(f"0\t0\t{photo.name}\n1\t1\tgone.png\n")

    assert main(["run", "--images", str(folder), "--lst", str(lst), "--json", str(tmp_path / "r.json")]) == 0

    assert "1 file(s) named in" in capsys.readouterr().err
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["executions"] == 1


@pytest.mark.slow  # a stack of its own: --function-log
def test_the_execution_environments_write_the_functions_logs_and_metrics(tmp_path):
    """What CloudWatch would get from the three functions: JSON logs with the execution's id as
    correlation id, and EMF metrics, written by the worker processes into --function-log."""
    log = tmp_path / "functions.log"
    report = run_cli(
        tmp_path,
        "--limit",
        "4",
        "--log-level",
        "INFO",
        "--function-log",
        str(log),
        "--execution-environments",
        "2",
    )
    assert report["summary"]["executions"] == 4
    records = [json.loads(line) for line in log.read_text().splitlines()]
    classified = [r for r in records if r.get("message") == "image classified"]
    assert len(classified) == report["summary"]["succeeded"] + report["summary"]["failed"].get(
        "ThresholdConfidenceNotMet", 0
    )
    assert all(r["service"] == "vehicle-classifier" for r in classified)
    # each execution's ARN is its logs' correlation id: `run` names them <run id>-<number>
    arns = sorted(r["correlation_id"] for r in classified)
    prefix = f"arn:aws:states:us-east-1:123456789012:execution:{STACK_NAME}-ClassifyImage:"
    run_id = re.fullmatch(re.escape(prefix) + r"([0-9a-f]{8})-00000", arns[0]).group(1)
    assert arns == [f"{prefix}{run_id}-{n:05d}" for n in range(4)]
    metric_names = {
        metric["Name"]
        for r in records
        if "_aws" in r
        for directive in r["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }
    assert {"EndpointLatency", "ColdStart"} <= metric_names
