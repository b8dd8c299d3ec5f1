"""One search run in one process: open the run, search within budget, then finalize."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from promptsearch.core.key import PromptKey
from promptsearch.core.states import CandidateStatus, RunStatus, Stop, StopReason
from promptsearch.errors import ModelUnavailable
from promptsearch.evaluation.budget import BudgetMeter
from promptsearch.evaluation.confirm import confirm, confirm_size, reserve
from promptsearch.evaluation.evaluate import Evaluator
from promptsearch.evaluation.racing import make_scorer
from promptsearch.pipeline.prepare import Prepared, RunResult
from promptsearch.pipeline.session import (
    after_search,
    make_context,
    make_evaluator,
    open_new_or_latest_run,
)
from promptsearch.search.base import Candidate, Context, RecordedTrial, RunState
from promptsearch.search.loop import Observer, optimize
from promptsearch.search.registry import STRATEGIES
from promptsearch.storage.store import Store
from promptsearch.task.config import TaskConfig


def execute(prepared: Prepared, store: Store, results_dir: Path, *, resume: bool = False,
            observer: Optional[Observer] = None, concurrency: Optional[int] = None,
            promote: str = "significant") -> RunResult:
    """Search, then finalize. `promote`: when the winner becomes a new version (versions.py)."""
    config = prepared.task.config
    observer = observer or Observer()
    run_id = open_new_or_latest_run(store, prepared, resume)
    meter = _meter(config, store.get_run(run_id) if resume else None)
    store.update_run(run_id, status=RunStatus.RUNNING.value)
    evaluator = make_evaluator(prepared, store, run_id, concurrency)
    context = make_context(prepared, meter, store, run_id, _resume_state(store, run_id, meter))
    _refill_pool(context, store, run_id, evaluator)
    best = context.pool.best()
    observer.on_start(meter, best.score if best is not None else None)
    try:
        stop = _search(prepared, store, run_id, evaluator, context, observer)
        return after_search(prepared, store, results_dir, run_id, evaluator, meter, stop,
                            observer, pool=context.pool, promote=promote,
                            confirm=lambda: _confirm(prepared, store, evaluator, run_id, meter,
                                                     stop, observer))
    except ModelUnavailable:
        store.update_run(run_id, status=RunStatus.STOPPED.value, spent=meter.snapshot())
        raise


def _search(prepared: Prepared, store: Store, run_id: str, evaluator: Evaluator,
            context: Context, observer: Observer) -> Stop:
    config, meter = prepared.task.config, context.meter
    strategy = STRATEGIES[config.search.strategy](context)
    stop = Stop(StopReason.INTERRUPTED)
    try:
        with meter.holding_back(reserve(_confirm_size(prepared))):
            observer.on_phase("proposing")
            strategy.setup()
            observer.on_phase("searching")
            score_dev = make_scorer(config.search.racing_on(), evaluator, prepared.dataset.dev,
                                    context.pool, meter)
            stop = optimize(strategy, score_dev, meter, store, run_id, observer,
                            config.search.max_error_rate, config.search.stop_at_perfect_dev)
    except KeyboardInterrupt:
        stop = Stop(StopReason.INTERRUPTED)
    finally:
        strategy.close()
        store.update_run(run_id, spent=meter.snapshot())
    if stop.reason is StopReason.ERROR_RATE:
        health = prepared.lm.health
        raise ModelUnavailable("error rate", f"{stop} at {prepared.lm.where} (last error: "
                                             f"{health.last_kind or 'none'})",
                               "check the model's server; rerun with --resume once it answers "
                               "(nothing recorded is lost)")
    return stop


def _confirm_size(prepared: Prepared) -> int:
    return confirm_size(prepared.task.config.search, len(prepared.dataset.pool))


def _confirm(prepared, store, evaluator, run_id, meter, stop: Stop, observer) -> dict:
    """The dev leaders' scores on held-back pool examples (none after an interrupt: the user
    asked to stop, and the winner is then chosen on dev alone)."""
    size = _confirm_size(prepared)
    if size == 0 or stop.reason is StopReason.INTERRUPTED:
        return {}
    observer.on_phase("confirming")
    try:
        return confirm(store, evaluator, run_id, prepared.dataset.pool, size,
                       prepared.task.config.search.seed, meter)
    except KeyboardInterrupt:
        return {}


def _resume_state(store: Store, run_id: str, meter: BudgetMeter) -> RunState:
    """On resume: number new trials after the recorded ones, and tell strategies the recorded
    rows. A key that was being scored when the process died has evaluations but no candidate
    row, and the budget snapshot predates them: count them as spent, as the uninterrupted run
    did."""
    recorded = store.list_candidates(run_id)
    scored = {c["key_id"] for c in recorded}
    orphans = store.evaluation_counts(run_id, "dev")
    meter.spent.lm_calls += sum(n for key, n in orphans.items() if key not in scored)
    return RunState(first_trial=max((c["trial"] for c in recorded), default=-1) + 1,
                    recorded={c["trial"]: RecordedTrial(c["key_id"], CandidateStatus(c["status"]),
                                                      c["dev_score"]) for c in recorded})


def _refill_pool(context: Context, store: Store, run_id: str, evaluator: Evaluator) -> None:
    """A resumed run's pool, from the recorded evaluations (no model call: every example is in
    the store)."""
    for row in store.ranked_candidates(run_id):
        key = PromptKey.from_dict(store.get_key(row["key_id"]))
        context.pool.add(Candidate(row["trial"], key, row["origin"]),
                         evaluator.score(key, context.dev, "dev", meter=None))


def _meter(config: TaskConfig, previous_run: Optional[dict]) -> BudgetMeter:
    budget = config.search.budget
    meter = BudgetMeter(lm_calls=budget.lm_calls, minutes=budget.minutes, trials=budget.trials,
                        tokens=budget.tokens)
    if previous_run:  # resuming: what the earlier session spent still counts
        spent = previous_run.get("spent") or {}
        for name in ("lm_calls", "tokens", "trials", "racing_saved", "error_retry_calls"):
            setattr(meter.spent, name, int(spent.get(name, 0)))
        # Strategy set-up is deterministic and replays its proposer (and DSPy) calls, taking them
        # from the budget again: so they are not carried over here.
        meter.spent.lm_calls -= int(spent.get("proposer_calls", 0))
        meter.spent.lm_calls -= int(spent.get("framework_calls", 0))
        meter.elapsed_before = float(spent.get("seconds", 0.0))
        meter.errors_before = dict(spent.get("errors") or {})
    return meter
