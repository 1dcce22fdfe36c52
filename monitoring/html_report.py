"""One self-contained report.html: summary table, plots and gallery embedded as data URIs."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from monitoring.drift import SHARE_DRIFT, SHARE_WATCH
from monitoring.gallery import GalleryItem, thumbnail_png

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
img.plot { max-width: 100%; border: 1px solid #ddd; margin-bottom: 1rem; }
img.thumb { image-rendering: pixelated; width: 96px; height: 96px; }
.warn { color: #a40000; }
.verdict-ok { color: #1a7f37; font-weight: bold; }
.verdict-watch { color: #b35900; font-weight: bold; }
.verdict-drift { color: #a40000; font-weight: bold; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
"""


_CAPTURE_TITLES = ("captured inferences", "Captured inferences: is the model still confident?")
_BATCH_TITLES = ("a batch's results", "BatchClassify: how did the model answer the batch?")


_CAPTURE_WORDS = {"records": "records", "time": "inference", "id": "event", "files": "files read"}
_BATCH_WORDS = {
    "records": "answers with probabilities (answered and refused)",
    "time": "answer (its child execution's end)",
    "id": "photo",
    "files": "result files read",
}


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def write_report(
    path: Path,
    summary: dict,
    plots: list[tuple[str, Path]],
    gallery_png: Path,
    items: list[GalleryItem],
    drift_png: Path | None = None,
) -> Path:
    batch = summary.get("kind") == "batch"
    title, heading = _BATCH_TITLES if batch else _CAPTURE_TITLES
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Scones Unlimited: {title}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{heading}</h1>",
        f"<p>Source: <code>{escape(str(summary.get('source', '')))}</code></p>",
        _batch_section(summary),
        _summary_table(summary),
        _drift_section(summary, drift_png),
        _reviews_section(summary),
        "" if batch else _skipped_table(summary),
        "<h2>Plots</h2>",
    ]
    for title, plot in plots:
        parts.append(f"<h3>{escape(title)}</h3>")
        parts.append(f'<img class="plot" alt="{escape(title)}" src="{png_data_uri(plot.read_bytes())}">')
    parts.append("<h2>Least confident inputs</h2>")
    parts.append(f'<img class="plot" alt="gallery" src="{png_data_uri(gallery_png.read_bytes())}">')
    parts.append(_gallery_table(items, summary))
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _summary_table(summary: dict) -> str:
    confidence = summary["confidence"]
    below = summary["below_threshold"]
    batch = summary.get("kind") == "batch"
    words = _BATCH_WORDS if batch else _CAPTURE_WORDS
    rows = [
        (words["records"], f"{summary['records']:,}"),
        (f"first {words['time']}", summary["time_range"]["first"]),
        (f"last {words['time']}", summary["time_range"]["last"]),
        *((f"predicted {name}", f"{count:,}") for name, count in summary["counts_per_class"].items()),
        ("mean confidence", _fmt(confidence["mean"])),
        *((f"mean confidence, {name}", _fmt(v)) for name, v in confidence["mean_per_class"].items()),
        (
            "min confidence",
            f"{_fmt(confidence['min'])} ({words['id']} {confidence['least_confident_event_id']})",
        ),
        ("threshold", f"{summary['threshold']:g}"),
        ("below threshold", f"{below['count']:,} ({100 * (below['share'] or 0):.2f}%)"),
        (words["files"], f"{summary['files_read']:,}"),
    ]
    if not batch:
        rows.append(("malformed lines", f"{summary['malformed_lines']:,}"))
    heading = "<h2>Answers: confidence and class mix</h2>" if batch else ""
    return heading + _table(("", "value"), rows)


def _batch_section(summary: dict) -> str:
    """A batch's own counts (summary.json), accuracy, coverage and confusion matrix when it had
    expected labels, whether the result files agree, and the photos that ended in an error."""
    batch = summary.get("batch")
    if not batch:
        return ""
    labels = ", ".join(f"{name} {count:,}" for name, count in batch["labels"].items())
    errors = ", ".join(f"{name} {count:,}" for name, count in batch["errors"].items()) or "none"
    threshold = batch["threshold"]
    rows = [
        ("photos", f"{batch['photos']:,}"),
        ("answered", f"{batch['answered']:,}: {labels}"),
        ("refused (ThresholdConfidenceNotMet)", f"{batch['refused']:,}"),
        ("errors", errors),
        ("threshold", f"{threshold['value']:g}, from {threshold['source']}"),
        ("map run", batch["map_run_arn"] or "n/a"),
        ("summary.json", batch["summary"] or "n/a"),
    ]
    if batch["refused_without_probabilities"]:
        rows.append(
            (
                "refusals whose cause names no probabilities (not in the plots)",
                f"{batch['refused_without_probabilities']:,}",
            )
        )
    parts = ["<h2>Batch</h2>", _table(("", "value"), rows)]
    if batch["disagreements"]:
        listed = "".join(f"<li>{escape(d)}</li>" for d in batch["disagreements"])
        parts.append(
            f'<p class="warn">summary.json and the result files disagree:</p><ul class="warn">{listed}</ul>'
        )
    expected = batch.get("expected")
    if expected:
        parts.append(_expected_section(expected))
    if batch["errored_photos"]:
        head = "".join(f"<th>{h}</th>" for h in ("photo", "error", "cause"))
        body = "".join(
            f"<tr><td><code>{escape(p['key'])}</code></td><td>{escape(p['error'])}</td>"
            f"<td>{escape(p['cause'])}</td></tr>"
            for p in batch["errored_photos"]
        )
        parts.append("<h3>Photos that ended in an error</h3>")
        parts.append(f"<table><tr>{head}</tr>{body}</table>")
    parts.append(_least_confident_photos(summary["least_confident"]))
    return "\n".join(parts)


def _expected_section(expected: dict) -> str:
    """Accuracy, coverage and the confusion matrix: expected label (rows) by outcome (columns)."""
    accuracy, coverage = expected.get("accuracy"), expected.get("coverage")
    rows = [
        ("labelled photos", f"{expected.get('labelled', 0):,}"),
        ("accuracy (right answers among the labelled photos answered)", _share(accuracy)),
        ("coverage (answered among the labelled)", _share(coverage)),
        ("named in the manifest but not in the batch", f"{expected.get('not_in_batch', 0):,}"),
    ]
    parts = ["<h3>Against the expected labels</h3>", _table(("", "value"), rows)]
    matrix = expected.get("confusion_matrix") or {}
    if matrix:
        columns = list(next(iter(matrix.values())))
        head = "<th>expected \\ outcome</th>" + "".join(f"<th>{escape(c)}</th>" for c in columns)
        body = "".join(
            f"<tr><th>{escape(name)}</th>"
            + "".join(f'<td class="num">{counts.get(c, 0):,}</td>' for c in columns)
            + "</tr>"
            for name, counts in matrix.items()
        )
        parts.append(f"<table><tr>{head}</tr>{body}</table>")
    return "\n".join(parts)


def _least_confident_photos(photos: list[dict]) -> str:
    if not photos:
        return ""
    head = "".join(f"<th>{h}</th>" for h in ("photo", "outcome", "confidence", "probabilities"))
    body = "".join(
        f"<tr><td><code>{escape(p['s3_uri'] or p['key'])}</code></td><td>{escape(_outcome(p))}</td>"
        f'<td class="num">{p["confidence"]:.4f}</td>'
        f"<td>[{', '.join(f'{v:.4f}' for v in p['probabilities'])}]</td></tr>"
        for p in photos
    )
    return f"<h3>Least confident photos</h3><table><tr>{head}</tr>{body}</table>"


def _outcome(photo: dict) -> str:
    """``bicycle``, or ``refused (motorcycle)``: what the model would have said."""
    if photo["outcome"] == "refused":
        return f"refused ({photo['model_label']})"
    return str(photo["outcome"])


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _drift_section(summary: dict, drift_png: Path | None) -> str:
    """The verdicts against the baseline, the limits each was judged by, and the overlay plot."""
    drift = summary.get("drift")
    if not drift:
        return ""
    baseline, checks = drift["baseline"], drift["checks"]
    source = baseline["source"]
    described = ", ".join(f"{k} {v}" for k, v in source.items()) or "no source recorded"
    sha = (baseline["model_sha256"] or "")[:12]
    what = "answers of the batch" if summary.get("kind") == "batch" else "captured records"
    parts = [
        "<h2>Drift against the baseline</h2>",
        f"<p>Overall: {_verdict(drift['verdict'])}. {drift['records']:,} {what} against "
        f"<code>{escape(baseline['location'])}</code>: {baseline['records']:,} answers of "
        f"<code>{escape(str(baseline['model_file']))}</code> (sha256 {escape(sha)}…) on its "
        f"validation split ({escape(described)}).</p>",
    ]
    if baseline["threshold"] != summary["threshold"]:
        parts.append(
            f'<p class="warn">The report\'s threshold is {summary["threshold"]:g}; the baseline was '
            f"measured at {baseline['threshold']:g}, so the below-threshold check uses "
            f"{baseline['threshold']:g}.</p>"
        )
    confidence = checks["confidence"]
    limits = confidence["thresholds"]
    rows = [
        _drift_row(
            "confidence distribution (PSI)",
            _shares(confidence["bins"]["baseline_shares"]),
            _shares(confidence["bins"]["capture_shares"]),
            f"{confidence['psi']:.3f}",
            f"{limits['watch']:.3f}",
            f"{limits['drift']:.3f}",
            confidence["verdict"],
        )
    ]
    for name, check in checks["class_mix"]["per_class"].items():
        rows.append(_share_row(f"predicted {name}", check))
    below = checks["below_threshold"]
    rows.append(_share_row(f"below the threshold {below['threshold']:g}", below))
    head = "".join(
        f"<th>{h}</th>"
        for h in ("check", "baseline", "capture", "change", "watch from", "drift from", "verdict")
    )
    parts.append(f"<table><tr>{head}</tr>{''.join(rows)}</table>")
    share_limits = below["thresholds"]
    parts.append(
        "<p>Each verdict needs a change that is both large enough and larger than a capture of "
        f"this size shows by chance. Confidence: {escape(limits['rule'])}; here the rule of thumb says "
        f"{limits['rule_of_thumb']['watch']:g}/{limits['rule_of_thumb']['drift']:g} and sampling noise "
        f"{limits['sampling_noise']['watch']:.3f}/{limits['sampling_noise']['drift']:.3f}. "
        f"Shares: {escape(share_limits['rule'])}; the interval shown is the "
        f"{share_limits['watch_level']:.0%} one.</p>"
    )
    if drift_png is not None:
        uri = png_data_uri(drift_png.read_bytes())
        parts.append(f'<img class="plot" alt="baseline and capture overlaid" src="{uri}">')
    return "\n".join(parts)


def _reviews_section(summary: dict) -> str:
    """Requested, completed, agreement per class, and the photos people corrected."""
    reviews = summary.get("reviews")
    if not reviews:
        return ""
    requested, agreement = reviews["requested"], reviews["agreement"]
    verdicts = ", ".join(f"{name} {count:,}" for name, count in reviews["verdicts"].items())
    decided = reviews["decided"]
    rows = [
        ("requested", f"{requested['count']:,} ({requested['source']})"),
        ("completed", f"{reviews['completed']:,}: {verdicts}"),
        ("decided", f"{decided['first'] or 'n/a'} to {decided['last'] or 'n/a'}"),
        ("reviewer agreed with the model", _agreed(agreement["overall"])),
        *((f"the model said {name}", _agreed(a)) for name, a in agreement["per_class"].items()),
        ("corrected (the other class)", _counted_confidence(reviews["corrected"])),
        ("rejected (neither)", _counted_confidence(reviews["rejected"])),
    ]
    if reviews["labels_without_record"]:
        rows.append(("labels without a verdict record", f"{reviews['labels_without_record']:,}"))
    parts = [
        "<h2>Reviews (LowConfidenceAction Review)</h2>",
        f"<p>Verdicts from the reviewed data set <code>{escape(reviews['location'])}</code>; the "
        "requests from this capture. Agreement counts <em>neither</em> as disagreeing.</p>",
        _table(("", "value"), rows),
    ]
    photos = reviews["corrected"]["photos"]
    if photos:
        head = "".join(
            f"<th>{h}</th>"
            for h in ("review", "model said", "confidence", "reviewer said", "decided", "photo")
        )
        body = "".join(_corrected_row(photo) for photo in photos)
        parts.append("<h3>Photos people corrected, the most confident first</h3>")
        parts.append(f"<table><tr>{head}</tr>{body}</table>")
    return "\n".join(parts)


def _corrected_row(photo: dict) -> str:
    cells = (
        f"<code>{escape(str(photo['id']))}</code>",
        escape(str(photo["model_label"])),
        f"{float(photo['confidence']):.4f}",
        escape(str(photo["verdict"])),
        escape(str(photo["decided_at"])),
        f"<code>{escape(str(photo['s3_uri'] or ''))}</code>",
    )
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _agreed(share: dict) -> str:
    if not share["reviewed"]:
        return "no verdicts"
    return f"{share['agreed']:,} of {share['reviewed']:,} ({share['share']:.0%})"


def _counted_confidence(group: dict) -> str:
    confidence = group["confidence"]
    if not group["count"]:
        return "0"
    return (
        f"{group['count']:,}; the model's confidence {_fmt(confidence['min'])} to "
        f"{_fmt(confidence['max'])}, mean {_fmt(confidence['mean'])}"
    )


def _shares(shares: list[float]) -> str:
    """``18 / 18 / 14 / 23 / 26 %``: a distribution over the bins, in a table cell."""
    return " / ".join(f"{100 * share:.0f}" for share in shares) + " %"


def _share_row(label: str, check: dict) -> str:
    low, high = check["interval_watch"]
    return _drift_row(
        label,
        f"{check['baseline_share']:.1%} ({check['baseline_count']:,})",
        f"{check['capture_share']:.1%} ({check['capture_count']:,})",
        f"{100 * check['difference']:+.1f} pts [{100 * low:+.1f}, {100 * high:+.1f}]",
        f"±{100 * SHARE_WATCH:.0f} pts",
        f"±{100 * SHARE_DRIFT:.0f} pts",
        check["verdict"],
    )


def _drift_row(
    label: str, baseline: str, capture: str, change: str, watch_from: str, drift_from: str, verdict: str
) -> str:
    numbers = "".join(
        f'<td class="num">{escape(v)}</td>' for v in (baseline, capture, change, watch_from, drift_from)
    )
    return f"<tr><th>{escape(label)}</th>{numbers}<td>{_verdict(verdict)}</td></tr>"


def _verdict(verdict: str) -> str:
    return f'<span class="verdict-{escape(verdict)}">{escape(verdict)}</span>'


def _skipped_table(summary: dict) -> str:
    rows = [(reason, f"{count:,}") for reason, count in summary["skipped"].items()]
    rows.append(("unreadable files", f"{summary['files_unreadable']:,}"))
    html = "<h2>Skipped</h2>" + _table(("reason", "count"), rows)
    if summary["file_errors"]:
        errors = "".join(f"<li>{escape(e)}</li>" for e in summary["file_errors"])
        html += f'<ul class="warn">{errors}</ul>'
    return html


def _gallery_table(items: list[GalleryItem], summary: dict) -> str:
    if not items and summary.get("kind") == "batch":
        return (
            "<p>No photo could be shown: a local copy of the results holds none (the report reads them "
            "from S3 when given an s3:// location), or they are gone. The least confident photos are "
            "listed in the batch section.</p>"
        )
    if not items:
        return "<p>No decodable inputs were captured.</p>"
    rows = []
    for item in items:
        thumb = png_data_uri(thumbnail_png(item.image_bytes))
        probabilities = ", ".join(f"{p:.4f}" for p in item.probabilities)
        ids = f"<code>{escape(item.event_id or '')}</code><br><code>{escape(item.inference_id or '')}</code>"
        rows.append(
            "<tr>"
            f'<td><img class="thumb" alt="{escape(item.label)}" src="{thumb}"></td>'
            f"<td>{escape(item.label)}</td><td>{item.confidence:.4f}</td><td>[{probabilities}]</td>"
            f"<td>{item.inference_time:%Y-%m-%d %H:%M:%S}Z</td>"
            f"<td>{ids}</td>"
            f"<td><code>{escape(item.source_file)}</code></td>"
            "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("input", "label", "confidence", "probabilities", "time", "event / inference id", "file")
    )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _table(header: tuple[str, str], rows: list[tuple[str, object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
