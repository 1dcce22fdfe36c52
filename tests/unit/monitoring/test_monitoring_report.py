"""``monitoring report`` end to end: the numbers in summary.json, the plots, the gallery, the page."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from PIL import Image

from monitoring.capture_source import LocalCaptureSource, S3CaptureSource
from monitoring.cli import main
from monitoring.report import read_capture

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPO_ROOT = Path(__file__).resolve().parents[3]
CIFAR_TRAIN = REPO_ROOT.parent / "shared" / "data" / "cifar100-bicycle-motorcycle" / "train"
HOUR_12 = "ep/AllTraffic/2026/11/25/12"
HOUR_13 = "ep/AllTraffic/2026/11/25/13"


@pytest.fixture
def hand_made_capture(tmp_path, make_record):
    """Six usable records in all three output encodings, plus one line of each kind of fault."""
    root = tmp_path / "capture"
    no_output = make_record([0.9, 0.1], when="2026-11-25T12:40:00Z")
    del no_output["captureData"]["endpointOutput"]
    bad_output = make_record([0.9, 0.1], when="2026-11-25T12:45:00Z")
    bad_output["captureData"]["endpointOutput"]["data"] = "oops"
    bad_image = make_record([0.20, 0.80], encoding="CSV", when="2026-11-25T13:05:00Z", event_id="e-5")
    bad_image["captureData"]["endpointInput"]["data"] = base64.b64encode(b"not an image").decode()
    _write(
        root / HOUR_12 / "00-00-000-a.jsonl",
        [
            make_record([0.99, 0.01], encoding="BASE64", when="2026-11-25T12:00:00Z", event_id="e-1"),
            make_record([0.05, 0.95], encoding="JSON", when="2026-11-25T12:10:00Z", event_id="e-2", image=1),
            make_record([0.90, 0.10], encoding="CSV", when="2026-11-25T12:20:00Z", event_id="e-3", image=2),
            '{"captureData": {"endpointInput": ',
            "",
            '{"eventMetadata": {"eventId": "x"}}',
            make_record(
                [0.40, 0.60],
                encoding="JSON",
                when="2026-11-25T12:30:00Z",
                event_id="e-4",
                inference_id="req-4",
                image=3,
            ),
            no_output,
            bad_output,
        ],
    )
    _write(
        root / HOUR_13 / "00-00-000-b.jsonl",
        [
            bad_image,
            make_record(
                [0.97, 0.03], encoding="BASE64", when="2026-11-25T13:15:00Z", event_id="e-6", image=4
            ),
        ],
    )
    return root


def _report(capture, out, *extra: str) -> dict:
    assert main(["report", "--capture", str(capture), "--out", str(out), "--no-progress", *extra]) == 0
    return json.loads((out / "summary.json").read_text())


def test_summary_numbers_from_hand_made_records(hand_made_capture, tmp_path):
    summary = _report(hand_made_capture, tmp_path / "out", "--gallery-size", "3")

    # usable: bicycle 0.99, 0.90, 0.97; motorcycle 0.95, 0.60, 0.80
    assert summary["records"] == 6
    assert summary["counts_per_class"] == {"bicycle": 3, "motorcycle": 3}
    assert summary["confidence"]["mean"] == pytest.approx(5.21 / 6)
    assert summary["confidence"]["min"] == pytest.approx(0.60)
    assert summary["confidence"]["max"] == pytest.approx(0.99)
    assert summary["confidence"]["least_confident_event_id"] == "e-4"
    assert summary["confidence"]["mean_per_class"] == {
        "bicycle": pytest.approx(2.86 / 3),
        "motorcycle": pytest.approx(2.35 / 3),
    }
    assert summary["threshold"] == 0.93
    assert summary["below_threshold"] == {"count": 3, "share": pytest.approx(0.5)}  # 0.90, 0.60, 0.80
    assert summary["time_range"] == {"first": "2026-11-25T12:00:00Z", "last": "2026-11-25T13:15:00Z"}
    assert summary["files_read"] == 2
    assert summary["files_unreadable"] == 0
    assert summary["malformed_lines"] == 2
    assert summary["skipped"] == {
        "malformed_json": 1,
        "missing_fields": 1,
        "bad_inference_time": 0,
        "no_output": 1,
        "undecodable_output": 1,
        "undecodable_image": 1,  # e-5 (0.80) was among the 3 least confident but its input is no image
    }
    assert [(h["hour"], h["records"], h["below_threshold_share"]) for h in summary["per_hour"]] == [
        ("2026-11-25T12:00:00Z", 4, 0.5),
        ("2026-11-25T13:00:00Z", 2, 0.5),
    ]
    # the gallery: the 3 least confident records whose input decodes, least confident first
    gallery = summary["least_confident"]
    assert [(g["event_id"], g["label"], g["confidence"]) for g in gallery] == [
        ("e-4", "motorcycle", 0.60),
        ("e-3", "bicycle", 0.90),
        ("e-2", "motorcycle", 0.95),
    ]
    assert gallery[0]["inference_id"] == "req-4"
    assert gallery[0]["file"].endswith("12/00-00-000-a.jsonl")


def test_threshold_option_moves_the_share(hand_made_capture, tmp_path):
    summary = _report(hand_made_capture, tmp_path / "out", "--threshold", "0.85")
    assert summary["threshold"] == 0.85
    assert summary["below_threshold"] == {"count": 2, "share": pytest.approx(2 / 6)}  # 0.60, 0.80


def test_plots_are_pngs_and_the_page_embeds_them(hand_made_capture, tmp_path):
    out = tmp_path / "out"
    summary = _report(hand_made_capture, out)

    names = summary["outputs"]["plots"]
    assert names == [
        "confidence_over_time.png",
        "confidence_histogram.png",
        "predictions_per_hour.png",
        "below_threshold_share.png",
    ]
    page = (out / "report.html").read_text()
    for name in [*names, "gallery.png"]:
        png = (out / name).read_bytes()
        assert png.startswith(PNG_SIGNATURE)
        with Image.open(io.BytesIO(png)) as image:
            image.verify()
        assert "data:image/png;base64," + base64.b64encode(png).decode() in page
    assert page.count("data:image/png;base64,") == len(names) + 1 + summary["records"] - 1
    assert 'src="http' not in page and "<script" not in page  # self-contained
    assert "e-4" in page and "req-4" in page


def test_gallery_thumbnails_are_upscaled_inputs(hand_made_capture, tmp_path, pngs):
    from monitoring.gallery import thumbnail

    summary, gallery = read_capture(LocalCaptureSource(hand_made_capture), gallery_size=2, progress=False)
    items = gallery.items()

    assert [item.event_id for item in items] == ["e-4", "e-3"]
    assert items[0].image_bytes == pngs[3]
    with Image.open(io.BytesIO(pngs[3])) as original:
        expected_size = tuple(round(96 * side / max(original.size)) for side in original.size)
    assert thumbnail(items[0].image_bytes).size == expected_size
    assert summary.undecodable_images == 1


@pytest.mark.skipif(not CIFAR_TRAIN.is_dir(), reason=f"shared CIFAR-100 images absent: {CIFAR_TRAIN}")
def test_real_cifar_images_come_back_as_96px_thumbnails(make_record, tmp_path):
    from monitoring.gallery import thumbnail

    _write(tmp_path / "c" / "f.jsonl", [make_record([0.6, 0.4], image=i) for i in range(3)])
    _, gallery = read_capture(LocalCaptureSource(tmp_path / "c"), progress=False)
    assert [thumbnail(item.image_bytes).size for item in gallery.items()] == [(96, 96)] * 3


def test_many_records_per_file_across_hours(tmp_path, make_record):
    """5 files x 400 records; confidence (50 + i % 50) / 100, labels alternating."""
    root, start, expected = tmp_path / "capture", datetime(2026, 11, 25, 8, tzinfo=UTC), []
    for file_index in range(5):
        hour = start + timedelta(hours=file_index)
        lines = []
        for j in range(400):
            i = file_index * 400 + j
            confidence = (50 + i % 50) / 100
            probabilities = [confidence, 1 - confidence] if i % 2 == 0 else [1 - confidence, confidence]
            when = (hour + timedelta(seconds=9 * j)).strftime("%Y-%m-%dT%H:%M:%SZ")
            encoding = ("BASE64", "JSON", "CSV")[i % 3]
            lines.append(make_record(probabilities, when=when, encoding=encoding, event_id=f"e-{i}", image=i))
            expected.append(confidence)
        _write(root / f"ep/AllTraffic/{hour:%Y/%m/%d/%H}/part-{file_index}.jsonl", lines)

    summary = _report(root, tmp_path / "out", "--gallery-size", "5")

    assert summary["records"] == 2000
    assert summary["files_read"] == 5
    assert summary["counts_per_class"] == {"bicycle": 1000, "motorcycle": 1000}
    assert summary["confidence"]["mean"] == pytest.approx(0.745)  # mean of 0.50 .. 0.99
    assert summary["confidence"]["mean_per_class"] == {
        "bicycle": pytest.approx(0.74),
        "motorcycle": pytest.approx(0.75),
    }
    assert summary["confidence"]["min"] == 0.5
    assert summary["below_threshold"]["share"] == pytest.approx(43 / 50)  # 0.50 .. 0.92 of each 50
    assert summary["malformed_lines"] == 0
    assert summary["hours"] == 5
    assert all(
        h["records"] == 400 and h["counts_per_class"] == {"bicycle": 200, "motorcycle": 200}
        for h in summary["per_hour"]
    )
    # 40 records have the lowest confidence, 0.50 (one in 50): the gallery keeps the earliest five
    assert [g["event_id"] for g in summary["least_confident"]] == ["e-0", "e-50", "e-100", "e-150", "e-200"]
    assert sorted(expected)[:5] == [g["confidence"] for g in summary["least_confident"]]


def test_one_unreadable_file_does_not_lose_the_others(hand_made_capture):
    class FlakySource(LocalCaptureSource):
        def iter_lines(self, capture_file):
            if capture_file.name.endswith("b.jsonl"):
                raise OSError("disk went away")
            yield from super().iter_lines(capture_file)

    summary, _ = read_capture(FlakySource(hand_made_capture), progress=False)

    assert summary.records == 4
    assert (summary.files_read, summary.files_unreadable) == (1, 1)
    assert "disk went away" in summary.file_errors[0]


def test_empty_folder_is_a_clear_message_and_non_zero(tmp_path, capsys):
    (tmp_path / "capture").mkdir()
    assert main(["report", "--capture", str(tmp_path / "capture"), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "no *.jsonl capture files under" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "summary.json").exists()


def test_only_malformed_lines_is_a_clear_message(tmp_path, capsys):
    _write(tmp_path / "capture" / "f.jsonl", ["{", '{"captureData": {}}'])
    assert main(["report", "--capture", str(tmp_path / "capture"), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "no usable capture records" in err and "malformed_json=1" in err and "missing_fields=1" in err


def test_missing_folder_is_a_clear_message(tmp_path, capsys):
    assert main(["report", "--capture", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 1
    assert "capture folder not found" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["0", "1.5", "high"])
def test_threshold_is_validated(tmp_path, bad):
    with pytest.raises(SystemExit) as caught:
        main(["report", "--capture", str(tmp_path), "--out", str(tmp_path), "--threshold", bad])
    assert caught.value.code == 2


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--capture", "s3://", "--out", "o"],
        ["report", "--capture", "s3:///prefix", "--out", "o"],
        ["report", "--capture", "c"],
        ["report", "--capture", "c", "--out", "o", "--gallery-size", "-1"],
        ["bench", "--records", "0"],
        ["bench", "--per-file", "0"],
        ["bench", "--records", "many"],
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_2_before_anything_runs(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "usage: monitoring" in capsys.readouterr().err


def test_a_bucket_without_a_name_is_refused_as_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--capture", "s3://", "--out", "o"])
    assert "not an s3://bucket/prefix URI: 's3://'" in capsys.readouterr().err


@mock_aws
def test_s3_source_with_a_nested_prefix(aws_credentials, tmp_path, make_record):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="scones-capture")
    prefix = "datacapture/vehicle-classifier/AllTraffic/2026/11/25"
    bodies = {
        f"{prefix}/12/00-01-000-a.jsonl": [
            make_record([0.98, 0.02], encoding="BASE64", when="2026-11-25T12:00:01Z"),
            make_record([0.30, 0.70], encoding="CSV", when="2026-11-25T12:30:00Z"),
        ],
        f"{prefix}/13/00-02-000-b.jsonl": [make_record([0.1, 0.9], when="2026-11-25T13:00:00Z"), "{bad"],
    }
    for key, lines in bodies.items():
        s3.put_object(
            Bucket="scones-capture",
            Key=key,
            Body="".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode(),
        )
    s3.put_object(
        Bucket="scones-capture", Key="elsewhere/c.jsonl", Body=json.dumps(make_record([0.5, 0.5])).encode()
    )

    summary = _report("s3://scones-capture/datacapture/vehicle-classifier", tmp_path / "out")

    assert summary["source"] == "s3://scones-capture/datacapture/vehicle-classifier/"
    assert summary["records"] == 3
    assert summary["files_read"] == 2
    assert summary["counts_per_class"] == {"bicycle": 1, "motorcycle": 2}
    assert summary["confidence"]["mean"] == pytest.approx((0.98 + 0.70 + 0.9) / 3)
    assert summary["confidence"]["min"] == pytest.approx(0.70)
    assert summary["below_threshold"]["share"] == pytest.approx(2 / 3)
    assert summary["malformed_lines"] == 1


@mock_aws
def test_s3_object_gone_after_listing_is_counted(aws_credentials, make_record):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="gone-bucket")
    for name in ("a", "b"):
        s3.put_object(
            Bucket="gone-bucket",
            Key=f"capture/{name}.jsonl",
            Body=json.dumps(make_record([0.9, 0.1])).encode(),
        )
    source = S3CaptureSource("gone-bucket", "capture/", client=s3)
    files = source.list_files()
    s3.delete_object(Bucket="gone-bucket", Key="capture/b.jsonl")
    source.list_files = lambda: files

    summary, _ = read_capture(source, progress=False)

    assert (summary.records, summary.files_read, summary.files_unreadable) == (1, 1, 1)
    assert "NoSuchKey" in summary.file_errors[0]


def test_python_dash_m_prints_the_page_path(hand_made_capture, tmp_path):
    out = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitoring",
            "report",
            "--capture",
            str(hand_made_capture),
            "--out",
            str(out),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(out / "report.html")


def _write(path: Path, lines: list[dict | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def test_a_one_minute_run_fills_the_time_axis():
    """The hourly mean sat at the hour's middle: a one-minute run was squeezed against an edge."""
    from datetime import UTC, datetime, timedelta

    import matplotlib.dates as mdates

    from monitoring.capture_records import CaptureRecord
    from monitoring.plots import time_limits
    from monitoring.summary import CaptureSummary

    summary = CaptureSummary(threshold=0.93)
    start = datetime(2026, 11, 30, 12, 5, tzinfo=UTC)
    for second in range(0, 60, 5):
        summary.add(CaptureRecord(None, None, start + timedelta(seconds=second), (0.97, 0.03), None))

    low, high = time_limits(summary)
    span_seconds = (high - low) * 24 * 3600
    assert 55 <= span_seconds <= 70  # the minute and a 5 % margin, not the hour
    assert low <= mdates.date2num(start) and mdates.date2num(start + timedelta(seconds=55)) <= high
