import numpy as np
import pytest

from training_job.local_model.metrics import (
    confusion_matrix,
    expected_calibration_error,
    negative_log_likelihood,
    per_class_scores,
    selective_scores,
    softmax,
    summarise,
    threshold_sweep,
)

# 6 images: true labels and probabilities chosen by hand
LABELS = np.array([0, 0, 0, 1, 1, 1])
PROBS = np.array(
    [
        [0.99, 0.01],  # right, confident
        [0.95, 0.05],  # right, confident
        [0.40, 0.60],  # wrong, unsure
        [0.20, 0.80],  # right, unsure
        [0.03, 0.97],  # right, confident
        [0.96, 0.04],  # wrong, confident
    ]
)


def test_confusion_matrix_rows_true_columns_predicted():
    matrix = confusion_matrix(LABELS, PROBS.argmax(axis=1), 2)
    assert matrix.tolist() == [[2, 1], [1, 2]]


def test_per_class_scores_exact():
    matrix = np.array([[8, 2], [1, 9]])
    scores = per_class_scores(matrix, ("bicycle", "motorcycle"))
    assert scores["bicycle"]["precision"] == pytest.approx(8 / 9)
    assert scores["bicycle"]["recall"] == pytest.approx(8 / 10)
    assert scores["bicycle"]["f1"] == pytest.approx(2 * (8 / 9) * 0.8 / (8 / 9 + 0.8))
    assert scores["motorcycle"]["precision"] == pytest.approx(9 / 11)
    assert scores["motorcycle"]["recall"] == pytest.approx(9 / 10)
    assert scores["motorcycle"]["support"] == 10


def test_per_class_scores_zero_denominators_are_zero():
    scores = per_class_scores(np.array([[5, 0], [0, 0]]), ("bicycle", "motorcycle"))
    assert scores["motorcycle"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_selective_scores_exact():
    coverage, selective_accuracy = selective_scores(PROBS, LABELS, 0.93)
    assert coverage == pytest.approx(4 / 6)  # 0.99, 0.95, 0.97, 0.96
    assert selective_accuracy == pytest.approx(3 / 4)


def test_selective_scores_threshold_is_inclusive_and_empty_is_none():
    assert selective_scores(PROBS, LABELS, 0.99) == (pytest.approx(1 / 6), 1.0)
    assert selective_scores(PROBS, LABELS, 0.999) == (0.0, None)


def test_threshold_sweep_rows():
    rows = threshold_sweep(PROBS, LABELS, (0.5, 0.9))
    assert rows[0] == {"threshold": 0.5, "coverage": 1.0, "selective_accuracy": pytest.approx(4 / 6)}
    assert rows[1]["coverage"] == pytest.approx(4 / 6)


def test_ece_exact():
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.4, 0.6]])
    labels = np.array([0, 1, 0, 0])
    # bin (0.8, 0.9]: confidence 0.9, accuracy 0.5, share 0.5 -> 0.2
    # bin (0.5, 0.6]: confidence 0.6, accuracy 0.5, share 0.5 -> 0.05
    assert expected_calibration_error(probs, labels) == pytest.approx(0.25)


def test_ece_zero_when_perfectly_calibrated():
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(probs, np.array([0, 1])) == pytest.approx(0.0)


def test_nll_and_softmax():
    assert negative_log_likelihood(np.array([[0.5, 0.5]]), np.array([1])) == pytest.approx(np.log(2))
    probs = softmax(np.array([[0.0, np.log(3.0)], [1000.0, 0.0]]))
    assert probs[0] == pytest.approx([0.25, 0.75])
    assert probs[1] == pytest.approx([1.0, 0.0])


def test_summarise_keys_and_values():
    report = summarise(PROBS, LABELS, threshold=0.93)
    assert report["n"] == 6
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["coverage"] == pytest.approx(4 / 6)
    assert report["selective_accuracy"] == pytest.approx(3 / 4)
    assert report["confusion_matrix"] == {
        "labels": ["bicycle", "motorcycle"],
        "rows_true_cols_predicted": [[2, 1], [1, 2]],
    }
    assert set(report["per_class"]) == {"bicycle", "motorcycle"}
    assert report["threshold_sweep"][0]["threshold"] == 0.5
