"""The search loop, built only on Strategy.ask/tell, the Evaluator and the budget meter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from promptsearch.core.key import PromptKey
from promptsearch.core.states import CandidateStatus, Stop, StopReason
from promptsearch.evaluation.budget import BudgetMeter
from promptsearch.evaluation.evaluate import KeyScore
from promptsearch.search.base import Candidate, Strategy, rankable

MAX_REPEATS = 50  # consecutive already-scored keys before a strategy is deemed converged
ERROR_RATE_MIN_CALLS = 20  # judge the error rate only on a meaningful number of calls
PERFECT = 1 - 1e-9  # metric scores lie in [0, 1]; a mean of ones may round below 1


@dataclass
class TrialResult:
    candidate: Candidate
    score: KeyScore
    best_score: Optional[float]


class Observer:
    """Progress hooks; the CLI renders them, the library ignores them."""

    def on_start(self, meter: BudgetMeter, best: Optional[float] = None) -> None:
        """The run's budget meter exists: spending and failed calls can be read live. `best`:
        the best dev score a resumed run had found before."""

    def on_phase(self, phase: str, examples: Optional[int] = None) -> None:
        """A new phase began: 'proposing', 'searching', 'retrying', 'confirming', 'testing
        N/M' (with the examples it scores), 'done'."""

    def on_answer(self) -> None:
        """An example of a testing phase was answered."""

    def on_trial(self, result: TrialResult, meter: BudgetMeter) -> None:
        """A candidate was scored on dev."""


def optimize(strategy: Strategy, score_dev, meter: BudgetMeter, store, run_id: str,
             observer: Observer, max_error_rate: Optional[float] = None,
             stop_at_perfect: bool = True) -> Stop:
    """Ask, score on dev (`score_dev(key)`: plain or racing), tell, until the budget or the
    strategy is done, a key is perfect on dev (with stop_at_perfect), or (with max_error_rate)
    too many calls fail. Returns why it stopped."""
    return SearchLoop(strategy, score_dev, meter, store, run_id, observer,
                      max_error_rate, stop_at_perfect).run()


class SearchLoop:
    """The loop of one process; a worker of a shared run overrides how a trial begins (a
    reservation in the shared budget) and ends."""

    def __init__(self, strategy: Strategy, score_dev, meter: BudgetMeter, store, run_id: str,
                 observer: Observer, max_error_rate: Optional[float] = None,
                 stop_at_perfect: bool = True):
        self.strategy, self.score_dev, self.meter = strategy, score_dev, meter
        self.store, self.run_id, self.observer = store, run_id, observer
        self.errors = ErrorRate(max_error_rate)
        self.stop_at_perfect = stop_at_perfect
        self.best: Optional[float] = None
        self.repeats = 0

    def run(self) -> Stop:
        while self.meter.can_start_trial():
            stop = self.saturated()
            if stop:
                return stop
            candidate = self.next_candidate()
            if candidate is None:
                return Stop(StopReason.STRATEGY_FINISHED)
            stop = self.trial(candidate)
            if stop:
                return stop
        return Stop(StopReason.BUDGET, self.meter.exhausted_by() or "trials")

    def saturated(self) -> Optional[Stop]:
        return dev_saturated(self.strategy.context.pool) if self.stop_at_perfect else None

    def next_candidate(self) -> Optional[Candidate]:
        return self.strategy.ask()

    def trial(self, candidate: Candidate, tell: bool = True) -> Optional[Stop]:
        """Score one candidate on dev and record it; a reason to stop, or None. `tell`: the
        strategy asked for it (a worker also finishes keys a dead worker left)."""
        self.store.put_key(candidate.key.id, candidate.key.to_dict())
        try:
            result = self.score_dev(candidate.key)
        except KeyboardInterrupt:
            if tell:
                self.strategy.tell(candidate, None)
            raise
        self.meter.spent.trials += 1
        self.record(candidate, result)
        self.strategy.context.pool.add(candidate, result)
        if tell:
            self.strategy.tell(candidate, result)
        if rankable(result) and (self.best is None or result.score > self.best):
            self.best = result.score
        self.observer.on_trial(TrialResult(candidate, result, self.best), self.meter)
        self.repeats = self.repeats + 1 if result.lm_calls == 0 else 0
        if not result.complete:
            return Stop(StopReason.BUDGET, self.meter.exhausted_by() or "limit")
        if self.repeats >= MAX_REPEATS:
            return Stop(StopReason.CONVERGED)
        if self.errors.add(result):
            return self.errors.reason()
        return None

    def record(self, candidate: Candidate, result: KeyScore) -> None:
        """The candidate's row and the run's spending, in one transaction."""
        record_candidate(self.store, self.run_id, candidate, result, self.meter.snapshot())


def dev_saturated(pool) -> Optional[Stop]:
    """Why to stop once the best key scored perfectly on dev, else None. Ties go to the earliest
    trial, so no later key could take its place: the rest of the budget would buy only ties
    (on a 15-example dev set, most of a 300-call budget was spent this way: docs/benchmarks.md).
    A larger dev set is what tells such keys apart, so the reason says so."""
    best = pool.best()
    if best is None or best.score < PERFECT:
        return None
    return Stop(StopReason.DEV_SATURATED,
                f"(trial {best.candidate.trial} answered all {best.result.examples} dev examples "
                "right; a larger data.dev_size would tell keys apart)")


class ErrorRate:
    """Share of dev calls that ended in an error after the LM's retries."""

    def __init__(self, limit: Optional[float]):
        self.limit, self.calls, self.errors = limit, 0, 0

    def add(self, result: KeyScore) -> bool:
        """Count a result's calls; True when the run should stop."""
        self.calls += len(result.scores)
        self.errors += result.errors
        return (self.limit is not None and self.calls >= ERROR_RATE_MIN_CALLS
                and self.errors > self.limit * self.calls)

    def reason(self) -> Stop:
        return Stop(StopReason.ERROR_RATE,
                    f"{self.errors}/{self.calls} above search.max_error_rate {self.limit:g}")


def candidate_status(result: KeyScore) -> CandidateStatus:
    """pruned (racing stopped it), complete (rankable), incomplete (every example asked, some
    calls failed), failed (every call failed), partial (the budget ran out part-way)."""
    if result.pruned:
        return CandidateStatus.PRUNED
    if rankable(result):
        return CandidateStatus.COMPLETE
    if not result.complete:
        return CandidateStatus.PARTIAL
    return CandidateStatus.FAILED if result.score is None else CandidateStatus.INCOMPLETE


def record_candidate(store, run_id: str, candidate: Candidate, result: KeyScore,
                     spent: Optional[dict] = None) -> None:
    store.add_candidate(
        spent=spent, run_id=run_id, trial=candidate.trial, key_id=candidate.key.id,
        origin=candidate.origin, **_scored(result), lm_calls=result.lm_calls,
        tokens=result.tokens, seconds=round(result.seconds, 3))


def _scored(result: KeyScore) -> dict:
    return {"status": candidate_status(result).value, "dev_score": result.score,
            "examples": result.examples, "errors": result.errors,
            "unparseable": result.unparseable}


def retry_failed_calls(store, run_id: str, evaluator, dev, pool) -> int:
    """After the search: ask again the dev calls that failed (the API may be back), key by key,
    and rank the keys that now have every answer. Stops at the first key whose failed calls
    all fail again (the API is still down: asking on would only wait). Outside the budget: it
    repeats no more calls than failed. Returns the calls asked."""
    asked = 0
    for row in store.list_candidates(run_id):
        if not CandidateStatus(row["status"]).retryable:
            continue
        key = PromptKey.from_dict(store.get_key(row["key_id"]))
        result = evaluator.score(key, dev, "dev", meter=None)
        asked += result.lm_calls
        store.update_candidate(run_id, row["trial"], **_scored(result))
        if rankable(result):
            pool.add(Candidate(row["trial"], key, row["origin"]), result)
        elif result.errors >= row["errors"]:
            break
    return asked


def incomplete_keys(store, run_id: str) -> int:
    """Candidates still short of an answer (never ranked)."""
    return sum(CandidateStatus(c["status"]).retryable for c in store.list_candidates(run_id))
