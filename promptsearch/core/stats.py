"""Uncertainty for scores measured on finite example sets, always with the task's own metric
(seeded, so reports reproduce).

- A score's interval: Wilson's for a mean of 0/1 scores (right for proportions and small n, and
  never of zero width: 100 of 100 gives [0.963, 1]); BCa bootstrap for a mean of graded scores;
  for corpus metrics (macro-F1, ...) BCa over examples resampled and the metric recomputed.
  Where BCa is undefined (every resample scores the same), Wilson's on the share of examples
  scored 1, which still has width.
- A paired comparison of two answer sets on the same examples (two keys, or a key now and as
  recorded): the difference in the metric, its paired BCa interval, and a permutation p-value
  (each example's two answers swapped at random), one- or two-sided.
- Holm's correction for the finalists' p-values against the seed (several keys are tested).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from scipy import stats

RESAMPLES = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class Answers:
    """One key's scored answers, aligned with `targets` (only examples with an answer)."""

    predictions: Sequence[Optional[str]]
    targets: Sequence[str]
    scores: Sequence[float]

    def __len__(self) -> int:
        return len(self.scores)


@dataclass(frozen=True)
class Comparison:
    delta: float      # metric(a) - metric(b)
    low: float
    high: float
    p_value: float
    examples: int


def score_interval(metric, answers: Answers, level: float = LEVEL,
                   seed: int = 0) -> tuple[float, float]:
    """The 95% interval of `metric` over these answers (see the module's notes)."""
    n = len(answers)
    if n == 0:
        return (0.0, 1.0)  # nothing measured: anything is possible
    values = np.asarray(answers.scores, dtype=float)
    if metric.corpus is None and np.isin(values, (0.0, 1.0)).all():
        return wilson(int(values.sum()), n, level)
    statistic = _metric_of_indices(metric, answers)
    low, high = _bca((np.arange(n),), statistic, level, seed)
    if np.isnan(low) or np.isnan(high):  # every resample scores the same
        return wilson(int(round(float(values.mean()) * n)), n, level)
    return (float(low), float(high))


def wilson(successes: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    interval = stats.binomtest(successes, n).proportion_ci(level, method="wilson")
    return (float(interval.low), float(interval.high))


def compare(metric, a: Answers, b: Answers, alternative: str = "two-sided",
            level: float = LEVEL, seed: int = 0) -> Comparison:
    """metric(a) - metric(b) on the same examples (a and b aligned), with a paired BCa interval
    and a paired permutation p-value. `alternative`: 'less' tests a < b, 'greater' a > b."""
    n = len(a)
    if n == 0:
        return Comparison(0.0, 0.0, 0.0, 1.0, 0)
    pooled = Answers(list(a.predictions) + list(b.predictions), a.targets,
                     list(a.scores) + list(b.scores))
    one = _metric_of_indices(metric, pooled)

    def difference(left, right, axis=-1):
        return one(left) - one(right)

    first, second = np.arange(n), np.arange(n, 2 * n)  # rows of `pooled`, example by example
    delta = float(difference(first, second))
    if delta == 0 and _same_everywhere(a, b):
        return Comparison(0.0, 0.0, 0.0, 1.0, n)
    test = stats.permutation_test((first, second), difference, permutation_type="samples",
                                  alternative=alternative, n_resamples=RESAMPLES,
                                  vectorized=False, rng=np.random.default_rng(seed))
    low, high = _bca((first, second), difference, level, seed, paired=True)
    if np.isnan(low) or np.isnan(high):
        low = high = delta
    return Comparison(delta, float(low), float(high), float(test.pvalue), n)


def holm(p_values: Sequence[Optional[float]]) -> list[Optional[float]]:
    """Holm's step-down adjustment (scipy has no Holm: its false_discovery_control is BH/BY):
    the i-th smallest of m p-values times (m - i), kept monotone and at most 1."""
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[Optional[float]] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(present):
        running = max(running, min(1.0, (len(present) - rank) * p))
        adjusted[index] = running
    return adjusted


def _metric_of_indices(metric, answers: Answers):
    """metric(answers at these example indices): per-example metrics average their scores,
    corpus metrics are recomputed from the predictions (targets follow the index mod n)."""
    scores = np.asarray(answers.scores, dtype=float)
    n = len(answers.targets)
    if metric.corpus is None:
        return lambda idx, axis=-1: float(scores[np.asarray(idx)].mean())

    def corpus(idx, axis=-1):
        idx = np.asarray(idx)
        return metric.aggregate([answers.predictions[i] for i in idx],
                                [answers.targets[i % n] for i in idx], list(scores[idx]))
    return corpus


def _bca(data, statistic, level: float, seed: int, paired: bool = False):
    with warnings.catch_warnings():  # degenerate data: BCa says so with a warning and NaN
        warnings.simplefilter("ignore")
        result = stats.bootstrap(data, statistic, method="BCa", paired=paired,
                                 vectorized=False, n_resamples=RESAMPLES,
                                 confidence_level=level, rng=np.random.default_rng(seed))
    return result.confidence_interval.low, result.confidence_interval.high


def _same_everywhere(a: Answers, b: Answers) -> bool:
    return list(a.scores) == list(b.scores) and list(a.predictions) == list(b.predictions)



def detectable_rise(n: int, base: float, alpha: float = 0.05,
                    power: float = 0.8) -> Optional[float]:
    """The smallest rise over a 0/1 score `base` that a one-sided paired test on `n` shared
    examples finds (p < alpha) with probability `power`; None if no rise up to a perfect score
    is found that often.

    For 0/1 scores the run's paired permutation test is the exact sign test on the discordant
    examples (one key right, the other wrong). The two keys' errors are assumed independent: a
    key at base + d beats one at `base` on (base + d)(1 - base) of the examples and loses on
    base(1 - base - d). The power is exact: each count of discordant examples weighted by its
    binomial chance, and the sign test's own rejection region for that count."""
    if n < 1 or not 0 <= base < 1:
        return None
    discordant = np.arange(n + 1)
    # The fewest wins among D discordant examples that a one-sided sign test calls significant.
    needed = stats.binom.isf(alpha, discordant, 0.5) + 1

    def power_at(rise: float) -> float:
        wins, losses = (base + rise) * (1 - base), base * (1 - base - rise)
        weights = stats.binom.pmf(discordant, n, wins + losses)
        found = stats.binom.sf(needed - 1, discordant, wins / (wins + losses))
        return float(np.nansum(weights * found))

    if power_at(1 - base) < power:
        return None
    low, high = 0.0, 1 - base
    for _ in range(30):  # bisection: the power grows with the rise
        middle = (low + high) / 2
        low, high = (middle, high) if power_at(middle) < power else (low, middle)
    return high
