"""``monitoring report --baseline``: the drift object, the page's section, and captures made to drift.

The captures are the committed samples answered by the shipped model, as the local endpoint
answers and captures them (``local_stack.aws.data_capture.capture_record``, the record the local
endpoint writes): once as they are, once darkened, once blurred.
tests/integration/test_drift.py sends them through the endpoint itself.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance, ImageFilter

from local_stack.aws.data_capture import capture_record
from monitoring.cli import main
from training_job.local_model import MODEL_PATH
from training_job.local_model.baseline import baseline_path_for
from training_job.local_model.inference import load_session, predict_probabilities
from training_job.local_model.preprocess import decode_image

REPO_ROOT = Path(__file__).resolve().parents[3]
SAMPLE_IMAGES = sorted((REPO_ROOT / "samples" / "images").glob("*.png"))
COMMITTED_BASELINE = baseline_path_for(MODEL_PATH)
START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

CHANGES: dict[str, Callable[[Image.Image], Image.Image]] = {
    "as they are": lambda image: image,
    "darkened": lambda image: ImageEnhance.Brightness(image).enhance(0.3),  # 30 % of the light
    "blurred": lambda image: image.filter(ImageFilter.GaussianBlur(1.0)),  # 1 px on 32 x 32
}


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def answered_capture(folder: Path, change: Callable[[Image.Image], Image.Image]) -> Path:
    """The 40 samples, changed, answered by the shipped model, one capture record each."""
    session = load_session(MODEL_PATH)
    lines = []
    for index, path in enumerate(SAMPLE_IMAGES):
        with Image.open(path) as image:
            body = png(change(image.convert("RGB")))
        answer = [float(p) for p in predict_probabilities(session, decode_image(body))[0]]
        record = capture_record(
            input_body=body,
            input_content_type="image/png",
            output_body=json.dumps(answer).encode(),
            output_content_type="application/json",
            inference_time=START + timedelta(seconds=7 * index),
            event_id=f"e-{index}",
        )
        lines.append(json.dumps(record))
    target = folder / "ep" / "AllTraffic" / "2026" / "11" / "25" / "12" / "00-00-000-x.jsonl"
    target.parent.mkdir(parents=True)
    target.write_text("\n".join(lines) + "\n")
    return folder


def report(capture: Path, out: Path, *extra: str) -> tuple[int, dict]:
    code = main(["report", "--capture", str(capture), "--out", str(out), "--no-progress", *extra])
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    return code, summary


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, dict]:
    """summary.json of each capture, judged against the committed baseline."""
    results = {}
    for name, change in CHANGES.items():
        root = tmp_path_factory.mktemp(name.replace(" ", "-"))
        capture = answered_capture(root / "capture", change)
        code, summary = report(capture, root / "report", "--baseline", str(COMMITTED_BASELINE))
        assert code == 0
        results[name] = summary
    return results


def test_the_samples_as_they_are_are_no_drift(reports):
    drift = reports["as they are"]["drift"]
    assert drift["verdict"] == "ok"
    assert {name: check["verdict"] for name, check in drift["checks"].items()} == {
        "confidence": "ok",
        "class_mix": "ok",
        "below_threshold": "ok",
    }
    assert drift["records"] == 40
    assert drift["checks"]["confidence"]["psi"] < 0.1


def test_darkened_samples_are_drift(reports):
    drift = reports["darkened"]["drift"]
    checks = drift["checks"]
    assert drift["verdict"] == "drift"
    assert checks["confidence"]["verdict"] == "drift"
    # in the dark the model sees bicycles, and is surer of itself than on the validation split
    assert checks["class_mix"]["verdict"] == "drift"
    assert checks["class_mix"]["per_class"]["bicycle"]["difference"] > 0.4
    assert checks["below_threshold"]["difference"] < -0.2


def test_blurred_samples_are_drift(reports):
    drift = reports["blurred"]["drift"]
    checks = drift["checks"]
    assert drift["verdict"] == "drift"
    assert checks["confidence"]["verdict"] == "drift"
    # blur takes the confidence away: far more answers fall below the threshold
    assert checks["below_threshold"]["verdict"] == "drift"
    assert checks["below_threshold"]["difference"] > 0.3


def test_the_drift_object_carries_the_numbers_and_the_limits_used(reports):
    drift = reports["darkened"]["drift"]
    assert drift["baseline"]["location"] == str(COMMITTED_BASELINE)
    assert drift["baseline"]["records"] == 200
    assert drift["baseline"]["model_file"] == "vehicle_classifier.onnx"
    confidence = drift["checks"]["confidence"]
    assert confidence["bins"]["edges"] == [0.5, 0.8, 0.93, 0.97, 0.99, 1.0]
    assert sum(confidence["bins"]["capture_counts"]) == 40
    assert set(confidence["thresholds"]) == {"watch", "drift", "rule_of_thumb", "sampling_noise", "rule"}
    below = drift["checks"]["below_threshold"]
    assert below["threshold"] == 0.93
    assert below["capture_count"] == reports["darkened"]["below_threshold"]["count"]
    assert set(below["thresholds"]) == {"watch", "drift", "watch_level", "drift_level", "rule"}
    assert reports["darkened"]["outputs"]["drift_plot"] == "drift.png"


def test_the_page_has_a_drift_section_with_the_overlay(tmp_path):
    capture = answered_capture(tmp_path / "capture", CHANGES["blurred"])
    code, _ = report(capture, tmp_path / "report", "--baseline", str(COMMITTED_BASELINE))
    page = (tmp_path / "report" / "report.html").read_text()

    assert code == 0
    assert "<h2>Drift against the baseline</h2>" in page
    assert 'Overall: <span class="verdict-drift">drift</span>' in page
    assert 'alt="baseline and capture overlaid"' in page
    assert "below the threshold 0.93" in page
    assert (tmp_path / "report" / "drift.png").read_bytes().startswith(b"\x89PNG")


def test_without_a_baseline_there_is_no_drift(tmp_path):
    capture = answered_capture(tmp_path / "capture", CHANGES["as they are"])
    code, summary = report(capture, tmp_path / "report")
    assert code == 0
    assert "drift" not in summary
    assert "drift_plot" not in summary["outputs"]
    assert "Drift against the baseline" not in (tmp_path / "report" / "report.html").read_text()
    assert not (tmp_path / "report" / "drift.png").exists()


def test_a_report_threshold_other_than_the_baselines_is_said(tmp_path):
    capture = answered_capture(tmp_path / "capture", CHANGES["as they are"])
    code, summary = report(
        capture, tmp_path / "report", "--baseline", str(COMMITTED_BASELINE), "--threshold", "0.9"
    )
    assert code == 0
    assert summary["threshold"] == 0.9
    assert summary["drift"]["checks"]["below_threshold"]["threshold"] == 0.93
    assert "so the below-threshold check uses 0.93" in (tmp_path / "report" / "report.html").read_text()


def test_a_missing_baseline_fails_before_the_capture_is_read(tmp_path, capsys):
    code = main(
        [
            "report",
            "--capture",
            str(tmp_path / "absent-capture"),
            "--out",
            str(tmp_path / "report"),
            "--baseline",
            str(tmp_path / "absent.json"),
        ]
    )
    assert code == 1
    assert capsys.readouterr().err == f"monitoring: baseline not found: {tmp_path / 'absent.json'}\n"
    assert not (tmp_path / "report").exists()


def test_the_verdict_is_one_line_on_stderr(tmp_path, capsys):
    capture = answered_capture(tmp_path / "capture", CHANGES["darkened"])
    code, _ = report(capture, tmp_path / "report", "--baseline", str(COMMITTED_BASELINE))
    err = capsys.readouterr().err
    assert code == 0
    assert "drift: drift (confidence PSI " in err
    assert "class mix drift" in err
