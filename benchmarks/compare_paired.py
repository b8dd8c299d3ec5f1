"""Per-example test scores of the compare benchmark's contenders, and the paired comparison of
`auto` against the best DSPy optimizer that they allow.

Every contender answers the same test examples, so two contenders' scores pair up example by
example; a paired test tells apart smaller differences than two separate ±0.1 intervals can.
test_scores.csv holds one row per compare row: the task's metric, a fingerprint of the test
examples in order (rows pair only when theirs match) and the per-example scores, space-separated
("-" for an example the model never answered). Only per-example metrics are written: a corpus
metric (macro-F1, chrF) cannot be recomputed from scores alone.
"""

from __future__ import annotations

import hashlib
from typing import Optional

from promptsearch.core.metrics import Metric
from promptsearch.core.stats import Answers, compare

from .harness import append_row

SCORE_COLUMNS = ["task", "model", "contender", "seed", "budget", "metric", "examples", "scores"]
ROW_KEY = ("task", "model", "contender", "seed", "budget")
# ROW_KEY values -> (fingerprint of the test examples, their scores in order)
Scores = dict[tuple, tuple[str, list[Optional[float]]]]


def fingerprint(example_ids: list[str]) -> str:
    return hashlib.sha256("\n".join(example_ids).encode()).hexdigest()[:12]


def append_scores(path, common: dict, metric: Metric, example_ids: list[str],
                  by_example: dict[str, Optional[float]]) -> bool:
    """Write a contender's per-example test scores in test order; False (nothing written) for
    a corpus metric."""
    if metric.corpus is not None:
        return False
    cells = ["-" if by_example.get(i) is None else f"{by_example[i]:g}" for i in example_ids]
    append_row(path, {**common, "metric": metric.name, "examples": fingerprint(example_ids),
                      "scores": " ".join(cells)}, SCORE_COLUMNS)
    return True


def read_scores(rows: list[dict]) -> Scores:
    """The per-example scores of test_scores.csv's rows."""
    return {tuple(row[c] for c in ROW_KEY): (row["examples"], [
        None if cell == "-" else float(cell) for cell in row["scores"].split()]) for row in rows}


def paired(scores: Scores, pairs: list[tuple[tuple, tuple]]) -> Optional[str]:
    """`a` minus `b` over every (a, b) pair of row keys (one pair per seed, pooled), with its
    paired 95% interval and permutation p-value; None when any pair lacks scores or the two
    rows did not answer the same test examples."""
    mine, theirs = [], []
    for a, b in pairs:
        if a not in scores or b not in scores or scores[a][0] != scores[b][0]:
            return None
        for left, right in zip(scores[a][1], scores[b][1]):
            if left is not None and right is not None:  # an LM error pairs with nothing
                mine.append(left)
                theirs.append(right)
    if not mine:
        return None
    # per-example metrics only are written, so the mean of the scores is the metric
    mean_of_scores = Metric("mean of per-example scores", per_example=None)
    result = compare(mean_of_scores, _scored(mine), _scored(theirs))
    return (f"{result.delta:+.2f} [{result.low:+.2f}, {result.high:+.2f}], "
            f"p={result.p_value:.2f} (n={result.examples})")


def _scored(scores: list[float]) -> Answers:
    """Answers known only by their scores (what a per-example metric's mean needs)."""
    return Answers([None] * len(scores), [""] * len(scores), scores)
