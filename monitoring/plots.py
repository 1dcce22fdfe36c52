"""The report's PNG plots, drawn with matplotlib's Agg canvas (no display, no pyplot state)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from monitoring.capture_records import CLASS_NAMES
from monitoring.drift import WATCH_LEVEL, wilson_interval
from monitoring.gallery import GalleryItem, thumbnail
from monitoring.summary import HISTOGRAM_BINS, CaptureSummary

COLORS = ("tab:blue", "tab:orange")
THRESHOLD_STYLE = {"color": "tab:red", "linestyle": "--", "linewidth": 1.2}
VERDICT_COLORS = {"ok": "tab:green", "watch": "tab:orange", "drift": "tab:red"}
BASELINE_STYLE = {"color": "#c8c8c8", "edgecolor": "#888888", "linewidth": 0.8}
CAPTURE_COLOR = "tab:blue"
DPI = 100
HOUR = 1 / 24  # in matplotlib date units (days)
SECOND = HOUR / 3600


def confidence_over_time(summary: CaptureSummary, path: Path) -> Path:
    """A uniform sample of records as points, hourly mean and minimum as lines, the threshold at T."""
    fig, ax = _figure()
    if summary.sample:
        times = mdates.date2num([_utc(p.timestamp) for p in summary.sample])
        confidences = np.array([p.confidence for p in summary.sample])
        labels = np.array([p.label_index for p in summary.sample])
        for index, name in enumerate(CLASS_NAMES):
            mask = labels == index
            ax.scatter(times[mask], confidences[mask], s=6, alpha=0.4, color=COLORS[index], label=name)
    hours = summary.sorted_hours()
    limits = time_limits(summary)
    if hours:
        # an hour's mean is drawn in the middle of the part of the hour its records span
        starts = mdates.date2num([h for h, _ in hours])
        first, last = mdates.date2num(summary.first), mdates.date2num(summary.last)
        centers = (np.maximum(starts, first) + np.minimum(starts + HOUR, last)) / 2
        ax.plot(
            centers,
            [b.confidence_sum / b.records for _, b in hours],
            color="black",
            lw=1.2,
            marker="o",
            ms=3,
            label="hourly mean",
        )
        ax.plot(centers, [b.confidence_min for _, b in hours], color="grey", lw=1, ls=":", label="hourly min")
    ax.axhline(summary.threshold, **THRESHOLD_STYLE, label=f"threshold {summary.threshold:g}")
    shown = len(summary.sample)
    sampled = f" ({shown:,} of {summary.records:,} points shown)" if shown < summary.records else ""
    ax.set_title(f"Confidence over time{sampled}")
    ax.set_ylabel("confidence (max probability)")
    ax.set_ylim(_lower_limit(summary), 1.01)
    if summary.records:
        ax.set_xlim(*limits)
    _date_axis(ax)
    ax.legend(loc="lower left", fontsize=8, ncol=3)
    return _save(fig, path)


def time_limits(summary: CaptureSummary) -> tuple[float, float]:
    """The x range (matplotlib date units) of the records, padded by 5 % and at least a second:
    a one-minute run fills the plot instead of sitting at the edge of its hour."""
    if not summary.records:
        return 0.0, 1.0
    first, last = mdates.date2num(summary.first), mdates.date2num(summary.last)
    pad = max((last - first) * 0.05, SECOND)
    return first - pad, last + pad


def confidence_histogram(summary: CaptureSummary, path: Path) -> Path:
    fig, ax = _figure()
    edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    for index, name in enumerate(CLASS_NAMES):
        counts = summary.histograms[index]
        ax.stairs(
            counts,
            edges,
            linewidth=1.6,
            color=COLORS[index],
            label=f"{name} ({summary.counts[index]:,})",
        )
    ax.axvline(summary.threshold, **THRESHOLD_STYLE, label=f"threshold {summary.threshold:g}")
    ax.set_xlim(_lower_limit(summary), 1.0)
    ax.set_title("Confidence per predicted class")
    ax.set_xlabel("confidence")
    ax.set_ylabel("records")
    ax.legend(fontsize=8)
    return _save(fig, path)


def predictions_per_hour(summary: CaptureSummary, path: Path) -> Path:
    fig, ax = _figure()
    hours = summary.sorted_hours()
    starts = mdates.date2num([h for h, _ in hours])
    bottom = np.zeros(len(hours))
    for index, name in enumerate(CLASS_NAMES):
        counts = np.array([b.counts[index] for _, b in hours], dtype=float)
        ax.bar(starts, counts, width=HOUR * 0.9, bottom=bottom, align="edge", color=COLORS[index], label=name)
        bottom += counts
    ax.set_title("Predictions per hour by class (UTC)")
    ax.set_ylabel("records")
    _date_axis(ax)
    ax.legend(fontsize=8)
    return _save(fig, path)


def below_threshold_share(summary: CaptureSummary, path: Path) -> Path:
    fig, ax = _figure()
    hours = summary.sorted_hours()
    starts = mdates.date2num([h for h, _ in hours])
    shares = [100.0 * b.below / b.records for _, b in hours]
    ax.bar(
        starts,
        shares,
        width=HOUR * 0.9,
        align="edge",
        color="tab:red",
        alpha=0.7,
        label=f"answers below {summary.threshold:g}",
    )
    overall = 100.0 * summary.below / summary.records if summary.records else 0.0
    ax.axhline(overall, color="black", lw=1, ls=":", label=f"overall {overall:.1f}%")
    ax.set_title("Share of answers below the threshold, per hour (UTC)")
    ax.set_ylabel("% of records")
    ax.set_ylim(0, max([*shares, overall, 1.0]) * 1.15)
    _date_axis(ax)
    ax.legend(fontsize=8)
    return _save(fig, path)


def gallery(items: list[GalleryItem], path: Path, columns: int = 6) -> Path:
    """The least confident inputs in a grid, each titled with its label and confidence."""
    columns = max(1, min(columns, len(items) or 1))
    rows = max(1, -(-len(items) // columns))
    fig = Figure(figsize=(1.9 * columns, 2.5 * rows + 0.4), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    for slot in range(rows * columns):
        ax = fig.add_subplot(rows, columns, slot + 1)
        ax.axis("off")
        if slot < len(items):
            item = items[slot]
            ax.imshow(np.asarray(thumbnail(item.image_bytes)), interpolation="nearest")
            ax.set_title(
                f"{item.label} {item.confidence:.3f}\n{item.inference_time:%Y-%m-%d %H:%M}", fontsize=8
            )
        elif not items and slot == 0:
            ax.text(0.5, 0.5, "no decodable inputs", ha="center", va="center")
    fig.suptitle("Least confident inputs", fontsize=10)
    return _save(fig, path)


def drift_distributions(drift: dict, path: Path) -> Path:
    """The baseline's and the capture's distributions overlaid, one panel per drift check: the
    baseline a wide grey bar, the capture a narrow bar on it with its 99 % Wilson interval (how
    much a capture of this size can say)."""
    fig = Figure(figsize=(11, 4.2), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(1, 3, width_ratios=(3.2, 1.4, 1.0))
    checks = drift["checks"]
    n, m = drift["baseline"]["records"], drift["records"]

    confidence = checks["confidence"]
    bins = confidence["bins"]
    ax = fig.add_subplot(grid[0, 0])
    labels = bin_labels(bins["edges"])
    _overlay(ax, labels, bins["baseline_shares"], bins["capture_counts"], m, n)
    threshold = checks["below_threshold"]["threshold"]
    if threshold in bins["edges"][1:-1]:  # the edge between the bins below and above it
        ax.axvline(bins["edges"].index(threshold) - 0.5, **THRESHOLD_STYLE, label=f"threshold {threshold:g}")
    _verdict_title(ax, f"Confidence, PSI {confidence['psi']:.3f}", confidence["verdict"])
    ax.set_xlabel("confidence bin")
    ax.set_ylabel("share of records")
    # below the panels: inside, it hid a bar whichever corner it took
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=8)

    mix = checks["class_mix"]["per_class"]
    ax = fig.add_subplot(grid[0, 1])
    baseline_mix = [check["baseline_share"] for check in mix.values()]
    _overlay(ax, list(mix), baseline_mix, [check["capture_count"] for check in mix.values()], m, n)
    _verdict_title(ax, "Class mix", checks["class_mix"]["verdict"])

    below = checks["below_threshold"]
    ax = fig.add_subplot(grid[0, 2])
    _overlay(ax, [f"< {threshold:g}"], [below["baseline_share"]], [below["capture_count"]], m, n)
    _verdict_title(ax, f"Below {threshold:g}", below["verdict"])
    return _save(fig, path)


def batch_outcomes(batch: dict, path: Path) -> Path:
    """A batch's photos by outcome: answers per class, refusals, and each error by name."""
    fig, ax = _figure()
    names = [*batch["labels"], "refused", *batch["errors"]]
    counts = [*batch["labels"].values(), batch["refused"], *batch["errors"].values()]
    colors = [*COLORS[: len(batch["labels"])], "tab:red", *["tab:gray"] * len(batch["errors"])]
    bars = ax.bar(np.arange(len(names)), counts, color=colors, width=0.6)
    ax.bar_label(bars, fmt="{:,.0f}", fontsize=8)
    ax.set_xticks(np.arange(len(names)), names, fontsize=8)
    ax.set_title(f"Outcomes of the batch's {batch['photos']:,} photos")
    ax.set_ylabel("photos")
    ax.set_ylim(0, max([*counts, 1]) * 1.15)
    return _save(fig, path)


def bin_labels(edges: list[float]) -> list[str]:
    """``[0.5, 0.8)`` ... ``[0.99, 1]``: the last bin holds its upper edge."""
    last = len(edges) - 2
    return [f"[{a:g}, {b:g}{']' if i == last else ')'}" for i, (a, b) in enumerate(pairwise(edges))]


def _overlay(
    ax, labels: list[str], baseline_shares: list[float], capture_counts: list[int], m: int, n: int
) -> None:
    x = np.arange(len(labels))
    capture = np.array(capture_counts, dtype=float) / m
    intervals = np.array([wilson_interval(c, m, WATCH_LEVEL) for c in capture_counts])
    ax.bar(x, baseline_shares, width=0.8, label=f"baseline ({n:,})", **BASELINE_STYLE)
    ax.bar(x, capture, width=0.4, color=CAPTURE_COLOR, alpha=0.85, label=f"capture ({m:,})")
    ax.errorbar(
        x,
        capture,
        yerr=[capture - intervals[:, 0], intervals[:, 1] - capture],
        fmt="none",
        ecolor="black",
        capsize=3,
        linewidth=1,
        label=f"{WATCH_LEVEL:.0%} interval",
    )
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylim(0, min(1.0, 1.15 * max(intervals[:, 1].max(), max(baseline_shares))))
    ax.grid(True, axis="y", alpha=0.3)


def _verdict_title(ax, text: str, verdict: str) -> None:
    ax.set_title(f"{text}: {verdict}", color=VERDICT_COLORS.get(verdict, "black"), fontsize=10)


def _figure() -> tuple[Figure, object]:
    fig = Figure(figsize=(10, 4.2), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, format="png")
    return path


def _date_axis(ax) -> None:
    locator = mdates.AutoDateLocator(tz=UTC)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))
    ax.set_xlabel("inference time (UTC)")


def _lower_limit(summary: CaptureSummary) -> float:
    low = min(summary.confidence_min, summary.threshold) if summary.records else summary.threshold
    return max(0.0, np.floor(low * 20) / 20 - 0.05)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
