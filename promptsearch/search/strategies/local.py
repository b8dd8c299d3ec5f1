"""Local search: change one or two components of a good key found so far (no proposer calls).

On small models the demos, their count and the layout move the score more than the wording of
the instruction, so climbing from the best keys by cheap component changes is often the most
score per LM call; `auto` keeps it as one arm among the others."""

from __future__ import annotations

import random
from typing import Optional

from promptsearch.search.space import Point
from promptsearch.search.strategies.proposing import ProposingStrategy

TOURNAMENT = 2
TOP = 5
TRIES = 8        # mutations tried before settling for a key the run has scored already
DOUBLE_STEP = 0.3  # chance of a second component change: a way out of a local optimum


class LocalSearch(ProposingStrategy):
    name = "local"
    enqueue_baselines = False

    def propose(self, rng: random.Random) -> Optional[Point]:
        top = [s for s in self.context.pool.top(TOP) if s.candidate.point is not None]
        if not top:
            return None
        parent = max(rng.sample(top, min(TOURNAMENT, len(top))), key=lambda s: s.score)
        space, seen = self.context.space, self.context.pool.seen
        child = parent.candidate.point
        for _ in range(TRIES):
            child = self.mutate(parent.candidate.point, rng)
            if rng.random() < DOUBLE_STEP:
                child = self.mutate(child, rng)
            if space.key(child).id not in seen:
                return child
        return child
