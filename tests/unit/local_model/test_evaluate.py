import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from scones_core.lst import format_lst, read_lst
from training_job.local_model import CLASS_NAMES, MODEL_PATH
from training_job.local_model.inference import load_session, predict_probabilities

VALIDATION_LST = MODEL_PATH.with_name("validation.lst")


@pytest.fixture
def few_lst(tmp_path, shared_data):
    """The first 40 images of the shipped model's validation split (never trained on)."""
    entries = read_lst(VALIDATION_LST)[:40]
    path = tmp_path / "few.lst"
    path.write_text(format_lst(entries))
    return path


def last_json_line(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_shipped_model_is_small_and_answers_the_contract():
    assert MODEL_PATH.stat().st_size < 2 * 1024 * 1024
    session = load_session(MODEL_PATH)
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    images = np.random.default_rng(0).uniform(0, 255, size=(5, 3, 32, 32)).astype(np.float32)
    probs = predict_probabilities(session, images)
    assert probs.shape == (5, 2)
    assert probs.dtype == np.float32
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert predict_probabilities(session, images[0]).shape == (1, 2)


def test_predict_probabilities_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\[n, 3, 32, 32\]"):
        predict_probabilities(load_session(MODEL_PATH), np.zeros((2, 32, 32, 3), dtype=np.float32))


def test_evaluate_shipped_model_prints_report(cli, capsys, tmp_path, shared_data, few_lst):
    # --baseline elsewhere: the committed baseline.json beside the model is the validation split's
    code = cli(
        "evaluate",
        "--model",
        MODEL_PATH,
        "--images",
        shared_data / "train",
        "--lst",
        few_lst,
        "--baseline",
        tmp_path / "baseline.json",
    )
    captured = capsys.readouterr()
    assert code == 0
    report = last_json_line(captured.out)
    assert report["n"] == 40
    assert report["threshold"] == 0.93
    assert report["accuracy"] >= 0.85
    assert 0.3 <= report["coverage"] <= 1.0
    row = next(r for r in report["threshold_sweep"] if r["threshold"] == 0.93)
    assert row == {
        "threshold": 0.93,
        "coverage": report["coverage"],
        "selective_accuracy": report["selective_accuracy"],
    }
    assert report["selective_accuracy"] >= report["accuracy"] - 0.05
    assert set(report["per_class"]) == set(CLASS_NAMES)
    for scores in report["per_class"].values():
        assert set(scores) == {"precision", "recall", "f1", "support"}
        assert 0.0 <= scores["f1"] <= 1.0
    matrix = report["confusion_matrix"]
    assert matrix["labels"] == list(CLASS_NAMES)
    assert np.asarray(matrix["rows_true_cols_predicted"]).sum() == 40
    coverages = [row["coverage"] for row in report["threshold_sweep"]]
    assert coverages == sorted(coverages, reverse=True)
    assert report["threshold_sweep"][0]["threshold"] == 0.5
    assert report["skipped"]["missing"] == report["skipped"]["undecodable"] == 0
    assert "confusion" in captured.err and "threshold" in captured.err


def test_evaluate_counts_missing_and_undecodable_files(cli, capsys, tmp_path, shared_data, few_lst):
    images = tmp_path / "images"
    images.mkdir()
    entries = read_lst(few_lst)[:4]
    for entry in entries[:2]:
        (images / entry.path).write_bytes((shared_data / "train" / entry.path).read_bytes())
    (images / entries[2].path).write_bytes(b"\x89PNG truncated")
    lst = tmp_path / "mixed.lst"
    lst.write_text(format_lst(entries))  # entries[3] is not in the folder
    code = cli(
        "evaluate",
        "--model",
        MODEL_PATH,
        "--images",
        images,
        "--lst",
        lst,
        "--threshold",
        "0.5",
        "--no-baseline",
    )
    captured = capsys.readouterr()
    assert code == 0
    report = last_json_line(captured.out)
    assert report["n"] == 2
    assert report["skipped"]["missing"] == 1
    assert report["skipped"]["undecodable"] == 1
    assert report["skipped"]["missing_files"] == [entries[3].path]
    assert "skipped 1 missing" in captured.err


@pytest.mark.parametrize(
    "problem",
    ["no-images-dir", "no-lst", "no-model", "bad-model", "malformed-lst", "empty-lst", "all-undecodable"],
)
def test_evaluate_bad_input_is_a_message_not_a_traceback(cli, capsys, tmp_path, problem):
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.png").write_bytes(b"not a png")
    lst = tmp_path / "list.lst"
    lst.write_text("0\t0\ta.png\n")
    model = MODEL_PATH
    if problem == "no-images-dir":
        images = tmp_path / "absent"
    elif problem == "no-lst":
        lst = tmp_path / "absent.lst"
    elif problem == "no-model":
        model = tmp_path / "absent.onnx"
    elif problem == "bad-model":
        model = tmp_path / "bad.onnx"
        model.write_bytes(b"not onnx")
        Image.new("RGB", (32, 32), (200, 30, 30)).save(images / "a.png")
    elif problem == "malformed-lst":
        lst.write_text("0 0 a.png\n")
    elif problem == "empty-lst":
        lst.write_text("\n")
    code = cli("evaluate", "--model", model, "--images", images, "--lst", lst)
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err.startswith("evaluate: ")
    assert "Traceback" not in captured.err


def test_evaluate_threshold_must_be_a_probability(cli, capsys):
    with pytest.raises(SystemExit):
        cli("evaluate", "--model", "m", "--images", "i", "--lst", "l", "--threshold", "1.5")
    assert "between 0 and 1" in capsys.readouterr().err


def test_evaluate_and_inference_never_import_torch():
    code = (
        "import sys\n"
        "from training_job import cli\n"
        "from training_job.local_model import evaluate, inference\n"
        "cli.build_parser()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(MODEL_PATH.parents[2]))
