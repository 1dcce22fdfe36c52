"""The local stack end to end: the real ASL in moto's interpreter (server mode), our handlers,
the local SageMaker endpoint over HTTP serving the shipped model, data capture into the local S3."""

import base64
import json
from collections import Counter
from types import SimpleNamespace

import pytest
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

from local_stack import runner
from local_stack.cli import SAMPLES_DIR, SAMPLES_LST, main
from monitoring.cli import main as monitoring_main
from training_job.local_model import MODEL_PATH

pytestmark = pytest.mark.integration


@pytest.fixture
def fast_retries(monkeypatch):
    """Retry intervals really sleep in moto's interpreter; keep their count, not their seconds."""
    slept = []
    monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=slept.append))
    return slept


@pytest.fixture
def sample_count():
    return sum(1 for p in SAMPLES_DIR.iterdir() if p.is_file())


def run_cli(tmp_path, *options: str) -> dict:
    out = tmp_path / "run.json"
    code = main(
        ["run", "--images", str(SAMPLES_DIR), "--lst", str(SAMPLES_LST), "--json", str(out), *options]
    )
    assert code == 0
    return json.loads(out.read_text())


def test_samples_run_through_the_stack_with_named_failures(tmp_path, capsys, sample_count):
    report = run_cli(tmp_path, "--concurrency", "8")

    executions, summary = report["executions"], report["summary"]
    assert len(executions) == summary["executions"] == sample_count
    assert {e["status"] for e in executions} <= {"SUCCEEDED", "FAILED"}
    by_image = {e["image"]: e for e in executions}
    assert (by_image["not_an_image.txt"]["status"], by_image["not_an_image.txt"]["error"]) == (
        "FAILED",
        "NotAnImage",
    )
    assert set(summary["failed"]) <= {"NotAnImage", "ThresholdConfidenceNotMet"}
    # the model's own numbers are evaluate's business (MODEL_CARD.md); here: answers come back, right
    assert summary["succeeded"] >= sample_count // 3
    assert summary["accuracy_of_answered"] >= 0.9
    for execution in executions:
        if execution["status"] == "SUCCEEDED":
            assert execution["confidence"] >= 0.93 and execution["label"] in ("bicycle", "motorcycle")
    table = capsys.readouterr().out
    assert "not_an_image.txt" in table and "executions/s" in table


def test_a_high_threshold_turns_answers_into_threshold_failures(tmp_path, sample_count):
    report = run_cli(tmp_path, "--threshold", "0.99999", "--limit", "12")

    failed = report["summary"]["failed"]
    assert failed.get("ThresholdConfidenceNotMet", 0) >= 6
    for execution in report["executions"]:
        assert execution["status"] == "SUCCEEDED" or execution["error"] in (
            "ThresholdConfidenceNotMet",
            "NotAnImage",
        )


def test_injected_endpoint_throttling_is_retried_and_every_execution_ends(
    tmp_path, fast_retries, sample_count
):
    report = run_cli(tmp_path, "--endpoint-fail-rate", "0.3", "--concurrency", "8")

    assert len(report["executions"]) == sample_count
    assert len(fast_retries) > 0, "throttled calls were retried"
    errors = {e["error"] for e in report["executions"] if e["status"] == "FAILED"}
    assert errors <= {"NotAnImage", "ThresholdConfidenceNotMet", "EndpointThrottled"}
    # five attempts at a 30 % fault rate: an image fails all of them with p = 0.0024
    assert report["summary"]["failed"].get("EndpointThrottled", 0) <= 2


def test_capture_holds_one_record_per_answered_invocation_and_feeds_the_report(tmp_path):
    from local_stack import services, stack

    images, _ = runner.find_images(SAMPLES_DIR, SAMPLES_LST, limit=20)
    running = services.start(model_path=MODEL_PATH, bucket="capture-test", endpoint_name="capture-test")
    try:
        session = running.session()
        deployed = stack.deploy(
            session, endpoint_name="capture-test", bucket="capture-test", stack_name="capture"
        )
        s3 = session.client("s3")
        keys = runner.upload_images(s3, deployed.bucket, images)
        results, _ = runner.run_executions(
            session.client("stepfunctions"), deployed.state_machine_arn, deployed.bucket, images, keys, 8
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
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_an_empty_folder_is_a_clear_message(tmp_path, capsys):
    assert main(["run", "--images", str(tmp_path)]) == 2
    assert "holds no files" in capsys.readouterr().err


def test_an_lst_naming_missing_files_warns_and_runs_the_rest(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    photo = next(SAMPLES_DIR.glob("*.png"))
    (folder / photo.name).write_bytes(photo.read_bytes())
    lst = tmp_path / "images.lst"
    lst.write_text(f"0\t0\t{photo.name}\n1\t1\tgone.png\n")

    assert main(["run", "--images", str(folder), "--lst", str(lst), "--json", str(tmp_path / "r.json")]) == 0

    assert "1 file(s) named in" in capsys.readouterr().err
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["executions"] == 1


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
    assert all(r["service"] == "vehicle-classifier" and r["correlation_id"] for r in classified)
    metric_names = {
        metric["Name"]
        for r in records
        if "_aws" in r
        for directive in r["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }
    assert {"EndpointLatency", "ColdStart"} <= metric_names
