"""Racing: score a candidate on growing slices of dev (the same examples, in the same order, for
every candidate) and stop it once it is clearly worse than the incumbent on the paired examples.

"Clearly worse" is either certain (even all-correct on the rest of dev could not reach the
incumbent's score) or likely (a one-sided sign test over the paired examples, p < alpha)."""

from __future__ import annotations

from dataclasses import replace
from math import comb

from promptsearch.evaluation.evaluate import KeyScore

FRACTIONS = (1 / 3, 2 / 3, 1.0)
ALPHA = 0.1


class Racer:
    def __init__(self, evaluator, dev, pool, meter, fractions=FRACTIONS, alpha: float = ALPHA):
        self.evaluator, self.dev, self.pool, self.meter = evaluator, tuple(dev), pool, meter
        self.alpha = alpha
        self.sizes = sorted({max(1, round(len(self.dev) * f)) for f in fractions})

    def __call__(self, key) -> KeyScore:
        incumbent = self.pool.best()
        spent = {"lm_calls": 0, "tokens": 0, "seconds": 0.0}
        for size in self.sizes:
            result = self.evaluator.score(key, self.dev[:size], "dev", self.meter)
            for name in spent:
                spent[name] += getattr(result, name)
            last = size == len(self.dev)
            if not result.complete or last or self._clearly_worse(result, incumbent):
                pruned = result.complete and not last
                if pruned:
                    self.meter.spent.racing_saved += len(self.dev) - size
                return replace(result, pruned=pruned, **spent)
        raise AssertionError("the last slice is the whole dev set")

    def _clearly_worse(self, result: KeyScore, incumbent) -> bool:
        if incumbent is None or result.score is None:
            return False
        size, total = len(result.scores), len(self.dev)
        mine = [s for s in result.scores]
        theirs = incumbent.result.scores[:size]
        best_possible = (sum(s or 0.0 for s in mine) + (total - size)) / total
        if best_possible < incumbent.score:
            return True
        return sign_test_p(mine, theirs) < self.alpha


def sign_test_p(mine, theirs) -> float:
    """One-sided p-value that `mine` loses to `theirs` more often than chance, over pairs where
    both have a score and they differ."""
    losses = wins = 0
    for a, b in zip(mine, theirs):
        if a is None or b is None or a == b:
            continue
        losses, wins = losses + (a < b), wins + (a > b)
    trials = losses + wins
    if trials == 0:
        return 1.0
    return sum(comb(trials, k) for k in range(losses, trials + 1)) / 2 ** trials


def plain_scorer(evaluator, dev, meter):
    """Score every candidate on the whole dev set (racing off)."""
    return lambda key: evaluator.score(key, dev, "dev", meter)


def make_scorer(racing: bool, evaluator, dev, pool, meter):
    return Racer(evaluator, dev, pool, meter) if racing else plain_scorer(evaluator, dev, meter)
