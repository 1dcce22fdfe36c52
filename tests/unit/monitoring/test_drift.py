"""The drift statistics and verdicts: PSI with its noise limit, shares with Newcombe's interval."""

from __future__ import annotations

import json
import math
import random

import boto3
import pytest
from moto import mock_aws

from monitoring import drift
from monitoring.drift import (
    DRIFT,
    OK,
    WATCH,
    CaptureCounts,
    chi_square_quantile,
    class_mix_check,
    compare_with_baseline,
    confidence_check,
    load_baseline,
    newcombe_interval,
    population_stability_index,
    share_check,
    smoothed_shares,
    wilson_interval,
    worst,
)
from monitoring.exceptions import BaselineError
from training_job.local_model import MODEL_PATH
from training_job.local_model.baseline import Baseline, baseline_path_for, read_baseline

COMMITTED_BASELINE = baseline_path_for(MODEL_PATH)


@pytest.mark.parametrize(
    ("dof", "level", "table"),
    # upper-tail critical values of chi-square, as printed in any statistics table
    [
        (1, 0.95, 3.841),
        (1, 0.999, 10.828),
        (2, 0.99, 9.210),
        (3, 0.95, 7.815),
        (4, 0.95, 9.488),
        (4, 0.99, 13.277),
        (4, 0.999, 18.467),
        (9, 0.99, 21.666),
    ],
)
def test_chi_square_quantiles_match_the_table(dof, level, table):
    # exact for 1 and 2 degrees of freedom, Wilson-Hilferty (on the safe side at 99.9 %) above
    assert chi_square_quantile(dof, level) == pytest.approx(table, rel=0.02 if dof > 2 else 1e-3)


def test_chi_square_quantile_refuses_what_has_none():
    for dof, level in ((0, 0.95), (3, 1.0), (3, 0.0)):
        with pytest.raises(ValueError):
            chi_square_quantile(dof, level)


@pytest.mark.parametrize(
    ("counts", "expected"),
    # Newcombe (1998), Table II, method 10, the 95 % intervals of examples (a)-(f)
    [
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((6, 7, 2, 7), (0.0582, 0.8062)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
        ((10, 10, 0, 20), (0.6791, 1.0)),
    ],
)
def test_newcombe_interval_reproduces_the_papers_examples(counts, expected):
    assert newcombe_interval(*counts, 0.95) == pytest.approx(expected, abs=1e-4)


def test_wilson_interval_holds_at_the_ends():
    assert wilson_interval(0, 10, 0.95) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(5, 10, 0.95) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(10, 10, 0.95)[1] == 1.0


def test_psi_of_one_distribution_is_zero_and_grows_with_the_shift():
    assert population_stability_index([36, 37, 29, 46, 52], [36, 37, 29, 46, 52]) == 0.0
    # shares, not counts: twice the records in the same proportions
    assert population_stability_index([36, 37, 29, 46, 52], [72, 74, 58, 92, 104]) == pytest.approx(0.0)
    small = population_stability_index([50, 50], [60, 40])
    large = population_stability_index([50, 50], [80, 20])
    # two bins, 0.5 -> 0.6: 0.1 ln 1.2 + 0.1 ln 1.25
    assert small == pytest.approx(0.1 * math.log(1.2) + 0.1 * math.log(1.25))
    assert large > small


def test_an_empty_bin_counts_as_half_a_record():
    assert smoothed_shares([0, 3, 1]) == pytest.approx([0.5 / 4.5, 3 / 4.5, 1 / 4.5])
    # finite, and far below what the 1e-4 epsilon would give (about 1.35 for this bin alone)
    psi = population_stability_index([36, 37, 29, 46, 52], [0, 10, 8, 10, 12])
    assert math.isfinite(psi)
    assert psi < 0.5


def test_worst_verdict_wins():
    assert worst([OK, WATCH, OK]) == WATCH
    assert worst([WATCH, DRIFT]) == DRIFT
    assert worst([]) == OK


EDGES = (0.5, 0.8, 0.93, 0.97, 0.99, 1.0)
BASELINE_BINS = (36, 37, 29, 46, 52)  # the committed baseline's


def test_the_psi_limits_follow_the_sample_size():
    # the same moderate shift of shares (PSI 0.18), from 100 records and from 20,000
    few = confidence_check(EDGES, BASELINE_BINS, [30, 25, 15, 15, 15])
    many = confidence_check(EDGES, BASELINE_BINS, [6000, 5000, 3000, 3000, 3000])
    assert few["psi"] == pytest.approx(many["psi"]) == pytest.approx(0.18, abs=0.01)
    # 100 records: sampling noise sets the limits, above the rule of thumb, and this is noise
    assert few["thresholds"]["watch"] == few["thresholds"]["sampling_noise"]["watch"] > 0.18
    assert few["verdict"] == OK
    # 20,000 records (200 in the baseline still): the rule of thumb's 0.1 and 0.25 decide
    assert (many["thresholds"]["watch"], many["thresholds"]["drift"]) == (0.10, 0.25)
    assert many["verdict"] == WATCH


def test_a_large_confidence_shift_is_drift_even_from_40_records():
    check = confidence_check(EDGES, BASELINE_BINS, [16, 16, 2, 4, 2])
    assert check["psi"] > check["thresholds"]["drift"] > 0.25
    assert check["verdict"] == DRIFT
    assert check["bins"]["capture_shares"] == [0.4, 0.4, 0.05, 0.1, 0.05]
    assert check["bins"]["empty_bin_counted_as"] == 0.5


def test_a_share_shift_needs_size_and_certainty():
    # 15 points from 40 records: inside what 40 records vary by
    assert share_check(95, 200, 25, 40)["verdict"] == OK
    # the same 15 points from 4,000 records: certain, and over the 10-point size limit
    assert share_check(95, 200, 2500, 4000)["verdict"] == WATCH
    # 5 points from 40,000 records: certain, but too small to matter
    assert share_check(95, 200, 21000, 40000)["verdict"] == OK
    # 50 points from 40 records: drift, in either direction
    assert share_check(95, 200, 39, 40)["verdict"] == DRIFT
    assert share_check(95, 200, 0, 40)["verdict"] == DRIFT
    check = share_check(73, 200, 29, 40)
    assert check["difference"] == pytest.approx(29 / 40 - 73 / 200)
    low, high = check["interval_watch"]
    assert low < check["difference"] < high
    assert check["interval_drift"][0] < low  # 99.9 % is wider than 99 %


def test_class_mix_checks_every_class():
    check = class_mix_check(("bicycle", "motorcycle"), (95, 105), (39, 1))
    assert check["verdict"] == DRIFT
    assert check["per_class"]["bicycle"]["difference"] == pytest.approx(39 / 40 - 95 / 200)
    assert check["per_class"]["motorcycle"]["difference"] == pytest.approx(1 / 40 - 105 / 200)
    assert check["thresholds"]["watch"] == 0.10 and check["thresholds"]["drift"] == 0.20


def counts_of(baseline: Baseline, bins: list[int], classes: list[int], below: int) -> CaptureCounts:
    counts = CaptureCounts(baseline)
    counts.bins, counts.classes, counts.below = list(bins), list(classes), below
    return counts


def test_compare_with_baseline_has_three_checks_and_the_worst_verdict():
    baseline = read_baseline(COMMITTED_BASELINE)
    result = compare_with_baseline(
        baseline, counts_of(baseline, [1, 4, 4, 22, 9], [39, 1], 5), "baseline.json"
    )
    assert set(result["checks"]) == {"confidence", "class_mix", "below_threshold"}
    assert result["verdict"] == DRIFT
    assert result["records"] == 40
    assert result["baseline"]["records"] == 200
    assert result["baseline"]["location"] == "baseline.json"
    assert result["checks"]["below_threshold"]["threshold"] == 0.93
    json.dumps(result, allow_nan=False)  # summary.json refuses NaN
    with pytest.raises(ValueError, match="no capture records"):
        compare_with_baseline(baseline, CaptureCounts(baseline))


def test_undrifted_captures_of_40_rarely_show_watch_and_almost_never_drift():
    """Baseline and capture drawn from one population, as the shipped model's validation answers
    are spread: the verdicts must not cry drift on sampling noise."""
    reference = read_baseline(COMMITTED_BASELINE)
    rng = random.Random(7)
    bins = range(len(reference.confidence_counts))
    below_bins = [i for i, edge in enumerate(reference.confidence_edges[1:]) if edge <= reference.threshold]

    def draw(n: int) -> tuple[list[int], list[int], int]:
        picked = rng.choices(bins, weights=reference.confidence_counts, k=n)
        bin_counts = [picked.count(i) for i in bins]
        motorcycles = sum(rng.random() < 105 / 200 for _ in range(n))
        return bin_counts, [n - motorcycles, motorcycles], sum(bin_counts[i] for i in below_bins)

    verdicts = []
    for _ in range(1500):
        bin_counts, class_counts, below = draw(200)
        baseline = Baseline(0.93, ("bicycle", "motorcycle"), tuple(class_counts), reference.confidence_edges,
                            tuple(bin_counts), below)  # fmt: skip
        verdicts.append(compare_with_baseline(baseline, counts_of(baseline, *draw(40)))["verdict"])
    assert verdicts.count(DRIFT) / len(verdicts) < 0.01
    assert (verdicts.count(WATCH) + verdicts.count(DRIFT)) / len(verdicts) < 0.06


# -- reading the baseline -----------------------------------------------------------------------


def test_load_baseline_reads_the_committed_file():
    baseline = load_baseline(str(COMMITTED_BASELINE))
    assert baseline.records == 200


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "baseline not found"),
        ("{", "not JSON"),
        ('{"schema": "x"}', "not a baseline"),
    ],
)
def test_load_baseline_says_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "baseline.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(BaselineError, match=message):
        load_baseline(str(path))


def test_a_baseline_of_other_classes_is_refused(tmp_path):
    data = json.loads(COMMITTED_BASELINE.read_text())
    data["predicted_counts"] = {"cat": 95, "dog": 105}
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BaselineError, match="not the model's"):
        load_baseline(str(path))


@mock_aws
def test_load_baseline_reads_s3_beside_the_model_artifact(aws_credentials):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="models")
    s3.put_object(Bucket="models", Key="vc/output/baseline.json", Body=COMMITTED_BASELINE.read_bytes())

    assert load_baseline("s3://models/vc/output/baseline.json", s3).records == 200
    with pytest.raises(BaselineError, match=r"cannot read the baseline s3://models/vc/absent\.json"):
        load_baseline("s3://models/vc/absent.json", s3)
    with pytest.raises(BaselineError, match="not an s3://bucket/key URI"):
        load_baseline("s3://models", s3)


def test_the_rules_name_their_sources():
    assert "Siddiqi" in drift.PSI_SOURCE and "Yurdakul" in drift.PSI_SOURCE
    assert "Newcombe" in drift.SHARE_SOURCE
