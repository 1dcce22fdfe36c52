"""Temperature scaling (Guo et al., 2017): one scalar T so that softmax(logits / T) is calibrated."""

from __future__ import annotations

import math

import numpy as np


def nll_at_temperature(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    log_probs = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def fit_temperature(
    logits: np.ndarray, labels: np.ndarray, low: float = 0.05, high: float = 20.0, iterations: int = 100
) -> float:
    """The T in [low, high] that minimises the NLL of softmax(logits / T), by golden-section search
    on log T (the NLL is unimodal in T)."""
    labels = np.asarray(labels, dtype=np.int64)
    a, b = math.log(low), math.log(high)
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc = nll_at_temperature(logits, labels, math.exp(c))
    fd = nll_at_temperature(logits, labels, math.exp(d))
    for _ in range(iterations):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = nll_at_temperature(logits, labels, math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = nll_at_temperature(logits, labels, math.exp(d))
    return math.exp((a + b) / 2)
