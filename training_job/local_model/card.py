"""Render the model card that ``train-local`` writes beside the model."""

from __future__ import annotations

from training_job.local_model import CLASS_NAMES


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def render_model_card(info: dict) -> str:
    config = info["config"]
    calibration = info["calibration"]
    report = info.get("report")
    lines = [
        "# Local vehicle classifier (bicycle / motorcycle)",
        "",
        "The small CNN that the local stack serves in place of the SageMaker endpoint. Written by",
        "`train-local`; regenerate it with the command below rather than editing by hand.",
        "",
        "## Interface",
        "",
        f"- file: `{info['onnx_file']}` ({info['onnx_bytes']:,} bytes), one self-contained ONNX graph",
        "- input `image`: float32 `[batch, 3, 32, 32]`, RGB, 0..255 (normalisation is inside the graph);",
        "  `training_job.local_model.preprocess.decode_image` turns any PNG/JPEG (RGB, RGBA, palette,",
        "  any size) into that",
        f"- output `probabilities`: float32 `[batch, 2]`, column 0 = {CLASS_NAMES[0]}, "
        f"column 1 = {CLASS_NAMES[1]}",
        "- inside the graph: logits averaged over the image and its mirror image (test-time flip),",
        f"  divided by the fitted temperature T = {calibration['temperature']:.4f}, softmax",
        "",
        "## Data and split",
        "",
        f"- {info['n_train'] + info['n_val']} images from `{info['lst']}` (CIFAR-100 fine labels 8 and 48)",
        f"- validation: {info['n_val']} images ({_counts(info['val_counts'])}), a stratified "
        f"{info['val_fraction']:.0%} of each class, drawn with seed {config['seed']}; never trained on;",
        f"  listed in `{info['validation_lst']}` (paths relative to the images folder)",
        f"- training: {info['n_train']} images ({_counts(info['train_counts'])})",
        "",
        "## Architecture and training",
        "",
        f"- ResNet-9-style CNN, widths {config['width']}/{2 * config['width']}/{4 * config['width']}, "
        "BatchNorm, ReLU, max pooling, two residual blocks, global max pool, linear head"
        + (
            f"; an ensemble of {config['members']} such networks (seeds {config['seed']}.."
            f"{config['seed'] + config['members'] - 1}) whose logits are averaged"
            if config["members"] > 1
            else ""
        )
        + f"; {info['parameters']:,} parameters in all",
        f"- {config['epochs']} epochs{' per member' if config['members'] > 1 else ''}, batch "
        f"{config['batch_size']}, {_optimizer(config)}, one-cycle LR peaking at {config['max_lr']}, "
        "plain cross-entropy (no label smoothing, which would blur the calibration)"
        + (f", EMA of the weights (decay {config['ema_decay']})" if config["ema_decay"] else ""),
        f"- augmentation: random 32x32 crop of the image reflect-padded by {config['pad']}, "
        f"horizontal flip, brightness/contrast jitter ±{config['jitter']:.0%}"
        + (f", cutout {config['cutout']}x{config['cutout']}" if config["cutout"] else "")
        + (f", mixup (alpha {config['mixup_alpha']})" if config["mixup_alpha"] else ""),
        f"- seeds fixed (torch, numpy, split), deterministic algorithms, {config['threads']} CPU threads",
        f"- training took {info['train_seconds']:.0f} s ({info['wall_seconds']:.0f} s for the whole "
        "command) on a 2-core CPU",
        f"- ONNX export checked against torch with onnxruntime: max |difference| "
        f"{info['onnx_max_abs_diff']:.1e}",
        "",
        "## Calibration (temperature scaling on the validation split)",
        "",
    ]
    if calibration.get("fitted"):
        lines += [
            f"T = {calibration['temperature']:.4f}, fitted by minimising the NLL of the flip-averaged "
            "validation logits.",
            "",
            "| | ECE (10 bins) | NLL |",
            "| --- | --- | --- |",
            f"| before (T = 1) | {calibration['ece_before']:.3f} | {calibration['nll_before']:.3f} |",
            f"| after (T = {calibration['temperature']:.2f}) | {calibration['ece_after']:.3f} | "
            f"{calibration['nll_after']:.3f} |",
            "",
            "T is fitted on the same split the numbers below are measured on: one parameter, so the",
            "optimism is small, but there is no untouched test set among the shared images.",
        ]
    else:
        lines.append("No validation split, so no temperature was fitted (T = 1).")
    if report:
        n = report["n"]
        covered = round(report["coverage"] * n)
        lines += [
            "",
            f"## Numbers on the validation split (onnxruntime, threshold {report['threshold']})",
            "",
            f"- accuracy {_pct(report['accuracy'])} ({round(report['accuracy'] * n)}/{n}), "
            f"95% interval {_wilson(report['accuracy'], n)}",
            f"- coverage {_pct(report['coverage'])} ({covered}/{n} at or above the threshold)",
            f"- selective accuracy {_pct(report['selective_accuracy'])}"
            + (
                f" ({round(report['selective_accuracy'] * covered)}/{covered}), "
                f"95% interval {_wilson(report['selective_accuracy'], covered)}"
                if report["selective_accuracy"] is not None
                else ""
            ),
            f"- ECE {report['ece']:.3f}",
            "",
            "| class | precision | recall | F1 | support |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, s in report["per_class"].items():
            lines.append(
                f"| {name} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |"
            )
        labels = report["confusion_matrix"]["labels"]
        lines += [
            "",
            "Confusion (rows true, columns predicted):",
            "",
            "| | " + " | ".join(labels) + " |",
            "| --- |" + " --- |" * len(labels),
        ]
        for name, row in zip(labels, report["confusion_matrix"]["rows_true_cols_predicted"], strict=True):
            lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
        lines += [
            "",
            "Threshold sweep:",
            "",
            "| threshold | coverage | selective accuracy |",
            "| --- | --- | --- |",
        ]
        for row in report["threshold_sweep"]:
            lines.append(
                f"| {row['threshold']:.2f} | {_pct(row['coverage'])} | {_pct(row['selective_accuracy'])} |"
            )
    versions = info["versions"]
    lines += [
        "",
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
        "",
    ]
    return "\n".join(lines)


def _optimizer(config: dict) -> str:
    if config["optimizer"] == "adamw":
        return f"AdamW (weight decay {config['weight_decay']})"
    return f"SGD (Nesterov momentum {config['momentum']}, weight decay {config['weight_decay']})"


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
