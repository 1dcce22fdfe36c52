from pathlib import Path

import numpy as np
import pytest

from training_job.local_model.card import render_model_card
from training_job.local_model.metrics import summarise

GOLDEN = Path(__file__).with_name("golden")


def info(report):
    return {
        "command": "python -m training_job train-local --images i --lst l --out m.onnx",
        "images_dir": "i",
        "lst": "l",
        "n_train": 8,
        "n_val": 4,
        "train_counts": [4, 4],
        "val_counts": [2, 2],
        "val_fraction": 0.2,
        "config": {
            "epochs": 1,
            "seed": 0,
            "batch_size": 64,
            "optimizer": "adamw",
            "max_lr": 0.003,
            "momentum": 0.9,
            "weight_decay": 0.05,
            "width": 16,
            "pad": 4,
            "jitter": 0.1,
            "cutout": 0,
            "mixup_alpha": 0.0,
            "ema_decay": 0.0,
            "members": 1,
            "threads": 2,
        },
        "parameters": 1234,
        "train_seconds": 1.0,
        "wall_seconds": 2.0,
        "final_loss": [0.5],
        "calibration": {
            "temperature": 1.5,
            "fitted": True,
            "ece_before": 0.1,
            "ece_after": 0.05,
            "nll_before": 0.4,
            "nll_after": 0.3,
        },
        "onnx_bytes": 1000,
        "onnx_max_abs_diff": 1e-7,
        "onnx_file": "m.onnx",
        "validation_lst": "validation.lst",
        "versions": {"torch": "t", "onnx": "o", "onnxruntime": "r"},
        "report": report,
    }


def test_card_states_numbers_targets_and_command():
    probs = np.array([[0.99, 0.01], [0.6, 0.4], [0.02, 0.98], [0.3, 0.7]])
    card = render_model_card(info(summarise(probs, np.array([0, 0, 1, 1]))))
    assert "T = 1.5000" in card
    assert "| accuracy | 95.0% | 100.0% |" in card
    assert "| coverage at the threshold | 80.0% | 50.0% | - | no |" in card
    assert "python -m training_job train-local --images i --lst l --out m.onnx" in card
    assert "| 0.93 | 50.0% | 100.0% |" in card


def test_card_without_validation_split():
    data = info(None)
    data["calibration"] = {"temperature": 1.0, "fitted": False}
    card = render_model_card(data)
    assert "no temperature was fitted" in card
    assert "Against the targets" not in card


def every_option_on() -> dict:
    data = info(
        summarise(np.array([[0.99, 0.01], [0.6, 0.4], [0.02, 0.98], [0.3, 0.7]]), np.array([0, 0, 1, 1]))
    )
    data["config"].update(
        tta_shift=2,
        members=3,
        optimizer="sgd",
        label_smoothing=0.1,
        dropout=0.2,
        ema_decay=0.98,
        cutout=8,
        mixup_alpha=0.2,
        cutmix=0.5,
        calib_fraction=0.1,
        threads=1,
    )
    data.update(n_calib=2, calib_counts=[1, 1])
    data["calibration"]["n_calib"] = 2
    return data


def every_target_met() -> dict:
    data = info(summarise(np.array([[0.999, 0.001], [0.001, 0.999]]), np.array([0, 1])))
    data["calibration"] = {"temperature": 1.25, "fitted": True}
    return data


def every_option_off() -> dict:
    data = info(None)
    data["calibration"] = {"temperature": 1.0, "fitted": False}
    return data


@pytest.mark.parametrize(
    "make", [every_option_on, every_target_met, every_option_off], ids=lambda f: f.__name__
)
def test_card_is_byte_for_byte_the_golden_card(make):
    # The golden cards were rendered before render_model_card was split into one function per
    # section; a change to them is a change to the card, made on purpose.
    golden = (GOLDEN / f"model_card_{make.__name__}.md").read_text(encoding="utf-8")
    assert render_model_card(make()) == golden
