"""Uniform random search over the component space: the control every strategy must beat."""

from __future__ import annotations

import random
from typing import Optional

from .base import Candidate, Strategy
from .components import add_paraphrases
from .space import DEMO_COUNTS, DEMO_SETS, Point


class RandomStrategy(Strategy):
    name = "random"

    def __init__(self, context):
        super().__init__(context)
        self._trial = context.first_trial
        self._queue: list[Point] = []

    def setup(self) -> None:
        add_paraphrases(self.context)
        self._queue = self.context.space.baselines()

    def ask(self) -> Optional[Candidate]:
        space = self.context.space
        point = self._queue.pop(0) if self._queue else self._draw(self._trial)
        candidate = Candidate(self._trial, space.key(point), space.origin(point), point)
        self._trial += 1
        return candidate

    def _draw(self, trial: int) -> Point:
        # Each draw derives from (seed, trial number) alone, so a rerun retraces it.
        rng = random.Random(f"random:{self.context.seed}:{trial}")
        space = self.context.space
        return Point(rng.randrange(len(space.instructions)), rng.randrange(len(space.formats)),
                     rng.choice(DEMO_COUNTS), rng.choice(space.selections),
                     rng.randrange(DEMO_SETS), rng.randrange(len(space.verbalizers)))

    def tell(self, candidate, result) -> None:
        """Random search learns nothing from scores."""
