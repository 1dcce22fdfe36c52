"""Render the model card that ``train-local`` writes beside the model."""

from __future__ import annotations

from training_job.local_model import CLASS_NAMES

# What issue 3 asks of the local model, on images it never trained on.
TARGETS = {"accuracy": 0.95, "coverage": 0.80, "selective_accuracy": 0.99}

# How the recipe was chosen: each row one training run, the same 800/200 split (seed 0), numbers at
# threshold 0.93: (run, accuracy, coverage, selective accuracy, ECE, training seconds); None where
# not recorded. The first rows (40 epochs) fitted T on the validation split itself; from "120 ep"
# on, T is fitted on the 80 calibration images held out of the training side, and the network
# trains on the other 720. Runs shared the 2 cores with another run and the lead's test suite, at
# 1 torch thread each, so the seconds are pessimistic.
RECIPE_HISTORY = (
    (
        "SGD lr 0.1, widths 24/48/96 (344k), crop+flip, jitter 20%, cutout 8, 30 ep",
        0.810,
        0.335,
        0.970,
        None,
        None,
    ),
    ("same, SGD lr 0.05", 0.850, 0.380, 0.987, None, None),
    ("SGD lr 0.05, widths 16/32/64 (153k), no augmentation, 20 ep", 0.840, 0.380, 0.974, None, None),
    ("SGD lr 0.05, 153k, crop+flip, jitter 10%, mixup 0.2, 40 ep", 0.860, 0.360, 0.944, None, None),
    (
        "AdamW lr 3e-3 wd 0.05, 153k, crop+flip, jitter 10%, 40 ep (the previous recipe)",
        0.900,
        0.645,
        0.969,
        None,
        None,
    ),
    ("same + jitter 20% + cutout 8", 0.865, 0.565, 0.982, None, None),
    ("same recipe, widths 24/48/96 (344k)", 0.900, 0.565, 0.973, None, None),
    ("same recipe + EMA of weights (0.98)", 0.895, 0.645, 0.977, None, None),
    ("ensemble of 3 x 20 ep (460k), logits averaged", 0.890, 0.575, 0.974, None, None),
    ("ensemble of 2 x 30 ep (307k), logits averaged", 0.905, 0.575, 0.974, None, None),
    ("AdamW recipe, 153k, 120 ep, flip TTA", 0.905, 0.675, 0.956, 0.047, 464),
    ("same, 10-view TTA (flip + 2-px shifts)", 0.895, 0.665, 0.962, 0.038, 464),
    ("AdamW recipe, 153k, 120 ep, CutMix on 50% of batches, flip TTA", 0.895, 0.635, 0.984, 0.015, 492),
    ("same, 10-view TTA (flip + 2-px shifts) (the recipe)", 0.905, 0.635, 0.992, 0.020, 492),
    ("same + dropout 0.2 before the head, flip TTA", 0.890, 0.700, 0.979, 0.051, 456),
    ("same + dropout 0.2, 10-view TTA", 0.880, 0.685, 0.978, 0.040, 456),
    ("CutMix 50%, widths 24/48/96 (344k), 80 ep, flip TTA", 0.890, 0.670, 0.978, 0.038, 571),
    ("same, 10-view TTA", 0.885, 0.670, 0.978, 0.032, 571),
)


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def render_model_card(info: dict) -> str:
    sections = [
        _title(),
        _interface(info),
        _data_and_split(info),
        _architecture_and_training(info),
        _calibration(info["calibration"]),
    ]
    report = info.get("report")
    if report:
        sections += [_validation_numbers(report), _targets(report)]
    sections += [_recipe_history(), _reproduce(info)]
    # one blank line between sections, and a newline at the end of the file
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def _title() -> list[str]:
    return [
        "# Local vehicle classifier (bicycle / motorcycle)",
        "",
        "The small CNN that the local stack serves in place of the SageMaker endpoint. Written by",
        "`train-local`; regenerate it with the command below rather than editing by hand.",
    ]


def _interface(info: dict) -> list[str]:
    return [
        "## Interface",
        "",
        f"- file: `{info['onnx_file']}` ({info['onnx_bytes']:,} bytes), one self-contained ONNX graph",
        "- input `image`: float32 `[batch, 3, 32, 32]`, RGB, 0..255 (normalisation is inside the graph);",
        "  `training_job.local_model.preprocess.decode_image` turns any PNG/JPEG (RGB, RGBA, palette,",
        "  any size) into that",
        f"- output `probabilities`: float32 `[batch, 2]`, column 0 = {CLASS_NAMES[0]}, "
        f"column 1 = {CLASS_NAMES[1]}",
        "- inside the graph: logits averaged over " + _test_time_views(info["config"]),
        f"  divided by the fitted temperature T = {info['calibration']['temperature']:.4f}, softmax",
    ]


def _test_time_views(config: dict) -> str:
    if config.get("tta_shift"):
        return (
            f"10 test-time views (the image and its mirror image, each also shifted by "
            f"±{config['tta_shift']} px left, right, up and down, reflect-padded),"
        )
    return "the image and its mirror image (test-time flip),"


def _data_and_split(info: dict) -> list[str]:
    config = info["config"]
    return [
        "## Data and split",
        "",
        f"- {info['n_train'] + info.get('n_calib', 0) + info['n_val']} images from `{info['lst']}` "
        "(CIFAR-100 fine labels 8 and 48)",
        f"- validation: {info['n_val']} images ({_counts(info['val_counts'])}), a stratified "
        f"{info['val_fraction']:.0%} of each class, drawn with seed {config['seed']}; never trained on;",
        f"  listed in `{info['validation_lst']}` (paths relative to the images folder)",
        f"- training: {info['n_train']} images ({_counts(info['train_counts'])})" + _calibration_split(info),
    ]


def _calibration_split(info: dict) -> str:
    if not info.get("n_calib"):
        return ""
    config = info["config"]
    return (
        f"; calibration: {info['n_calib']} images ({_counts(info['calib_counts'])}), a stratified "
        f"{config.get('calib_fraction', 0):.0%} of each class of the remaining 80%, drawn with seed "
        f"{config['seed']}, never trained on, used only to fit the temperature"
    )


def _architecture_and_training(info: dict) -> list[str]:
    config = info["config"]
    return [
        "## Architecture and training",
        "",
        _architecture(config, info["parameters"]),
        _training(config),
        _augmentation(config),
        f"- seeds fixed (torch, numpy, split), deterministic algorithms, {config['threads']} CPU "
        f"thread{'s' if config['threads'] != 1 else ''}",
        f"- training took {info['train_seconds']:.0f} s ({info['wall_seconds']:.0f} s for the whole "
        "command) on a 2-core CPU that other jobs (test suites, the local stack) were using at the same "
        "time, so the seconds are pessimistic",
        f"- ONNX export checked against torch with onnxruntime: max |difference| "
        f"{info['onnx_max_abs_diff']:.1e}",
    ]


def _architecture(config: dict, parameters: int) -> str:
    ensemble = (
        f"; an ensemble of {config['members']} such networks (seeds {config['seed']}.."
        f"{config['seed'] + config['members'] - 1}) whose logits are averaged"
        if config["members"] > 1
        else ""
    )
    return (
        f"- ResNet-9-style CNN, widths {config['width']}/{2 * config['width']}/{4 * config['width']}, "
        "BatchNorm, ReLU, max pooling, two residual blocks, global max pool, linear head"
        + ensemble
        + f"; {parameters:,} parameters in all"
    )


def _training(config: dict) -> str:
    loss = (
        f"cross-entropy with label smoothing {config['label_smoothing']} (temperature scaling "
        "recalibrates afterwards)"
        if config.get("label_smoothing")
        else "plain cross-entropy"
    )
    return (
        f"- {config['epochs']} epochs{' per member' if config['members'] > 1 else ''}, batch "
        f"{config['batch_size']}, {_optimizer(config)}, one-cycle LR peaking at {config['max_lr']}, "
        + loss
        + (f", dropout {config['dropout']} before the head" if config.get("dropout") else "")
        + (f", EMA of the weights (decay {config['ema_decay']})" if config["ema_decay"] else "")
    )


def _augmentation(config: dict) -> str:
    return (
        f"- augmentation: random 32x32 crop of the image reflect-padded by {config['pad']}, "
        f"horizontal flip, brightness/contrast jitter ±{config['jitter']:.0%}"
        + (f", cutout {config['cutout']}x{config['cutout']}" if config["cutout"] else "")
        + (f", mixup (alpha {config['mixup_alpha']})" if config["mixup_alpha"] else "")
        + (f", CutMix on {config['cutmix']:.0%} of the batches" if config.get("cutmix") else "")
    )


def _calibration(calibration: dict) -> list[str]:
    return [
        "## Calibration (temperature scaling on a held-out share of the training side)",
        "",
        *_calibration_result(calibration),
    ]


def _calibration_result(calibration: dict) -> list[str]:
    if calibration.get("fitted") and "ece_before" in calibration:
        return [
            f"T = {calibration['temperature']:.4f}, fitted by minimising the NLL of the test-time-averaged "
            f"logits of the {calibration.get('n_calib', 'held-out')} calibration images, which the network "
            "never trained on. Scored on the validation split (which took no part in fitting T):",
            "",
            "| | ECE (10 bins) | NLL |",
            "| --- | --- | --- |",
            f"| before (T = 1) | {calibration['ece_before']:.3f} | {calibration['nll_before']:.3f} |",
            f"| after (T = {calibration['temperature']:.2f}) | {calibration['ece_after']:.3f} | "
            f"{calibration['nll_after']:.3f} |",
            "",
            "The calibration set is small, so T carries some noise; it is one parameter and does not",
            "change which class is predicted, only the confidence and so the coverage at a threshold.",
        ]
    if calibration.get("fitted"):
        return [f"T = {calibration['temperature']:.4f}, fitted on the calibration images."]
    return ["No calibration images, so no temperature was fitted (T = 1)."]


def _validation_numbers(report: dict) -> list[str]:
    return [
        f"## Numbers on the validation split (onnxruntime, threshold {report['threshold']})",
        "",
        *_headline_scores(report),
        "",
        *_per_class_table(report["per_class"]),
        "",
        *_confusion_table(report["confusion_matrix"]),
        "",
        *_threshold_sweep_table(report["threshold_sweep"]),
    ]


def _headline_scores(report: dict) -> list[str]:
    n = report["n"]
    covered = round(report["coverage"] * n)
    selective = report["selective_accuracy"]
    return [
        f"- accuracy {_pct(report['accuracy'])} ({round(report['accuracy'] * n)}/{n}), "
        f"95% interval {_wilson(report['accuracy'], n)}",
        f"- coverage {_pct(report['coverage'])} ({covered}/{n} at or above the threshold)",
        f"- selective accuracy {_pct(selective)}"
        + (
            f" ({round(selective * covered)}/{covered}), 95% interval {_wilson(selective, covered)}"
            if selective is not None
            else ""
        ),
        f"- ECE {report['ece']:.3f}",
    ]


def _per_class_table(per_class: dict) -> list[str]:
    return [
        "| class | precision | recall | F1 | support |",
        "| --- | --- | --- | --- | --- |",
        *(
            f"| {name} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |"
            for name, s in per_class.items()
        ),
    ]


def _confusion_table(confusion: dict) -> list[str]:
    labels = confusion["labels"]
    return [
        "Confusion (rows true, columns predicted):",
        "",
        "| | " + " | ".join(labels) + " |",
        "| --- |" + " --- |" * len(labels),
        *(
            f"| {name} | " + " | ".join(str(v) for v in row) + " |"
            for name, row in zip(labels, confusion["rows_true_cols_predicted"], strict=True)
        ),
    ]


def _threshold_sweep_table(sweep: list[dict]) -> list[str]:
    return [
        "Threshold sweep:",
        "",
        "| threshold | coverage | selective accuracy |",
        "| --- | --- | --- |",
        *(
            f"| {row['threshold']:.2f} | {_pct(row['coverage'])} | {_pct(row['selective_accuracy'])} |"
            for row in sweep
        ),
    ]


def _recipe_history() -> list[str]:
    return [
        "## How the recipe was chosen",
        "",
        "Each row is one training run on the same split, with test-time averaging and temperature "
        "scaling, at threshold 0.93. The first ten rows (40 epochs or less) fitted T on the "
        "validation split itself; the later ones fit it on the calibration images and train on "
        "the other 720. AdamW was the change that mattered first; after it, width, longer "
        "training, dropout, EMA and small ensembles all stayed within the noise of a 200-image split (one "
        "image is 0.5 points), while CutMix made the confident answers markedly more reliable "
        "(selective accuracy) and the calibration better. Training seconds were measured with "
        "two runs and a test suite sharing the 2 cores, so they are pessimistic.",
        "",
        "| run | accuracy | coverage | selective accuracy | ECE | train s |",
        "| --- | --- | --- | --- | --- | --- |",
        *(
            f"| {name} | {_pct(a)} | {_pct(c)} | {_pct(s)} | {'-' if e is None else f'{e:.3f}'} | "
            f"{'-' if t is None else t} |"
            for name, a, c, s, e, t in RECIPE_HISTORY
        ),
    ]


def _reproduce(info: dict) -> list[str]:
    versions = info["versions"]
    return [
        "## Reproduce",
        "",
        "```",
        info["command"],
        "```",
        "",
        f"torch {versions['torch']}, onnx {versions['onnx']}, onnxruntime {versions['onnxruntime']}. "
        "Check it with:",
        "",
        "```",
        f"python -m training_job evaluate --model <model.onnx> --images {info['images_dir']} "
        f"--lst <folder of the model>/{info['validation_lst']}",
        "```",
    ]


def _optimizer(config: dict) -> str:
    if config["optimizer"] == "adamw":
        return f"AdamW (weight decay {config['weight_decay']})"
    return f"SGD (Nesterov momentum {config['momentum']}, weight decay {config['weight_decay']})"


def _targets(report: dict) -> list[str]:
    n = report["n"]
    covered = round(report["coverage"] * n)
    rows = [
        ("accuracy", report["accuracy"], n),
        ("coverage at the threshold", report["coverage"], None),
        ("selective accuracy", report["selective_accuracy"], covered),
    ]
    lines = [
        "## Against the targets of issue 3",
        "",
        "| measure | target | measured | 95% interval | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for (name, value, count), target in zip(rows, TARGETS.values(), strict=True):
        interval = _wilson(value, count) if count and value is not None else "-"
        met = "yes" if value is not None and value >= target else "no"
        lines.append(f"| {name} | {_pct(target)} | {_pct(value)} | {interval} | {met} |")
    if any(
        value is None or value < target for (_, value, _), target in zip(rows, TARGETS.values(), strict=True)
    ):
        lines += [
            "",
            "Where a target is missed by more than the interval, the miss is the model's, not the noise",
            "of the split. Within the 5-minute CPU budget no variant tried (below) reached all of them;",
            "the threshold sweep shows what each threshold buys instead.",
        ]
    return lines


def _counts(counts) -> str:
    return ", ".join(f"{c} {name}" for name, c in zip(CLASS_NAMES, counts, strict=True))


def _wilson(p: float, n: int, z: float = 1.96) -> str:
    """Wilson score interval for a proportion p measured on n items."""
    if not n:
        return "-"
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / denominator
    return f"{_pct(max(0.0, centre - half))} to {_pct(min(1.0, centre + half))}"
