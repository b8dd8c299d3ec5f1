"""A worker's budget meter in a shared run: calls come from reservations in the store."""

from __future__ import annotations

import time
from typing import Optional

from promptsearch.core.states import DECLARED_DEAD, Reservation
from promptsearch.errors import BudgetExhausted
from promptsearch.evaluation.budget import BudgetMeter
from promptsearch.search.base import Strategy
from promptsearch.storage.shared_run import SharedRun, Turn
from promptsearch.task.config import Budget

WAIT_S = 0.2  # between tries to reserve while other workers hold the rest of the budget


class SharedBudget(BudgetMeter):
    """A worker's meter: calls come from reservations in the shared run (a whole dev set per
    trial, given back in part when the trial ends), so the run's budget holds across workers."""

    def __init__(self, shared_run: SharedRun, worker_id: str, trial_calls: int,
                 budget: Budget):
        super().__init__(lm_calls=budget.lm_calls, minutes=budget.minutes, trials=budget.trials,
                         tokens=budget.tokens)
        self.shared_run, self.worker_id, self.trial_calls = shared_run, worker_id, trial_calls
        self.held = self.reserved = self.used = self.unsettled_tokens = 0
        self.limit: Optional[Reservation] = None
        self.in_setup = False  # set-up calls are counted here, then charged once per run

    def begin_trial(self) -> Optional[Turn]:
        """Reserve a trial's calls and take its number; None once the budget is spent."""
        turn = self._reserve(self.trial_calls, trial=True)
        if turn is not None:
            self.held = self.reserved = self.trial_calls
        return turn

    def end_trial(self) -> None:
        if self.reserved or self.unsettled_tokens:
            self.shared_run.settle(self.worker_id, self.reserved, self.used,
                                   self.unsettled_tokens, self.snapshot())
        self.held = self.reserved = self.used = self.unsettled_tokens = 0

    def _reserve(self, calls: int, trial: bool) -> Optional[Turn]:
        while True:
            status, turn = self.shared_run.reserve(self.worker_id, calls, trial)
            if status is Reservation.OK:
                return turn or Turn(-1)
            if status is not Reservation.WAIT:
                self.limit = status
                return None
            time.sleep(WAIT_S)

    def declared_dead(self) -> None:
        """The run gave this worker's trial to another: stop at the next call (called from the
        heartbeat thread)."""
        self.limit = Reservation.DECLARED_DEAD

    def take(self, proposer: bool = False, framework: bool = False, keep: int = 0) -> None:
        """One call from the trial's reservation (`keep` is always 0 here: tasks whose metric
        makes calls of its own run in one process, see workers.check_shardable)."""
        if self.limit is Reservation.DECLARED_DEAD and not self.in_setup:
            raise BudgetExhausted(str(DECLARED_DEAD))
        with self._lock:
            if self.in_setup:
                self._take_in_setup(proposer, framework)
                return
            if self.held == 0:  # a call outside a trial (a proposer's): reserve it alone
                if self._reserve(1, trial=False) is None:
                    raise BudgetExhausted(str(self.limit))
                self.held, self.reserved = 1, self.reserved + 1
            self.held -= 1
            self.used += 1
            self.spent.lm_calls += 1
            self.spent.proposer_calls += proposer
            self.spent.framework_calls += framework

    def _take_in_setup(self, proposer: bool, framework: bool) -> None:
        if self.lm_calls is not None and self.spent.lm_calls + 1 > self.lm_calls:
            raise BudgetExhausted("lm_calls")
        self.spent.lm_calls += 1
        self.spent.proposer_calls += proposer
        self.spent.framework_calls += framework

    def setup(self, strategy: Strategy) -> None:
        """Run the strategy's set-up (after the first worker's: then every call it makes is in
        the shared cache); its calls count once for the whole run."""
        self.shared_run.first_setup(self.worker_id)
        self.in_setup = True
        try:
            strategy.setup()
        finally:
            self.in_setup = False
        calls, proposer = self.spent.lm_calls, self.spent.proposer_calls
        if not self.shared_run.charge_setup(self.worker_id, calls):
            self.spent.lm_calls -= calls  # another worker's identical set-up was charged
            self.spent.proposer_calls -= proposer

    def record(self, tokens: int) -> None:
        super().record(tokens)
        self.unsettled_tokens += tokens

    def exhausted_by(self, calls: int = 1) -> Optional[str]:
        if self.limit is Reservation.DECLARED_DEAD:
            return str(DECLARED_DEAD)
        if self.held >= calls:
            return None
        if self.limit:
            return self.limit.value
        totals = self.shared_run.totals()
        if self.lm_calls is not None and totals["calls"] + totals["reserved"] + calls > \
                self.lm_calls:
            return "lm_calls"
        return None

    def can_start_trial(self) -> bool:
        return self.limit is None

    def calls_spent(self) -> int:
        return self.shared_run.totals()["calls"]
