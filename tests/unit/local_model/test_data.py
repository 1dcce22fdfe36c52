import numpy as np
import pytest

from scones_core.lst import LstEntry, LstFormatError, format_lst, parse_lst
from training_job.local_model.data import load_images, stratified_split


def entries(n_per_class=(50, 30)):
    out = []
    for label, n in enumerate(n_per_class):
        for i in range(n):
            out.append(LstEntry(index=len(out), label=label, path=f"c{label}_{i:03d}.png"))
    return out


def test_parse_lst_round_trip_and_float_labels():
    text = "16\t0\tbike_s_000682.png\n\n30\t1.000000\tmoto.png\n"
    parsed = parse_lst(text)
    assert parsed == [LstEntry(16, 0, "bike_s_000682.png"), LstEntry(30, 1, "moto.png")]
    assert parse_lst(format_lst(parsed)) == parsed


@pytest.mark.parametrize(
    "line", ["1\t0", "x\t0\ta.png", "1\t2\ta.png", "1\t0.5\ta.png", "1 0 a.png", "1\t0\t1\ta.png"]
)
def test_parse_lst_rejects_malformed_lines_with_line_number(line):
    with pytest.raises(LstFormatError, match="line 2"):
        parse_lst("0\t0\tok.png\n" + line + "\n")


def test_split_is_stratified_disjoint_and_complete():
    data = entries()
    train, val = stratified_split(data, 0.2, seed=0)
    assert [e.label for e in val].count(0) == 10
    assert [e.label for e in val].count(1) == 6
    assert not {e.path for e in train} & {e.path for e in val}
    assert sorted(train + val, key=lambda e: e.index) == data


def test_split_is_deterministic_whatever_the_input_order():
    data = entries()
    shuffled = [data[i] for i in np.random.default_rng(5).permutation(len(data))]
    assert stratified_split(data, 0.2, seed=3) == stratified_split(shuffled, 0.2, seed=3)
    assert stratified_split(data, 0.2, seed=3)[1] != stratified_split(data, 0.2, seed=4)[1]


def test_split_rejects_bad_fraction():
    with pytest.raises(ValueError):
        stratified_split(entries(), 1.0, seed=0)


def test_load_images_counts_missing_and_undecodable(tmp_path, shared_data):
    real = next((shared_data / "train").glob("*.png"))
    (tmp_path / "good.png").write_bytes(real.read_bytes())
    (tmp_path / "bad.png").write_bytes(b"not an image")
    loaded = load_images(
        tmp_path,
        [LstEntry(0, 0, "good.png"), LstEntry(1, 1, "bad.png"), LstEntry(2, 1, "gone.png")],
    )
    assert loaded.images.shape == (1, 3, 32, 32)
    assert loaded.images.dtype == np.float32
    assert loaded.labels.tolist() == [0]
    assert loaded.missing == ["gone.png"]
    assert loaded.undecodable == ["bad.png"]
