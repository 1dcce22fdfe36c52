"""Train the small CNN with PyTorch and export it to ONNX.

This module imports torch at the top: only ``train-local`` imports it, inside its function, so
``python -m training_job --help``, ``evaluate`` and the local endpoint never load PyTorch.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from training_job.local_model import INPUT_NAME, OUTPUT_NAME


@dataclass(frozen=True)
class TrainConfig:
    """Defaults are the shipped model's recipe (see MODEL_CARD.md for how they were chosen)."""

    epochs: int = 120
    seed: int = 0
    batch_size: int = 64
    optimizer: str = "adamw"  # or "sgd" (Nesterov)
    max_lr: float = 0.003
    momentum: float = 0.9  # SGD only
    weight_decay: float = 0.05
    width: int = 16
    pad: int = 4
    jitter: float = 0.1
    cutout: int = 0
    mixup_alpha: float = 0.0
    ema_decay: float = 0.0
    members: int = 1
    threads: int = 1  # the 2 cores are shared with test suites: 2 threads ran 2x slower per step
    label_smoothing: float = 0.0
    cutmix: float = 0.5  # share of batches trained on CutMix images
    dropout: float = 0.0  # before the linear head
    tta_shift: int = 2  # test-time views: the image and its mirror, each also shifted by +-tta_shift px
    calib_fraction: float = 0.1  # stratified share of the training side held out to fit T


def conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)
    )


class Residual(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(conv_bn(channels, channels), conv_bn(channels, channels))

    def forward(self, x):
        return x + self.body(x)


class VehicleNet(nn.Module):
    """A ResNet-9-style CNN for 32x32 images: widths w, 2w, 4w, 4w; logits for 2 classes.

    Input is RGB 0..255; the per-channel normalisation is a buffer, so it travels into ONNX.
    """

    def __init__(
        self,
        width: int = 32,
        n_classes: int = 2,
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        dropout: float = 0.0,
    ):
        super().__init__()
        w = width
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        self.features = nn.Sequential(
            conv_bn(3, w),  # 32x32
            conv_bn(w, 2 * w),
            nn.MaxPool2d(2),  # 16x16
            Residual(2 * w),
            conv_bn(2 * w, 4 * w),
            nn.MaxPool2d(2),  # 8x8
            conv_bn(4 * w, 4 * w),
            nn.MaxPool2d(2),  # 4x4
            Residual(4 * w),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
            nn.Dropout(dropout),
        )
        self.head = nn.Linear(4 * w, n_classes)

    def forward(self, x):
        return self.head(self.features((x - self.mean) / self.std))


class Ensemble(nn.Module):
    """Logits averaged over independently trained members."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x):
        return torch.stack([member(x) for member in self.members]).mean(dim=0)


def tta_views(image: torch.Tensor, shift: int = 0) -> list[torch.Tensor]:
    """The test-time views: the image and its mirror; with ``shift``, each of them also moved by
    +-shift pixels left/right and up/down (reflect-padded), 10 views in all."""
    views = [image, torch.flip(image, dims=[3])]
    if not shift:
        return views
    h, w = image.shape[2], image.shape[3]
    out = list(views)
    for view in views:
        padded = F.pad(view, (shift, shift, shift, shift), mode="reflect")
        for dy, dx in ((-shift, 0), (shift, 0), (0, -shift), (0, shift)):
            out.append(padded[:, :, shift + dy : shift + dy + h, shift + dx : shift + dx + w])
    return out


def tta_forward(net: nn.Module, image: torch.Tensor, shift: int = 0) -> torch.Tensor:
    """Logits averaged over the test-time views (one pass per view, so that the exported graph
    keeps its static [batch, 2] output shape)."""
    return torch.stack([net(view) for view in tta_views(image, shift)]).mean(dim=0)


class CalibratedTTA(nn.Module):
    """What the ONNX file computes: logits averaged over the test-time views (the image, its
    mirror image and, with ``shift``, their shifted copies), divided by the fitted temperature,
    softmaxed."""

    def __init__(self, net: nn.Module, temperature: float, shift: int = 0):
        super().__init__()
        self.net = net
        self.shift = shift
        self.register_buffer("inv_temperature", torch.tensor(1.0 / temperature, dtype=torch.float32))

    def forward(self, image):
        return torch.softmax(tta_forward(self.net, image, self.shift) * self.inv_temperature, dim=1)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def augment(batch: torch.Tensor, config: TrainConfig, generator: torch.Generator) -> torch.Tensor:
    """Random crop from a reflect-padded image, horizontal flip, brightness/contrast jitter, cutout.
    ``batch`` is float [n, 3, 32, 32] in 0..255."""
    n, _, h, w = batch.shape
    out = batch
    if config.pad:
        p = config.pad
        padded = F.pad(batch, (p, p, p, p), mode="reflect")
        dy = torch.randint(0, 2 * p + 1, (n,), generator=generator)
        dx = torch.randint(0, 2 * p + 1, (n,), generator=generator)
        rows = (dy.view(n, 1) + torch.arange(h).view(1, h)).view(n, 1, h, 1).expand(n, 3, h, w + 2 * p)
        padded = torch.gather(padded, 2, rows)
        cols = (dx.view(n, 1) + torch.arange(w).view(1, w)).view(n, 1, 1, w).expand(n, 3, h, w)
        out = torch.gather(padded, 3, cols)
    flip = torch.rand(n, generator=generator) < 0.5
    out = torch.where(flip.view(n, 1, 1, 1), torch.flip(out, dims=[3]), out)
    if config.jitter:
        j = config.jitter
        brightness = 1 + (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * j
        contrast = 1 + (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * j
        mean = out.mean(dim=(1, 2, 3), keepdim=True)
        out = ((out - mean) * contrast + mean) * brightness
        out = out.clamp(0, 255)
    if config.cutout:
        c = config.cutout
        cy = torch.randint(0, h, (n, 1, 1), generator=generator)
        cx = torch.randint(0, w, (n, 1, 1), generator=generator)
        ys = torch.arange(h).view(1, h, 1)
        xs = torch.arange(w).view(1, 1, w)
        hole = ((ys - cy).abs() <= c // 2) & ((xs - cx).abs() <= c // 2)
        out = out.masked_fill(hole.unsqueeze(1), 0.0) + hole.unsqueeze(1) * batch.mean()
    return out


def cutmix(
    batch: torch.Tensor, labels: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """CutMix (Yun et al., 2019): paste a random box of a shuffled batch into each image; returns
    the images, the pasted images' labels and the share of each image that kept its own label."""
    n, _, h, w = batch.shape
    lam = float(torch.rand(1, generator=generator))
    cut_h, cut_w = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
    cy = int(torch.randint(0, h, (1,), generator=generator))
    cx = int(torch.randint(0, w, (1,), generator=generator))
    y0, y1 = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, h)
    x0, x1 = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, w)
    perm = torch.randperm(n, generator=generator)
    out = batch.clone()
    out[:, :, y0:y1, x0:x1] = batch[perm][:, :, y0:y1, x0:x1]
    kept = 1 - (y1 - y0) * (x1 - x0) / (h * w)
    return out.contiguous(memory_format=torch.channels_last), labels[perm], kept


def seed_everything(seed: int, threads: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def fit_ensemble(
    images: np.ndarray, labels: np.ndarray, config: TrainConfig, log=print, on_epoch=None
) -> tuple[nn.Module, dict]:
    """Train ``config.members`` models, seeds ``seed``, ``seed + 1``, ...; one member is returned
    as itself, several as an :class:`Ensemble` that averages their logits."""
    models, histories = [], []
    for k in range(config.members):
        if config.members > 1:
            log(f"member {k + 1}/{config.members}")
        model, history = fit(
            images, labels, replace(config, seed=config.seed + k), log=log, on_epoch=on_epoch
        )
        models.append(model)
        histories.append(history)
    history = {
        "loss": [h["loss"][-1] for h in histories],
        "seconds": sum(h["seconds"] for h in histories),
    }
    return (models[0] if len(models) == 1 else Ensemble(models).eval()), history


def fit(
    images: np.ndarray, labels: np.ndarray, config: TrainConfig, log=print, on_epoch=None
) -> tuple[VehicleNet, dict]:
    """Train one model from scratch; returns it (in eval mode) and a small history."""
    seed_everything(config.seed, config.threads)
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    mean = (x / 255).mean(dim=(0, 2, 3)).tolist()
    std = (x / 255).std(dim=(0, 2, 3)).tolist()
    model = VehicleNet(
        config.width, mean=[m * 255 for m in mean], std=[s * 255 for s in std], dropout=config.dropout
    )
    model = model.to(memory_format=torch.channels_last)
    generator = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = math.ceil(len(x) / config.batch_size)
    if config.optimizer == "adamw":
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.max_lr, weight_decay=config.weight_decay)
    else:
        optimizer = torch.optim.SGD(
            model.parameters(),
            lr=config.max_lr,
            momentum=config.momentum,
            nesterov=True,
            weight_decay=config.weight_decay,
        )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.max_lr, total_steps=config.epochs * steps_per_epoch, pct_start=0.25
    )
    ema = None
    if config.ema_decay:
        ema = torch.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(config.ema_decay), use_buffers=True
        )
    history = {"loss": [], "seconds": 0.0}
    start = time.perf_counter()
    model.train()
    for epoch in range(config.epochs):
        order = torch.randperm(len(x), generator=generator)
        total, seen = 0.0, 0
        for step in range(steps_per_epoch):
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            xb = augment(x[idx], config, generator).contiguous(memory_format=torch.channels_last)
            yb = y[idx]
            ls = config.label_smoothing
            if config.cutmix and torch.rand(1, generator=generator).item() < config.cutmix:
                xb, yb2, lam = cutmix(xb, yb, generator)
                logits = model(xb)
                loss = lam * F.cross_entropy(logits, yb, label_smoothing=ls) + (1 - lam) * F.cross_entropy(
                    logits, yb2, label_smoothing=ls
                )
            elif config.mixup_alpha:
                lam = float(
                    np.random.default_rng(config.seed * 10007 + epoch * 101 + step).beta(
                        config.mixup_alpha, config.mixup_alpha
                    )
                )
                perm = torch.randperm(len(idx), generator=generator)
                logits = model(lam * xb + (1 - lam) * xb[perm])
                loss = lam * F.cross_entropy(logits, yb, label_smoothing=ls) + (1 - lam) * F.cross_entropy(
                    logits, yb[perm], label_smoothing=ls
                )
            else:
                loss = F.cross_entropy(model(xb), yb, label_smoothing=ls)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(model)
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
        history["loss"].append(total / max(seen, 1))
        log(
            f"epoch {epoch + 1}/{config.epochs} loss {total / max(seen, 1):.4f} "
            f"({time.perf_counter() - start:.0f} s)"
        )
        if on_epoch is not None:
            model.eval()
            on_epoch(epoch, ema.module if ema is not None else model)
            model.train()
    history["seconds"] = time.perf_counter() - start
    if ema is not None:
        model = ema.module
    model.eval()
    return model, history


@torch.no_grad()
def tta_logits(model: nn.Module, images: np.ndarray, shift: int = 0, batch_size: int = 256) -> np.ndarray:
    """Logits averaged over the test-time views, as the exported graph computes them."""
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size], dtype=np.float32))
        out.append(tta_forward(model, xb, shift).numpy())
    return np.concatenate(out) if out else np.zeros((0, 2), dtype=np.float32)


def export_onnx(model: nn.Module, temperature: float, path: Path, shift: int = 0) -> None:
    """Write the calibrated, flip-averaged model: input ``image`` [batch, 3, 32, 32] RGB 0..255,
    output ``probabilities`` [batch, 2], one self-contained file."""
    import onnx

    wrapper = CalibratedTTA(model, temperature, shift).eval()
    example = torch.zeros(2, 3, 32, 32)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # the TorchScript exporter is deprecated in favour of the torch.export one, which takes
        # ten times longer here for the same graph; torch is pinned, so keep the fast one
        warnings.simplefilter("ignore", DeprecationWarning)
        # the mirror image is a Slice with step -1, which the exporter cannot constant-fold (nor
        # needs to)
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
        torch.onnx.export(
            wrapper,
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=18,
            dynamo=False,
        )
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    proto.producer_name = "training_job.local_model"
    onnx.save(proto, str(path))


def config_dict(config: TrainConfig) -> dict:
    return asdict(config)


def verify_onnx(
    path: Path, model: nn.Module, temperature: float, images: np.ndarray, shift: int = 0
) -> float:
    """Largest absolute difference between the ONNX file under onnxruntime and the torch wrapper."""
    from training_job.local_model.inference import load_session, predict_probabilities

    wrapper = CalibratedTTA(model, temperature, shift).eval()
    with torch.no_grad():
        expected = wrapper(torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))).numpy()
    got = predict_probabilities(load_session(path), images)
    return float(np.abs(expected - got).max())


def train_local(
    images_dir: Path,
    lst_path: Path,
    out: Path,
    config: TrainConfig,
    val_fraction: float,
    card_path: Path,
    command: str,
    log=print,
) -> dict:
    """Split, train, calibrate, export, verify, and write ``validation.lst`` and the model card."""
    import onnx

    from scones_core.lst import format_lst, read_lst
    from training_job.local_model import CLASS_NAMES
    from training_job.local_model.baseline import baseline_path_for, build_baseline, write_baseline
    from training_job.local_model.calibration import fit_temperature
    from training_job.local_model.card import render_model_card
    from training_job.local_model.data import load_images, stratified_split
    from training_job.local_model.inference import load_session, predict_probabilities
    from training_job.local_model.metrics import (
        DEFAULT_THRESHOLD,
        expected_calibration_error,
        softmax,
        summarise,
    )

    wall_start = time.perf_counter()
    entries = read_lst(lst_path)
    train_entries, val_entries = stratified_split(entries, val_fraction, config.seed)
    # the temperature is fitted on a stratified share of the training side, never on the
    # validation split it is scored on
    fit_entries, calib_entries = stratified_split(train_entries, config.calib_fraction, config.seed)
    train_set = load_images(images_dir, fit_entries)
    calib_set = load_images(images_dir, calib_entries)
    val_set = load_images(images_dir, val_entries)
    skipped = [name for part in (train_set, calib_set, val_set) for name in part.missing + part.undecodable]
    if skipped:
        log(f"skipped {len(skipped)} image(s) that are missing or undecodable, e.g. {skipped[:3]}")
    if len(train_set.labels) < 2:
        raise ValueError(f"need at least 2 training images, found {len(train_set.labels)}")
    log(
        f"train {len(train_set.labels)} images, calibration {len(calib_set.labels)}, "
        f"validation {len(val_set.labels)} (seed {config.seed})"
    )

    model, history = fit_ensemble(train_set.images, train_set.labels, config, log=log)
    log(f"trained {count_parameters(model):,} parameters in {history['seconds']:.1f} s")

    temperature = 1.0
    calibration: dict = {"temperature": 1.0, "fitted": False}
    if len(calib_set.labels):
        temperature = fit_temperature(tta_logits(model, calib_set.images, config.tta_shift), calib_set.labels)
        calibration = {"temperature": temperature, "fitted": True, "n_calib": len(calib_set.labels)}
    if len(val_set.labels):
        # how the fitted T does on the validation split (scored there, fitted elsewhere)
        logits = tta_logits(model, val_set.images, config.tta_shift)
        before, after = softmax(logits), softmax(logits / temperature)
        calibration.update(
            {
                "ece_before": expected_calibration_error(before, val_set.labels),
                "ece_after": expected_calibration_error(after, val_set.labels),
                "nll_before": summarise(before, val_set.labels)["nll"],
                "nll_after": summarise(after, val_set.labels)["nll"],
                "coverage_at_threshold_before": summarise(before, val_set.labels)["coverage"],
            }
        )
        log(
            f"temperature {temperature:.3f}: validation ECE {calibration['ece_before']:.3f} -> "
            f"{calibration['ece_after']:.3f}, NLL {calibration['nll_before']:.3f} -> "
            f"{calibration['nll_after']:.3f}"
        )

    out = Path(out)
    export_onnx(model, temperature, out, config.tta_shift)
    check_images = val_set.images if len(val_set.labels) else train_set.images[:64]
    max_diff = verify_onnx(out, model, temperature, check_images, config.tta_shift)
    if max_diff > 1e-4:
        raise RuntimeError(f"onnxruntime and torch disagree by {max_diff:.2e} on {out}")
    log(f"wrote {out} ({out.stat().st_size:,} bytes); onnxruntime matches torch within {max_diff:.1e}")

    validation_lst = out.with_name("validation.lst")
    validation_lst.write_text(format_lst(val_entries), encoding="utf-8")

    report = None
    baseline_path = None
    if len(val_set.labels):
        probs = predict_probabilities(load_session(out), val_set.images)
        report = summarise(probs, val_set.labels)
        # what the exported model answers on the split: monitoring's baseline for drift
        source = {"tool": "train-local", "lst": validation_lst.name, "images": str(images_dir)}
        baseline = build_baseline(probs, DEFAULT_THRESHOLD, model_path=out, source=source)
        baseline_path = write_baseline(baseline, baseline_path_for(out))
    info = {
        "command": command,
        "images_dir": str(images_dir),
        "lst": str(lst_path),
        "n_train": len(train_set.labels),
        "n_val": len(val_set.labels),
        "n_calib": len(calib_set.labels),
        "calib_counts": np.bincount(calib_set.labels, minlength=len(CLASS_NAMES)).tolist(),
        "train_counts": np.bincount(train_set.labels, minlength=len(CLASS_NAMES)).tolist(),
        "val_counts": np.bincount(val_set.labels, minlength=len(CLASS_NAMES)).tolist(),
        "val_fraction": val_fraction,
        "config": asdict(config),
        "parameters": count_parameters(model),
        "train_seconds": history["seconds"],
        "wall_seconds": time.perf_counter() - wall_start,
        "final_loss": history["loss"],
        "calibration": calibration,
        "onnx_bytes": out.stat().st_size,
        "onnx_max_abs_diff": max_diff,
        "onnx_file": out.name,
        "validation_lst": validation_lst.name,
        "baseline": str(baseline_path) if baseline_path else None,
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": _ort_version()},
        "report": report,
    }
    Path(card_path).write_text(render_model_card(info), encoding="utf-8")
    log(f"wrote {validation_lst}, {card_path}" + (f" and {baseline_path}" if baseline_path else ""))
    return info


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__
