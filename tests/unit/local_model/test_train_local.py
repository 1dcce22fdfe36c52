import json

import numpy as np
import pytest

from scones_core.lst import format_lst, read_lst
from training_job.local_model.baseline import file_sha256, read_baseline
from training_job.local_model.data import stratified_split
from training_job.local_model.inference import load_session, predict_probabilities

pytest.importorskip("torch", reason="train-local needs the 'train' extra (torch)")


def test_train_local_one_epoch_writes_a_valid_model(cli, capsys, tmp_path, shared_data):
    # 40 images, 20 per class
    entries = stratified_split(read_lst(shared_data / "train.lst"), 0.04, seed=1)[1]
    assert len(entries) == 40
    lst = tmp_path / "small.lst"
    lst.write_text(format_lst(entries))
    out = tmp_path / "model.onnx"
    code = cli(
        "train-local",
        "--images",
        shared_data / "train",
        "--lst",
        lst,
        "--out",
        out,
        "--epochs",
        "1",
        "--val-fraction",
        "0.25",
        "--width",
        "8",
        "--tta-shift",
        "1",
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out.strip().splitlines()[-1])
    # 30 on the training side: 4 of them (2 a class) held out to fit the temperature
    assert summary["n_train"] == 26 and summary["n_calib"] == 4 and summary["n_val"] == 10
    assert summary["temperature"] > 0

    session = load_session(out)
    assert [(o.name, o.shape) for o in session.get_outputs()] == [("probabilities", ["batch", 2])]
    probs = predict_probabilities(session, np.random.default_rng(0).uniform(0, 255, (7, 3, 32, 32)))
    assert probs.shape == (7, 2)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs >= 0).all()

    validation = read_lst(tmp_path / "validation.lst")
    assert len(validation) == 10
    assert {e.path for e in validation} <= {e.path for e in entries}
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert "train-local" in card and "Threshold sweep" in card

    # the baseline for monitoring: the exported model's answers on the 10 validation images
    assert summary["baseline"] == str(tmp_path / "baseline.json")
    baseline = read_baseline(tmp_path / "baseline.json")
    assert baseline.records == 10
    assert baseline.model_sha256 == file_sha256(out)
    assert baseline.source["tool"] == "train-local"
    assert baseline.source["lst"] == "validation.lst"


def test_train_local_missing_inputs_are_runtime_errors(cli, capsys, tmp_path):
    code = cli(
        "train-local",
        "--images",
        tmp_path / "absent",
        "--lst",
        tmp_path / "x.lst",
        "--out",
        tmp_path / "m.onnx",
    )
    assert code == 1
    assert capsys.readouterr().err == f"train-local: --images {tmp_path / 'absent'} not found\n"


def test_train_local_malformed_list_is_a_runtime_error(cli, capsys, tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "x.lst").write_text("0 0 a.png\n")
    code = cli("train-local", "--images", tmp_path / "images", "--lst", tmp_path / "x.lst", "--out", "m")
    assert code == 1
    assert capsys.readouterr().err.startswith("train-local: ")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--epochs", "0"], "--epochs must be at least 1, got 0"),
        (["--val-fraction", "1"], "--val-fraction must be in [0, 1), got 1.0"),
        (["--calib-fraction", "-0.1"], "--calib-fraction must be in [0, 1), got -0.1"),
        (["--width", "0"], "--width must be at least 1, got 0"),
        (["--threads", "0"], "--threads must be at least 1, got 0"),
        (["--tta-shift", "5"], "--tta-shift must be in 0..4, got 5"),
    ],
)
def test_train_local_bad_option_values_are_usage_errors(cli, capsys, tmp_path, option, message):
    # checked before the files: the command line alone is wrong, whatever the files
    code = cli(
        "train-local", "--images", tmp_path / "absent", "--lst", tmp_path / "x.lst", "--out", "m", *option
    )
    assert code == 2
    assert capsys.readouterr().err == f"train-local: {message}\n"


def test_cli_defaults_match_the_train_config():
    from training_job.commands.train_local import TRAIN_DEFAULTS
    from training_job.local_model.train import TrainConfig

    config = TrainConfig()
    assert {name: getattr(config, name) for name in TRAIN_DEFAULTS} == TRAIN_DEFAULTS
