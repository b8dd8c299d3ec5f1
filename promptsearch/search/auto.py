"""`auto`: a portfolio that splits the budget among strategies with a bandit.

Each arm is a strategy sharing one space, cache, budget and candidate pool, so a key found by
one arm is the carrier another arm mutates, and TPE learns from every arm's scores. The reward of
an arm's step is the rise of the best dev score it caused per LM call it cost (dev scoring + its
proposer calls). After the seed baselines and a few random draws (something to climb from),
every arm is tried once, cheapest first; then UCB1 on the mean reward picks. Racing is on by
default for `auto` (config.SearchSpec.racing_on), so a clearly worse candidate costs a third of
the dev set, not all of it.
"""

from __future__ import annotations

import math
from typing import Optional

from .base import Candidate, Strategy, rankable
from .components import add_paraphrases
from .llm_strategies import APEStrategy, EvolutionStrategy, OPROStrategy, ProTeGiStrategy
from .local_search import LocalSearch
from .random_search import RandomStrategy
from .tpe import TPEStrategy

EXPLORATION = 0.5
WARMUP_DRAWS = 3  # random keys scored before the bandit starts


class AutoStrategy(Strategy):
    name = "auto"

    def __init__(self, context):
        super().__init__(context)
        self.arms: list[Strategy] = []
        self.tpe: Optional[TPEStrategy] = None
        self.random: Optional[RandomStrategy] = None
        self.pulls: dict[str, int] = {}
        self.rewards: dict[str, float] = {}
        self.trial = context.first_trial
        self._pending: dict[int, tuple[Strategy, Optional[float], int]] = {}
        self._baselines: list = []

    def setup(self) -> None:
        add_paraphrases(self.context)
        self.random = RandomStrategy(self.context)
        self.tpe = TPEStrategy(self.context)
        self.arms = [LocalSearch(self.context), self.tpe]
        if self.context.proposer is not None:
            self.arms += [cls(self.context) for cls in
                          (APEStrategy, ProTeGiStrategy, OPROStrategy, EvolutionStrategy)]
        self.arms.append(self.random)
        for arm in self.arms:
            arm.enqueue_baselines = False
            arm.setup()
        self._baselines = self.random._queue  # the seeds, scored first as the baseline
        self.random._queue = []
        self.pulls = {arm.name: 0 for arm in self.arms}
        self.rewards = {arm.name: 0.0 for arm in self.arms}

    def ask(self) -> Optional[Candidate]:
        space = self.context.space
        if self._baselines:
            point = self._baselines.pop(0)
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
        if rankable(result) and arm is not self.tpe and self.tpe is not None:
            self.tpe.observe(candidate.point, result.score, candidate.origin)
        if arm is None:
            return
        arm.tell(candidate, result)
        calls = proposer_calls + (result.lm_calls if result is not None else 0)
        gain = 0.0
        if rankable(result):
            gain = result.score - (before or 0.0)
        self.pulls[arm.name] += 1
        self.rewards[arm.name] += max(0.0, gain) / max(1, calls) * 100

    def _choose(self) -> Strategy:
        if self.pulls[self.random.name] < WARMUP_DRAWS:
            return self.random
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
