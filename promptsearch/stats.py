"""Uncertainty for scores measured on finite example sets (seeded, so reports reproduce)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

RESAMPLES = 2000


def bootstrap_ci(scores: Sequence[float], level: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of per-example scores."""
    values = np.asarray(scores, dtype=float)
    if values.size == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, (RESAMPLES, values.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return (float(low), float(high))


def paired_permutation_p(a: Sequence[float], b: Sequence[float], seed: int = 0) -> float:
    """Two-sided p-value that mean(a - b) differs from 0, by random sign flips of the pairs."""
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if diffs.size == 0 or not diffs.any():
        return 1.0
    observed = abs(diffs.mean())
    rng = np.random.default_rng(seed)
    signs = rng.choice((-1.0, 1.0), size=(RESAMPLES, diffs.size))
    flipped = np.abs((signs * diffs).mean(axis=1))
    return float((np.sum(flipped >= observed - 1e-12) + 1) / (RESAMPLES + 1))
