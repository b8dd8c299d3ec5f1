"""`auto`: a portfolio that splits the budget among strategies with a bandit.

Each arm is a strategy sharing one space, cache, budget and candidate pool, so a key found by
one arm is the carrier another arm mutates. The reward of an arm's step is the rise of the best
dev score it caused per LM call it cost (dev scoring + its proposer calls); arms are chosen by
UCB1 on the mean reward, after each has been tried once.
"""

from __future__ import annotations

import math
from typing import Optional

from .base import Candidate, Strategy, rankable
from .components import add_paraphrases
from .llm_strategies import APEStrategy, EvolutionStrategy, OPROStrategy, ProTeGiStrategy
from .proposing import default_carrier
from .space import Point
from .tpe import TPEStrategy

EXPLORATION = 0.5


class AutoStrategy(Strategy):
    name = "auto"

    def __init__(self, context):
        super().__init__(context)
        self.arms: list[Strategy] = []
        self.queue: list[Point] = []
        self.pulls: dict[str, int] = {}
        self.rewards: dict[str, float] = {}
        self.trial = context.first_trial
        self._pending: dict[int, tuple[Strategy, Optional[float], int]] = {}

    def setup(self) -> None:
        add_paraphrases(self.context)
        self.arms = [TPEStrategy(self.context)]
        if self.context.proposer is not None:
            self.arms += [cls(self.context) for cls in
                          (APEStrategy, OPROStrategy, ProTeGiStrategy, EvolutionStrategy)]
        for arm in self.arms:
            arm.enqueue_baselines = False
            arm.setup()
        self.pulls = {arm.name: 0 for arm in self.arms}
        self.rewards = {arm.name: 0.0 for arm in self.arms}
        space = self.context.space
        self.queue = space.baselines() + [default_carrier()]

    def ask(self) -> Optional[Candidate]:
        space = self.context.space
        if self.queue:
            point = self.queue.pop(0)
            candidate = Candidate(self.trial, space.key(point), space.origin(point), point)
            self._pending[self.trial] = (None, None, 0)
        else:
            arm = self._choose()
            before = self._best_score()
            calls_before = self._spent_calls()
            candidate = arm.ask()
            if candidate is None:
                return None
            proposer_calls = self._spent_calls() - calls_before
            candidate.trial = self.trial
            self._pending[self.trial] = (arm, before, proposer_calls)
        self.trial += 1
        return candidate

    def tell(self, candidate: Candidate, result) -> None:
        arm, before, proposer_calls = self._pending.pop(candidate.trial, (None, None, 0))
        if arm is None:
            return
        arm.tell(candidate, result)
        calls = proposer_calls + (result.lm_calls if result is not None else 0)
        gain = 0.0
        if rankable(result) and before is not None:
            gain = max(0.0, result.score - before)
        elif rankable(result) and before is None:
            gain = result.score
        self.pulls[arm.name] += 1
        self.rewards[arm.name] += gain / max(1, calls) * 100

    def _choose(self) -> Strategy:
        for arm in self.arms:
            if self.pulls[arm.name] == 0:
                return arm
        total = sum(self.pulls.values())

        def ucb(arm: Strategy) -> float:
            pulls = self.pulls[arm.name]
            return self.rewards[arm.name] / pulls + EXPLORATION * math.sqrt(
                2 * math.log(total) / pulls)

        return max(self.arms, key=ucb)

    def _best_score(self) -> Optional[float]:
        best = self.context.pool.best()
        return None if best is None else best.score

    def _spent_calls(self) -> int:
        meter = self.context.meter
        return 0 if meter is None else meter.spent.lm_calls

    def close(self) -> None:
        for arm in self.arms:
            arm.close()
