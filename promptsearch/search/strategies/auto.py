"""`auto`: a portfolio that splits the budget among strategies with a bandit.

Each arm is a strategy sharing one space, cache, budget and candidate pool, so a key found by
one arm is the carrier another arm mutates, and TPE learns from every arm's scores. The reward of
an arm's step is the rise of the best dev score it caused per LM call it cost (dev scoring + its
proposer calls).

At a few hundred LM calls a search scores only 10-20 keys, so `auto` spends them where they pay
on small models: after the seed baselines it explores with draws from a prior over the space
(many demos drawn more often, the demo selections in turn, no key twice: PriorDraws) until
EXPLORE_SHARE of the budget is spent; then UCB1 on the mean reward picks among local search, TPE
and more prior draws.
The proposer-driven arms (APE, ProTeGi, OPRO, EvoPrompt) join from the start when the proposer is
a different model than the task model (a stronger writer), otherwise only once the cheap arms
stall: a small model paraphrasing its own prompts rarely beats a fresh draw (results/strategies.md).
Racing is on by default for `auto` (config.SearchSpec.racing_on), so a clearly worse candidate
costs a third of the dev set, not all of it.
"""

from __future__ import annotations

import math
from typing import Optional

from promptsearch.search.base import Candidate, Strategy, rankable
from promptsearch.search.components import add_paraphrases
from promptsearch.search.strategies.llm import (
    APEStrategy,
    EvolutionStrategy,
    OPROStrategy,
    ProTeGiStrategy,
)
from promptsearch.search.strategies.local import LocalSearch
from promptsearch.search.strategies.random import PriorDraws
from promptsearch.search.strategies.tpe import TPEStrategy

EXPLORATION = 0.5
EXPLORE_SHARE = 0.4  # of the LM-call budget spent on prior draws before the bandit starts
WARMUP_DRAWS = 3     # prior draws before the bandit when the budget has no LM-call limit
STALL = 4            # pulls without a new best dev score that let same-model proposer arms in


class AutoStrategy(Strategy):
    name = "auto"

    def __init__(self, context):
        super().__init__(context)
        self.arms: list[Strategy] = []
        self.tpe: Optional[TPEStrategy] = None
        self.random: Optional[PriorDraws] = None
        self.waiting: list[Strategy] = []  # proposer arms that join once the cheap arms stall
        self.since_gain = 0
        self.pulls: dict[str, int] = {}
        self.rewards: dict[str, float] = {}
        self.trial = context.run.first_trial
        self._pending: dict[int, tuple[Strategy, Optional[float], int]] = {}
        self._baselines: list = []

    def setup(self) -> None:
        add_paraphrases(self.context)
        self.random = PriorDraws(self.context)
        self.tpe = TPEStrategy(self.context)
        self.arms = [LocalSearch(self.context), self.tpe, self.random]
        context = self.context
        if context.proposer is not None:
            writers = [cls(context) for cls in
                       (APEStrategy, ProTeGiStrategy, OPROStrategy, EvolutionStrategy)]
            stronger = context.task_model is None or context.proposer is not context.task_model
            (self.arms if stronger else self.waiting).extend(writers)
        for arm in self.arms + self.waiting:
            arm.enqueue_baselines = False
            arm.setup()
        self._baselines = self.context.space.baselines()  # the seeds, scored first
        self.pulls = {arm.name: 0 for arm in self.arms + self.waiting}
        self.rewards = {arm.name: 0.0 for arm in self.arms + self.waiting}

    def ask(self) -> Optional[Candidate]:
        space = self.context.space
        point = self._baseline()
        if point is not None:
            candidate = Candidate(self.trial, space.key(point), space.origin(point), point)
            self._pending[id(candidate)] = (None, None, 0)
        else:
            arm = self._choose()
            before = self._best_score()
            calls_before = self._spent_calls()
            candidate = arm.ask()
            if candidate is None:
                return None
            proposer_calls = self._spent_calls() - calls_before
            candidate.trial = self.trial
            self._pending[id(candidate)] = (arm, before, proposer_calls)
        self.trial += 1
        return candidate

    def _baseline(self):
        """The seed baseline of this trial, if any: the seeds are trials 0, 1, ... of the run,
        in one process as in a shared run's workers, so a resumed run skips the recorded ones.
        (The bandit's statistics start afresh on resume: a resumed `auto` run goes on from the
        recorded pool, not along the uninterrupted run's path.)"""
        trial = self.trial if self.context.run.trial is None else self.context.run.trial
        return self._baselines[trial] if trial < len(self._baselines) else None

    def tell(self, candidate: Candidate, result) -> None:
        arm, before, proposer_calls = self._pending.pop(id(candidate), (None, None, 0))
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
        if not self._exploring():  # a stall is the bandit's cheap arms finding nothing
            self.since_gain = 0 if gain > 0 else self.since_gain + 1

    def _exploring(self) -> bool:
        meter = self.context.meter
        if meter is None or meter.lm_calls is None:
            return self.pulls[self.random.name] < WARMUP_DRAWS
        return meter.calls_spent() < EXPLORE_SHARE * meter.lm_calls

    def _choose(self) -> Strategy:
        if self._exploring():
            return self.random
        if self.waiting and self.since_gain >= STALL:
            self.arms.extend(self.waiting)
            self.waiting = []
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

    def heartbeat(self) -> None:
        if self.tpe is not None:
            self.tpe.heartbeat()

    def close(self) -> None:
        for arm in self.arms + self.waiting:
            arm.close()
