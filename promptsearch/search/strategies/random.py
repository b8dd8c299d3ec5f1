"""Uniform random search over the component space: the control every strategy must beat."""

from __future__ import annotations

import random
from typing import Optional

from promptsearch.search.base import Candidate, Strategy
from promptsearch.search.components import add_paraphrases
from promptsearch.search.space import DEMO_SETS, Point

REDRAWS = 8  # prior draws tried before settling for a key the run has scored already


class RandomStrategy(Strategy):
    name = "random"
    enqueue_baselines = True  # auto scores the baselines itself

    def __init__(self, context):
        super().__init__(context)
        self._trial = context.run.first_trial
        self._queue: list[Point] = []

    def setup(self) -> None:
        add_paraphrases(self.context)
        baselines = self.context.space.baselines() if self.enqueue_baselines else []
        self._queue = self.unreached(baselines)

    def ask(self) -> Optional[Candidate]:
        space = self.context.space
        if self.context.run.trial is not None:  # a worker: trial n asks what one process asks at n
            point = self._shared_point(self.context.run.trial)
        else:
            point = self._queue.pop(0) if self._queue else self._draw(self._trial)
        candidate = Candidate(self._trial, space.key(point), space.origin(point), point)
        self._trial += 1
        return candidate

    def _shared_point(self, trial: int) -> Point:
        baselines = self.context.space.baselines()
        if trial < len(baselines) and self.enqueue_baselines:
            return baselines[trial]
        return self._draw(trial)

    def _draw(self, trial: int) -> Point:
        # Each draw derives from (seed, trial number) alone, so a rerun retraces it.
        return self._point(random.Random(f"{self.name}:{self.context.seed}:{trial}"), trial)

    def _point(self, rng: random.Random, trial: int) -> Point:
        space = self.context.space
        return Point(rng.randrange(len(space.instructions)), rng.randrange(len(space.formats)),
                     self._demo_count(rng), self._selection(rng, trial),
                     rng.randrange(DEMO_SETS), rng.randrange(len(space.verbalizers)),
                     rng.randrange(len(space.reasonings)) if space.searches_reasoning() else 0)

    def _demo_count(self, rng: random.Random) -> int:
        return rng.choice(self.context.space.demo_counts)

    def _selection(self, rng: random.Random, trial: int) -> str:
        return rng.choice(self.context.space.selections)

    def tell(self, candidate, result) -> None:
        """Random search learns nothing from scores."""


class PriorDraws(RandomStrategy):
    """Random draws from a prior instead of the uniform: small base models follow examples far
    better than instructions (Brown et al., 2020), so many demos are drawn more often; every
    point keeps a non-zero chance.

    The demo selections take turns, trial by trial, rather than being drawn: which one wins
    depends on the task and on the rest of the key (with the seed prompt retrieved demos win on
    most tasks, results/demos_ab.md, yet the top first_word_letter keys that searches found used a
    fixed set), and in the few draws a search affords (one of 300 LM calls scores 10-20 keys
    in all, about 20 at 1000) a biased draw can leave a whole family unseen. A draw that lands
    on a key the run has scored is drawn again: the repeat would cost nothing but tell nothing
    either."""

    name = "prior"

    def _draw(self, trial: int) -> Point:
        rng = random.Random(f"{self.name}:{self.context.seed}:{trial}")
        point = self._point(rng, trial)
        for _ in range(REDRAWS):
            if self.context.space.key(point).id not in self.context.pool.seen:
                break
            point = self._point(rng, trial)
        return point

    def _demo_count(self, rng: random.Random) -> int:
        counts = self.context.space.demo_counts
        return rng.choices(counts, weights=prior_demo_weights(len(counts)))[0]

    def _selection(self, rng: random.Random, trial: int) -> str:
        selections = self.context.space.selections
        return selections[trial % len(selections)]


def prior_demo_weights(n_counts: int) -> list[int]:
    """1, 1, 2, 4, 6, 8, ...: for demo counts 0, 1, 2, 4, 8, 16, ... (more demos, more often)."""
    return [max(1, 2 * index - 2) for index in range(n_counts)]
