import numpy as np
import pytest

from training_job.local_model.calibration import fit_temperature, nll_at_temperature


def synthetic(temperature: float, n: int = 4000, seed: int = 0):
    """Logits whose labels are drawn from softmax(logits / temperature): the true T is known."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 4.0, size=(n, 2))
    p1 = 1 / (1 + np.exp(-(logits[:, 1] - logits[:, 0]) / temperature))
    labels = (rng.random(n) < p1).astype(np.int64)
    return logits, labels


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.5])
def test_fit_temperature_recovers_known_t(true_t):
    logits, labels = synthetic(true_t)
    assert fit_temperature(logits, labels) == pytest.approx(true_t, rel=0.15)


def test_fitted_t_minimises_nll():
    logits, labels = synthetic(2.0, seed=1)
    t = fit_temperature(logits, labels)
    best = nll_at_temperature(logits, labels, t)
    assert best <= nll_at_temperature(logits, labels, t * 1.1)
    assert best <= nll_at_temperature(logits, labels, t / 1.1)
    assert best < nll_at_temperature(logits, labels, 1.0)
