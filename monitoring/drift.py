"""Drift of the captured answers against the model's baseline (``baseline.json``).

SageMaker Model Monitor's built-in checks are for tabular data; for images the signals that
matter are in the answers: the confidence distribution, the class mix and the share below the
threshold. Each is compared with what the model answered on its validation split, and each gets
a verdict, ``ok``, ``watch`` or ``drift``, from two limits that must both be passed:

* a size limit: how big a change has to be to matter, and
* a sampling-noise limit: how big a change a capture of this size (and a baseline of that
  size) shows by chance alone. A capture of 40 records moves a lot by chance; a verdict that
  ignored this would cry drift on noise.

Confidence distribution: the population stability index over the baseline's bins,
``PSI = sum((a - e) * ln(a / e))`` over bin shares ``a`` (capture) and ``e`` (baseline). An
empty bin is counted as half a record before shares are taken: ``ln 0`` is infinite, and the
usual tiny epsilon (1e-4) makes one empty bin of 18 % in a capture of 40 worth 1.35 PSI on its
own, more than 40 records can say; half a record is below what the sample resolves and keeps
the term finite and in proportion to the sample. Size limits: PSI < 0.1 no significant change, 0.1-0.25 some
change, > 0.25 a significant shift, the rule of thumb of credit scoring (N. Siddiqi, *Credit
Risk Scorecards*, Wiley, 2006). Noise limit: with no change, PSI is approximately
``(1/n + 1/m) * chi2(B - 1)`` for a baseline of n and a capture of m records in B bins
(B. Yurdakul, *Statistical Properties of Population Stability Index*, dissertation, Western
Michigan University, 2018), so watch needs PSI above that distribution's 99th percentile, drift
above its 99.9th. For n = 200, m = 40 and five bins those are 0.40 and 0.56, above the rule of
thumb: with 40 records the fixed 0.1/0.25 alone would call 53 % of undrifted captures "watch"
and 11 % "drift" (simulated). From about 400 records on, the rule of thumb decides.

Class mix and share below the threshold: the difference of two proportions, capture minus
baseline, with Newcombe's hybrid score interval (R. G. Newcombe, Statistics in Medicine 17,
1998, method 10; built from Wilson score intervals, which hold up at small counts where the
normal approximation does not). Watch needs a difference of 0.10 or more whose 99 % interval
excludes 0; drift 0.20 or more whose 99.9 % interval excludes 0.

Why 99 % and 99.9 %: a report makes three checks, and every report is a fresh look. At these
levels an undrifted capture of 40 records shows some "watch" about 3 % of the time and some
"drift" under 0.5 % (simulated in tests/unit/monitoring/test_drift.py); at 95 %/99 % it was 11 %
and 3.5 %. Both directions count: darkened images made the shipped model answer "bicycle" to
nearly everything, and more confidently than before.

Pure functions but :class:`CaptureCounts` (a running count) and :func:`load_baseline` (reads a
file or an S3 object).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from statistics import NormalDist

from monitoring.answers import Answer
from monitoring.capture_records import CLASS_NAMES
from monitoring.exceptions import BaselineError
from training_job.local_model.baseline import (
    Baseline,
    BaselineFormatError,
    confidence_bin,
    parse_baseline,
)

OK, WATCH, DRIFT = "ok", "watch", "drift"
_SEVERITY = {OK: 0, WATCH: 1, DRIFT: 2}

PSI_WATCH, PSI_DRIFT = 0.10, 0.25  # Siddiqi (2006)
SHARE_WATCH, SHARE_DRIFT = 0.10, 0.20  # absolute difference of two shares
WATCH_LEVEL, DRIFT_LEVEL = 0.99, 0.999  # how sure a change must be that it is no sampling noise
EMPTY_BIN_COUNT = 0.5

PSI_SOURCE = (
    "PSI < 0.1 ok, 0.1-0.25 watch, > 0.25 drift (Siddiqi, Credit Risk Scorecards, 2006), "
    "raised to the 99th/99.9th percentile of (1/n + 1/m) chi2(bins - 1), PSI's spread with no "
    "drift (Yurdakul 2018)"
)
SHARE_SOURCE = (
    "a difference of 0.10 (watch) or 0.20 (drift) or more, whose 99 % (watch) or 99.9 % (drift) "
    "Newcombe hybrid score interval (1998) excludes 0"
)


class CaptureCounts:
    """What the drift checks need from a capture, counted as the records stream by: the records
    per baseline bin, per predicted class, and below the baseline's threshold."""

    def __init__(self, baseline: Baseline) -> None:
        self.edges = baseline.confidence_edges
        self.threshold = baseline.threshold
        self.bins = [0] * (len(self.edges) - 1)
        self.classes = [0] * len(CLASS_NAMES)
        self.below = 0

    def add(self, record: Answer) -> None:
        confidence = record.confidence
        self.bins[confidence_bin(confidence, self.edges)] += 1
        self.classes[record.label_index] += 1
        self.below += confidence < self.threshold

    @property
    def records(self) -> int:
        return sum(self.classes)


# -- the statistics -----------------------------------------------------------------------------


def smoothed_shares(counts: Sequence[float]) -> list[float]:
    """Shares of the counts, an empty bin counted as half a record (see the module's docstring)."""
    adjusted = [count if count > 0 else EMPTY_BIN_COUNT for count in counts]
    total = sum(adjusted)
    return [count / total for count in adjusted]


def population_stability_index(baseline_counts: Sequence[int], capture_counts: Sequence[int]) -> float:
    expected = smoothed_shares(baseline_counts)
    actual = smoothed_shares(capture_counts)
    return sum((a - e) * math.log(a / e) for a, e in zip(actual, expected, strict=True))


def chi_square_quantile(dof: int, level: float) -> float:
    """The ``level`` quantile of chi-square with ``dof`` degrees of freedom: exact for 1 and 2,
    the Wilson-Hilferty cube approximation above (within 0.5 % from 3 on), with no SciPy."""
    if dof < 1 or not 0.0 < level < 1.0:
        raise ValueError(f"need dof >= 1 and 0 < level < 1, got {dof}, {level}")
    if dof == 1:
        return NormalDist().inv_cdf((1.0 + level) / 2.0) ** 2
    if dof == 2:
        return -2.0 * math.log(1.0 - level)
    spread = math.sqrt(2.0 / (9.0 * dof))
    return dof * (1.0 - 2.0 / (9.0 * dof) + NormalDist().inv_cdf(level) * spread) ** 3


def psi_noise_limit(bins: int, baseline_records: int, capture_records: int, level: float) -> float:
    """The PSI that two samples of one population exceed with probability ``1 - level``."""
    return chi_square_quantile(bins - 1, level) * (1.0 / baseline_records + 1.0 / capture_records)


def wilson_interval(count: int, total: int, level: float) -> tuple[float, float]:
    """Wilson's score interval for a proportion (1927)."""
    if total <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf((1.0 + level) / 2.0)
    share = count / total
    denominator = 1.0 + z * z / total
    centre = (share + z * z / (2 * total)) / denominator
    half = z / denominator * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total))
    # exact ends at 0 and total (the formula leaves float dust there)
    return (0.0 if count == 0 else centre - half), (1.0 if count == total else centre + half)


def newcombe_interval(
    count_a: int, total_a: int, count_b: int, total_b: int, level: float
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``count_a/total_a - count_b/total_b`` (1998, method 10)."""
    share_a, share_b = count_a / total_a, count_b / total_b
    low_a, high_a = wilson_interval(count_a, total_a, level)
    low_b, high_b = wilson_interval(count_b, total_b, level)
    difference = share_a - share_b
    return (
        difference - math.hypot(share_a - low_a, high_b - share_b),
        difference + math.hypot(high_a - share_a, share_b - low_b),
    )


def worst(verdicts: Iterable[str]) -> str:
    return max(verdicts, key=_SEVERITY.__getitem__, default=OK)


# -- the checks ---------------------------------------------------------------------------------


def confidence_check(
    edges: Sequence[float], baseline_counts: Sequence[int], capture_counts: Sequence[int]
) -> dict:
    """PSI of the confidence distribution over the baseline's bins, with its verdict."""
    n, m = sum(baseline_counts), sum(capture_counts)
    psi = population_stability_index(baseline_counts, capture_counts)
    noise_watch = psi_noise_limit(len(baseline_counts), n, m, WATCH_LEVEL)
    noise_drift = psi_noise_limit(len(baseline_counts), n, m, DRIFT_LEVEL)
    watch_at, drift_at = max(PSI_WATCH, noise_watch), max(PSI_DRIFT, noise_drift)
    verdict = DRIFT if psi > drift_at else WATCH if psi >= watch_at else OK
    return {
        "verdict": verdict,
        "psi": psi,
        "bins": {
            "edges": list(edges),
            "baseline_counts": list(baseline_counts),
            "capture_counts": list(capture_counts),
            "baseline_shares": [c / n for c in baseline_counts],
            "capture_shares": [c / m for c in capture_counts],
            "empty_bin_counted_as": EMPTY_BIN_COUNT,
        },
        "thresholds": {
            "watch": watch_at,
            "drift": drift_at,
            "rule_of_thumb": {"watch": PSI_WATCH, "drift": PSI_DRIFT},
            "sampling_noise": {"watch": noise_watch, "drift": noise_drift},
            "rule": PSI_SOURCE,
        },
    }


def share_check(baseline_count: int, baseline_total: int, capture_count: int, capture_total: int) -> dict:
    """One share, capture against baseline: the difference, its intervals, the verdict."""
    difference = capture_count / capture_total - baseline_count / baseline_total
    interval_watch = newcombe_interval(
        capture_count, capture_total, baseline_count, baseline_total, WATCH_LEVEL
    )
    interval_drift = newcombe_interval(
        capture_count, capture_total, baseline_count, baseline_total, DRIFT_LEVEL
    )
    if abs(difference) >= SHARE_DRIFT and _excludes_zero(interval_drift):
        verdict = DRIFT
    elif abs(difference) >= SHARE_WATCH and _excludes_zero(interval_watch):
        verdict = WATCH
    else:
        verdict = OK
    return {
        "verdict": verdict,
        "baseline_share": baseline_count / baseline_total,
        "capture_share": capture_count / capture_total,
        "difference": difference,
        "interval_watch": list(interval_watch),  # at WATCH_LEVEL
        "interval_drift": list(interval_drift),  # at DRIFT_LEVEL
    }


def class_mix_check(
    class_names: Sequence[str], baseline_counts: Sequence[int], capture_counts: Sequence[int]
) -> dict:
    """The share of each predicted class (with two classes, one shift seen from both sides)."""
    n, m = sum(baseline_counts), sum(capture_counts)
    per_class = {
        name: {"baseline_count": b, "capture_count": c, **share_check(b, n, c, m)}
        for name, b, c in zip(class_names, baseline_counts, capture_counts, strict=True)
    }
    return {
        "verdict": worst(check["verdict"] for check in per_class.values()),
        "per_class": per_class,
        "thresholds": _share_thresholds(),
    }


def below_threshold_check(
    threshold: float, baseline_below: int, baseline_total: int, capture_below: int, capture_total: int
) -> dict:
    return {
        "threshold": threshold,
        "baseline_count": baseline_below,
        "capture_count": capture_below,
        **share_check(baseline_below, baseline_total, capture_below, capture_total),
        "thresholds": _share_thresholds(),
    }


def compare_with_baseline(baseline: Baseline, counts: CaptureCounts, location: str = "") -> dict:
    """summary.json's ``drift`` object: the three checks, their verdicts and the overall one."""
    if counts.records == 0:
        raise ValueError("no capture records to compare with the baseline")
    checks = {
        "confidence": confidence_check(baseline.confidence_edges, baseline.confidence_counts, counts.bins),
        "class_mix": class_mix_check(baseline.class_names, baseline.predicted_counts, counts.classes),
        "below_threshold": below_threshold_check(
            baseline.threshold, baseline.below_threshold, baseline.records, counts.below, counts.records
        ),
    }
    return {
        "verdict": worst(check["verdict"] for check in checks.values()),
        "records": counts.records,
        "baseline": {
            "location": location,
            "records": baseline.records,
            "threshold": baseline.threshold,
            "coverage": baseline.coverage,
            "model_file": baseline.model_file,
            "model_sha256": baseline.model_sha256,
            "source": baseline.source,
        },
        "checks": checks,
    }


def one_line(drift: dict) -> str:
    """``drift: watch (confidence PSI 0.31 watch, class mix ok, below 0.93 ok)`` for stderr."""
    checks = drift["checks"]
    return (
        f"drift: {drift['verdict']} (confidence PSI {checks['confidence']['psi']:.3f} "
        f"{checks['confidence']['verdict']}, class mix {checks['class_mix']['verdict']}, "
        f"below {checks['below_threshold']['threshold']:g} {checks['below_threshold']['verdict']})"
    )


# -- reading the baseline -------------------------------------------------------------------------


def load_baseline(location: str, s3_client: object | None = None) -> Baseline:
    """The baseline from a local file or ``s3://bucket/key``; :class:`BaselineError` says why not."""
    try:
        text = _read_s3_text(location, s3_client) if location.startswith("s3://") else _read_text(location)
        baseline = parse_baseline(text)
    except BaselineFormatError as error:
        raise BaselineError(f"{location}: {error}") from None
    if baseline.class_names != tuple(CLASS_NAMES):
        raise BaselineError(
            f"{location}: the baseline's classes {list(baseline.class_names)} are not the model's "
            f"{list(CLASS_NAMES)}"
        )
    return baseline


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise BaselineError(f"baseline not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BaselineError(f"cannot read the baseline {path}: {error}") from None


def _read_s3_text(uri: str, s3_client: object | None) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise BaselineError(f"not an s3://bucket/key URI: {uri!r}")
    if s3_client is None:
        import boto3

        s3_client = boto3.client("s3")
    try:
        body = s3_client.get_object(Bucket=bucket, Key=key)["Body"]  # type: ignore[attr-defined]
        return body.read().decode("utf-8")
    except (BotoCoreError, ClientError, UnicodeDecodeError) as error:
        raise BaselineError(f"cannot read the baseline {uri}: {error}") from None


def _excludes_zero(interval: Sequence[float]) -> bool:
    return interval[0] > 0.0 or interval[1] < 0.0


def _share_thresholds() -> dict:
    return {
        "watch": SHARE_WATCH,
        "drift": SHARE_DRIFT,
        "watch_level": WATCH_LEVEL,
        "drift_level": DRIFT_LEVEL,
        "rule": SHARE_SOURCE,
    }
