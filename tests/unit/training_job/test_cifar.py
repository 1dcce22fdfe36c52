import numpy as np
import pytest
from PIL import Image

from scones_core.lst import read_lst
from training_job import channels, cifar
from training_job.exceptions import ChecksumMismatchError, DownloadError


def test_reads_only_bicycles_and_motorcycles_with_bytes_keys(fake_archive):
    archive, _ = fake_archive
    train = list(cifar.read_split(archive, "train"))
    # fine labels [8, 3, 48, 8, 99, 48, 8, 0]: rows 0, 2, 3, 5, 6 are kept
    assert [(image.index, image.label) for image in train] == [(0, 0), (2, 1), (3, 0), (5, 1), (6, 0)]
    assert train[0].filename == "train_000000.png"
    assert [(i.index, i.label) for i in cifar.read_split(archive, "test")] == [(0, 1), (1, 0)]


def test_png_planes_are_red_green_blue(tmp_path):
    pixels = bytes([200] * 1024 + [10] * 1024 + [60] * 1024)
    png = cifar.to_png(cifar.CifarImage(0, 0, "x.png", pixels))
    (tmp_path / "x.png").write_bytes(png)
    with Image.open(tmp_path / "x.png") as image:
        assert (image.size, image.mode) == ((32, 32), "RGB")
        assert np.asarray(image)[5, 7].tolist() == [200, 10, 60]


def test_download_from_file_url_checks_md5_and_reuses_the_copy(fake_archive, tmp_path):
    archive, md5 = fake_archive
    target = tmp_path / "work" / "cifar-100-python.tar.gz"
    assert cifar.download(archive.as_uri(), target, md5, progress=False) == target
    assert cifar.file_md5(target) == md5
    # Reused: the URL is not read again.
    assert cifar.download("file:///nonexistent/archive.tar.gz", target, md5, progress=False) == target


def test_md5_mismatch_is_a_named_error_and_leaves_no_file(fake_archive, tmp_path):
    archive, _ = fake_archive
    target = tmp_path / "work" / "cifar-100-python.tar.gz"
    with pytest.raises(ChecksumMismatchError, match="expected eb9058c3a382ffc7106e4002c42a8d85") as caught:
        cifar.download(archive.as_uri(), target, "eb9058c3a382ffc7106e4002c42a8d85", progress=False)
    assert caught.value.actual == cifar.file_md5(archive)
    assert list(target.parent.iterdir()) == []


def test_missing_source_is_a_download_error(tmp_path):
    with pytest.raises(DownloadError, match="could not download"):
        cifar.download((tmp_path / "nope.tar.gz").as_uri(), tmp_path / "x.tar.gz", "0" * 32, progress=False)


def test_archive_becomes_the_four_channels(fake_archive, tmp_path):
    archive, _ = fake_archive
    counts = channels.from_cifar_archive(archive, tmp_path / "channels")
    assert (counts.train, counts.validation) == (5, 2)
    train_lst = read_lst(tmp_path / "channels" / "train_lst" / "train.lst")
    assert [(e.index, e.label, e.path) for e in train_lst][:2] == [
        (0, 0, "train_000000.png"),
        (2, 1, "train_000002.png"),
    ]
    assert sorted(p.name for p in (tmp_path / "channels" / "validation").iterdir()) == [
        "test_000000.png",
        "test_000001.png",
    ]
    assert (
        (tmp_path / "channels" / "validation_lst" / "validation.lst")
        .read_text()
        .startswith("0\t1\ttest_000000.png")
    )
