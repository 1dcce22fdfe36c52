import hashlib

import pytest

from scones_core.lst import LstEntry, read_lst
from training_job import channels
from training_job.exceptions import DatasetError
from training_job.local_model.data import stratified_split


def test_lst_lines_are_index_tab_label_tab_path(tmp_path):
    entries = [LstEntry(16, 0, "bike_s_000682.png"), LstEntry(3, 1, "moped_s_000004.png")]
    path = channels.write_lst(tmp_path / "train_lst" / "train.lst", entries)
    assert path.read_text() == "16\t0\tbike_s_000682.png\n3\t1\tmoped_s_000004.png\n"


def test_from_shared_images_carves_the_local_models_validation_split(shared_data, tmp_path):
    out = tmp_path / "channels"
    counts = channels.from_image_dir(shared_data, out, validation_fraction=0.2, seed=0)
    assert (counts.train, counts.validation) == (800, 200)
    train, validation = (
        read_lst(out / "train_lst" / "train.lst"),
        read_lst(out / "validation_lst" / "validation.lst"),
    )
    # The same images `train-local` holds out for the same seed.
    assert (train, validation) == stratified_split(read_lst(shared_data / "train.lst"), 0.2, 0)
    assert [sum(e.label == c for e in validation) for c in (0, 1)] == [100, 100]
    assert {e.path for e in train}.isdisjoint(e.path for e in validation)
    assert len(list((out / "train").glob("*.png"))) == 800
    assert len(list((out / "validation").glob("*.png"))) == 200
    first = validation[0]
    copied = (out / "validation" / first.path).read_bytes()
    assert (
        hashlib.md5(copied).digest()
        == hashlib.md5((shared_data / "train" / first.path).read_bytes()).digest()
    )


def test_an_existing_validation_list_is_used_as_is(tmp_path):
    src = tmp_path / "src"
    for channel, names in (("train", ["a.png", "b.png"]), ("validation", ["c.png"])):
        (src / channel).mkdir(parents=True)
        for name in names:
            (src / channel / name).write_bytes(name.encode())
        channels.write_lst(src / f"{channel}.lst", [LstEntry(i, i % 2, n) for i, n in enumerate(names)])
    counts = channels.from_image_dir(src, tmp_path / "out")
    assert (counts.train, counts.validation) == (2, 1)
    assert (tmp_path / "out" / "validation" / "c.png").read_bytes() == b"c.png"


def test_bad_layout_bad_lst_or_missing_image_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match=r"train\.lst"):
        channels.from_image_dir(tmp_path, tmp_path / "out")
    (tmp_path / "train").mkdir()
    (tmp_path / "train.lst").write_text("7 1 a.png\n")
    with pytest.raises(DatasetError, match=r"train\.lst: line 1"):
        channels.from_image_dir(tmp_path, tmp_path / "out")
    channels.write_lst(tmp_path / "train.lst", [LstEntry(i, i % 2, f"{i}.png") for i in range(10)])
    with pytest.raises(DatasetError, match="does not exist"):
        channels.from_image_dir(tmp_path, tmp_path / "out")
    with pytest.raises(DatasetError, match="between 0 and 1"):
        channels.from_image_dir(tmp_path, tmp_path / "out", validation_fraction=1.5)
