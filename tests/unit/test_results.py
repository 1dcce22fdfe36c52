"""local_stack.client: the run's summary and table, and the images it finds."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from local_stack.client import images, results
from local_stack.errors import UsageError


def result(seconds: float, status: str = "SUCCEEDED", expected: str | None = None) -> results.ExecutionResult:
    label = "bicycle" if status == "SUCCEEDED" else None
    error = None if status == "SUCCEEDED" else "ThresholdConfidenceNotMet"
    return results.ExecutionResult("a.png", expected, status, label, 0.97, error, seconds)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 19, 20, 21, 100])
def test_p95_is_never_below_p50(n):
    summary = results.summarize([result(float(s)) for s in range(1, n + 1)], 1.0)
    assert summary["latency_p95_seconds"] >= summary["latency_p50_seconds"]


def test_p95_of_two_runs_is_the_slower():
    """It was the faster one: latencies[int(0.95 * (n - 1))] is index 0 for n = 2."""
    assert results.summarize([result(0.2), result(0.9)], 1.0)["latency_p95_seconds"] == 0.9


def test_without_expected_labels_the_table_says_why_there_is_no_accuracy():
    ran = [result(0.1)]
    out = io.StringIO()
    results.print_table(ran, results.summarize(ran, 1.0), out=out)
    assert "accuracy of answered - (no expected labels: pass --lst)" in out.getvalue()
    assert "None" not in out.getvalue()


def test_with_expected_labels_the_table_gives_the_accuracy():
    ran = [result(0.1, expected="bicycle"), result(0.2, expected="motorcycle")]
    out = io.StringIO()
    results.print_table(ran, results.summarize(ran, 1.0), out=out)
    assert "accuracy of answered 0.5 " in out.getvalue()


def test_images_naming_a_file_says_it_is_a_file(tmp_path: Path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"x")
    with pytest.raises(UsageError, match=r"photo\.png: a file, not a folder"):
        images.find_images(photo)
    with pytest.raises(UsageError, match="gone: no such folder"):
        images.find_images(tmp_path / "gone")


def test_a_failures_cause_is_in_the_table_shortened_and_in_the_json_whole(tmp_path: Path):
    cause = "s3://b/huge.jpg is 30000000 bytes, over the 25000000-byte cap (MaxUploadBytes) " + "x" * 50
    execution = {"status": "FAILED", "error": "ImageTooLarge", "cause": cause}
    ran = [results.result_of(images.ImageToRun(Path("huge.jpg"), None), execution, 0.5)]
    summary = results.summarize(ran, 1.0)

    out = io.StringIO()
    results.print_table(ran, summary, out=out)
    row = out.getvalue().splitlines()[1]
    assert "ImageTooLarge" in row and "over the 25000000-byte cap" in row and row.endswith("...")
    results.write_json(tmp_path / "run.json", summary, ran)
    assert json.loads((tmp_path / "run.json").read_text())["executions"][0]["cause"] == cause


def test_the_table_shows_what_is_wrong_where_the_cause_starts_with_the_photos_own_uri():
    """The row names the photo, so its S3 URI gives way to the cause itself (a long bucket name
    left only the start of the sentence in the table)."""
    cause = (
        "s3://scones-vehicle-images-local/images/not_an_image.txt is not an image this workflow reads "
        "(PNG, JPEG, WebP or GIF): first bytes b'this is ', 34 bytes"
    )
    execution = {"status": "FAILED", "error": "NotAnImage", "cause": cause}
    other = {"status": "FAILED", "error": "NotAnImage", "cause": "s3://b/images/other.png " + cause}
    ran = [
        results.result_of(images.ImageToRun(Path("not_an_image.txt"), None), execution, 0.1),
        results.result_of(images.ImageToRun(Path("a.png"), None), other, 0.1),
    ]
    out = io.StringIO()
    results.print_table(ran, results.summarize(ran, 1.0), out=out)
    mine, others = out.getvalue().splitlines()[1:3]
    assert "is not an image this workflow reads (PNG, JPEG, WebP or GIF)" in mine
    assert "s3://" not in mine
    assert "s3://b/images/other.png" in others  # another photo's URI stays
