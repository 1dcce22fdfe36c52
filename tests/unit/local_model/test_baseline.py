"""baseline.json: built from the model's answers, written by evaluate and train-local, read back."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from training_job.local_model import CLASS_NAMES, MODEL_PATH
from training_job.local_model.baseline import (
    CONFIDENCE_EDGES,
    SCHEMA,
    Baseline,
    BaselineFormatError,
    baseline_path_for,
    baseline_uri_for,
    build_baseline,
    confidence_bin,
    file_sha256,
    parse_baseline,
    read_baseline,
    write_baseline,
)

COMMITTED_BASELINE = baseline_path_for(MODEL_PATH)
VALIDATION_LST = MODEL_PATH.with_name("validation.lst")


def probabilities(confidences: list[float], labels: list[int]) -> np.ndarray:
    """Two-class answers with the given confidence for the given predicted label."""
    rows = []
    for confidence, label in zip(confidences, labels, strict=True):
        row = [1.0 - confidence, 1.0 - confidence]
        row[label] = confidence
        rows.append(row)
    return np.array(rows)


def test_a_confidence_goes_to_the_bin_whose_lower_edge_it_reaches():
    assert [confidence_bin(c) for c in (0.5, 0.79, 0.8, 0.9299, 0.93, 0.97, 0.99, 0.999, 1.0)] == [
        0,
        0,
        1,
        1,
        2,
        3,
        4,
        4,
        4,  # the last bin holds 1.0
    ]
    assert confidence_bin(0.3) == 0  # below the first edge (more than two classes): the first bin


def test_build_baseline_counts_classes_bins_and_the_share_below_the_threshold():
    probs = probabilities([0.55, 0.85, 0.93, 0.95, 0.98, 1.0], [0, 0, 1, 1, 1, 0])
    baseline = build_baseline(probs, 0.93, source={"tool": "test"})

    assert baseline.class_names == CLASS_NAMES
    assert baseline.predicted_counts == (3, 3)
    assert baseline.confidence_edges == CONFIDENCE_EDGES
    assert baseline.confidence_counts == (1, 1, 2, 1, 1)
    assert baseline.below_threshold == 2  # 0.93 itself is not below 0.93, as FilterInferences cuts
    assert baseline.records == 6
    assert baseline.coverage == pytest.approx(4 / 6)
    assert baseline.model_sha256 is None


def test_build_baseline_refuses_answers_of_the_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        build_baseline(np.zeros((0, 2)), 0.93)
    with pytest.raises(ValueError, match="shape"):
        build_baseline(np.full((3, 3), 1 / 3), 0.93)


def test_a_baseline_survives_its_file(tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"weights")
    baseline = build_baseline(probabilities([0.6, 0.99], [1, 0]), 0.9, model_path=model, source={"lst": "v"})

    path = write_baseline(baseline, baseline_path_for(model))

    assert path == tmp_path / "baseline.json"
    assert read_baseline(path) == baseline
    data = json.loads(path.read_text())
    assert data["schema"] == SCHEMA
    assert data["model"] == {"file": "m.onnx", "sha256": file_sha256(model)}
    assert data["predicted_counts"] == {"bicycle": 1, "motorcycle": 1}
    assert data["coverage"] == 0.5


def good_dict() -> dict:
    return build_baseline(probabilities([0.6, 0.95, 0.99], [0, 1, 1]), 0.93).to_dict()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(schema="other"), "not a baseline"),
        (lambda d: d.pop("threshold"), "malformed"),
        (lambda d: d["confidence_bins"].update(counts=[1, 1, 1]), "5 bins but 3 counts"),
        (lambda d: d["confidence_bins"].update(counts=[1, 1, 1, 1, 1]), "add up to 5, not 3"),
        (lambda d: d["confidence_bins"].update(edges=[0.5, 0.9, 0.8, 0.95, 0.99, 1.0]), "must rise"),
        (lambda d: d["predicted_counts"].update(bicycle=-1), "not a count"),
        (lambda d: d["predicted_counts"].update(bicycle=1.5), "not a count"),
        (lambda d: d.update(below_threshold=9), "more records below"),
        (lambda d: d.update(threshold=1.5), "not in (0, 1]"),
        (lambda d: d.update(predicted_counts={"bicycle": 3}), "fewer than two classes"),
    ],
)
def test_a_malformed_baseline_is_refused_with_its_reason(change, message):
    data = good_dict()
    change(data)
    with pytest.raises(BaselineFormatError, match=message.replace("(", r"\(").replace("]", r"\]")):
        Baseline.from_dict(data)


def test_text_that_is_not_json_is_no_baseline():
    with pytest.raises(BaselineFormatError, match="not JSON"):
        parse_baseline("{")


def test_the_baseline_uri_is_beside_the_model_artifact():
    assert (
        baseline_uri_for("s3://bucket/vehicle-classifier/output/vehicle-ic-1/output/model.tar.gz")
        == "s3://bucket/vehicle-classifier/output/vehicle-ic-1/output/baseline.json"
    )
    for bad in ("bucket/model.tar.gz", "s3://bucket"):
        with pytest.raises(ValueError, match="s3://bucket/key"):
            baseline_uri_for(bad)


def test_the_committed_baseline_describes_the_committed_model():
    """Without the shared images the committed file is the only baseline: it must be this model's."""
    baseline = read_baseline(COMMITTED_BASELINE)
    assert baseline.model_sha256 == file_sha256(MODEL_PATH)
    assert baseline.model_file == MODEL_PATH.name
    assert baseline.records == len(VALIDATION_LST.read_text().splitlines()) == 200
    assert baseline.confidence_edges == CONFIDENCE_EDGES
    assert baseline.threshold == 0.93


def test_evaluate_on_the_validation_split_reproduces_the_committed_baseline(
    cli, capsys, tmp_path, shared_data
):
    out = tmp_path / "baseline.json"
    code = cli(
        "evaluate",
        "--model",
        MODEL_PATH,
        "--images",
        shared_data / "train",
        "--lst",
        VALIDATION_LST,
        "--baseline",
        out,
    )
    assert code == 0, capsys.readouterr().err
    written, committed = read_baseline(out), read_baseline(COMMITTED_BASELINE)
    assert written.to_dict() | {"source": None} == committed.to_dict() | {"source": None}
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["baseline"] == str(out)


def test_evaluate_writes_a_baseline_only_where_asked_with_no_path_of_this_machine(
    cli, capsys, tmp_path, shared_data
):
    model = tmp_path / "model" / "vehicle_classifier.onnx"
    model.parent.mkdir()
    shutil.copyfile(MODEL_PATH, model)
    lst = tmp_path / "few.lst"
    lst.write_text("".join(VALIDATION_LST.read_text().splitlines(keepends=True)[:30]))
    common = ("evaluate", "--model", model, "--images", shared_data / "train", "--lst", lst)

    assert cli(*common, "--no-baseline") == 0
    assert cli(*common) == 0  # nothing asked, nothing written: not beside the model either
    assert not baseline_path_for(model).exists()
    assert "wrote the baseline" not in capsys.readouterr().err

    out = tmp_path / "elsewhere" / "baseline.json"
    out.parent.mkdir()
    assert cli(*common, "--threshold", "0.9", "--baseline", out) == 0
    assert not baseline_path_for(model).exists()
    baseline = read_baseline(out)
    assert baseline.records == 30
    assert baseline.threshold == 0.9
    # the data set's folder and name, not where it lies on this machine
    assert baseline.source == {
        "tool": "evaluate",
        "lst": f"{tmp_path.name}/few.lst",
        "images": f"{shared_data.name}/train",
    }
    assert str(tmp_path) not in out.read_text() and str(shared_data) not in out.read_text()
    assert f"wrote the baseline {out}" in capsys.readouterr().err


def test_evaluate_refuses_the_committed_baseline_by_name_before_running_the_model(cli, capsys, tmp_path):
    before = COMMITTED_BASELINE.read_bytes()
    # the files need not exist: the command line alone is wrong
    code = cli("evaluate", "--model", "m", "--images", "i", "--lst", "l", "--baseline", COMMITTED_BASELINE)
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"evaluate: --baseline {COMMITTED_BASELINE} is the shipped model's committed")
    assert "--replace-committed-baseline" in err
    assert COMMITTED_BASELINE.read_bytes() == before

    # the same file reached by another spelling of its path
    roundabout = COMMITTED_BASELINE.parent / ".." / "local_model" / "baseline.json"
    assert cli("evaluate", "--model", "m", "--images", "i", "--lst", "l", "--baseline", roundabout) == 2
    assert COMMITTED_BASELINE.read_bytes() == before


def test_replace_committed_baseline_goes_with_the_committed_path_only(cli, capsys, tmp_path):
    common = ("evaluate", "--model", "m", "--images", "i", "--lst", "l", "--replace-committed-baseline")
    assert cli(*common) == 2
    assert "--replace-committed-baseline goes with --baseline training_job/local_model/baseline.json" in (
        capsys.readouterr().err
    )
    assert cli(*common, "--baseline", tmp_path / "b.json") == 2
    assert not (tmp_path / "b.json").exists()


def test_evaluate_rewrites_the_committed_baseline_when_told_to(
    cli, capsys, tmp_path, shared_data, monkeypatch
):
    committed = tmp_path / "baseline.json"  # a stand-in: the repository's file is left alone
    monkeypatch.setattr("training_job.commands.evaluate.COMMITTED_BASELINE", committed)
    lst = tmp_path / "few.lst"
    lst.write_text("".join(VALIDATION_LST.read_text().splitlines(keepends=True)[:20]))
    common = ("evaluate", "--model", MODEL_PATH, "--images", shared_data / "train", "--lst", lst)

    assert cli(*common, "--baseline", committed) == 2
    assert not committed.exists()
    assert cli(*common, "--baseline", committed, "--replace-committed-baseline") == 0, capsys.readouterr().err
    assert read_baseline(committed).records == 20


def test_a_baseline_names_paths_inside_the_repository_from_its_root(tmp_path):
    from training_job.commands.evaluate import REPO_ROOT, portable_path

    assert portable_path(VALIDATION_LST) == "training_job/local_model/validation.lst"
    assert portable_path(REPO_ROOT / "samples" / ".." / "samples" / "images") == "samples/images"
    assert portable_path(tmp_path / "data" / "train") == "data/train"


def test_evaluate_baseline_options_exclude_each_other(cli, capsys):
    with pytest.raises(SystemExit):
        cli("evaluate", "--model", "m", "--images", "i", "--lst", "l", "--baseline", "b", "--no-baseline")
    assert "not allowed with" in capsys.readouterr().err


def test_evaluate_says_when_the_baseline_cannot_be_written(cli, capsys, tmp_path, shared_data):
    lst = tmp_path / "few.lst"
    lst.write_text(VALIDATION_LST.read_text().splitlines(keepends=True)[0])
    code = cli(
        "evaluate",
        "--model",
        MODEL_PATH,
        "--images",
        shared_data / "train",
        "--lst",
        lst,
        "--baseline",
        tmp_path / "absent" / "baseline.json",
    )
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.splitlines()[-1].startswith("evaluate: cannot write the baseline: ")
    assert captured.out == ""
