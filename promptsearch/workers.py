"""Many processes, one run: `promptsearch worker` searches, `run --workers 0` coordinates.

Each worker runs its own copy of the strategy against the shared state in the store: trial
numbers and the LM-call budget come from promptsearch.shared_run, the call cache and every
evaluation are the store's, other workers' scores are read back into the candidate pool before
each ask, and a key is claimed before it is scored so no two workers score it at once. The
coordinator waits until the budget is spent (or every worker has stopped), then scores the
finalists on test and writes the lock file, like a one-process run.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .budget import BudgetMeter, Spent
from .errors import BudgetExhausted, InputError
from .evaluate import Evaluator
from .finalize import finalize, model_calls
from .key import PromptKey
from .runner import Prepared, RunResult, run_id_prefix
from .search import STRATEGIES, Candidate, Context
from .search.base import Pool
from .search.loop import (Observer, SearchLoop, incomplete_keys, record_candidate,
                          retry_failed_calls)
from .search.racing import make_scorer
from .shared_run import DECLARED_DEAD, SharedRun, Heartbeat, Turn
from .store import Store

HEARTBEAT_S = 5.0
WAIT_S = 0.2        # between tries to reserve while other workers hold the rest of the budget
POLL_S = 1.0        # the coordinator's look at the run
SINGLE_PROCESS = ("dspy-",)  # strategies that run another framework's optimizer in one process


@dataclass
class WorkerResult:
    run_id: str
    worker_id: str
    trials: int
    lm_calls: int
    stopped: str


class SharedBudget(BudgetMeter):
    """A worker's meter: calls come from reservations in the shared run (a whole dev set per
    trial, given back in part when the trial ends), so the run's budget holds across workers."""

    def __init__(self, shared_run: SharedRun, worker_id: str, trial_calls: int, budget):
        super().__init__(lm_calls=budget.lm_calls, minutes=budget.minutes, trials=budget.trials,
                         tokens=budget.tokens)
        self.shared_run, self.worker_id, self.trial_calls = shared_run, worker_id, trial_calls
        self.held = self.reserved = self.used = self.unsettled_tokens = 0
        self.limit: Optional[str] = None
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
            if status == "ok":
                return turn or Turn(-1)
            if status != "wait":
                self.limit = status
                return None
            time.sleep(WAIT_S)

    def declared_dead(self) -> None:
        """The run gave this worker's trial to another: stop at the next call (called from the
        heartbeat thread)."""
        self.limit = DECLARED_DEAD

    def take(self, proposer: bool = False, framework: bool = False) -> None:
        if self.limit == DECLARED_DEAD and not self.in_setup:
            raise BudgetExhausted(DECLARED_DEAD)
        with self._lock:
            if self.in_setup:
                self._take_in_setup(proposer, framework)
                return
            if self.held == 0:  # a call outside a trial (a proposer's): reserve it alone
                if self._reserve(1, trial=False) is None:
                    raise BudgetExhausted(self.limit)
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

    def setup(self, strategy) -> None:
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
        if self.limit == DECLARED_DEAD:
            return DECLARED_DEAD
        if self.held >= calls:
            return None
        if self.limit:
            return self.limit
        totals = self.shared_run.totals()
        if self.lm_calls is not None and totals["calls"] + totals["reserved"] + calls > \
                self.lm_calls:
            return "lm_calls"
        return None

    def can_start_trial(self) -> bool:
        return self.limit is None

    def calls_spent(self) -> int:
        return self.shared_run.totals()["calls"]


class WorkerLoop(SearchLoop):
    """The search loop of one worker: each trial is a reservation, a claim and a record."""

    def __init__(self, *args, shared_run: SharedRun, worker_id: str, evaluator: Evaluator,
                 dev, **kwargs):
        super().__init__(*args, **kwargs)
        self.shared_run, self.worker_id = shared_run, worker_id
        self.evaluator, self.dev = evaluator, tuple(dev)
        self.known: set[int] = set()  # trials already in the local pool

    def run(self) -> str:
        while True:
            turn = self.meter.begin_trial()
            if turn is None:
                limit = self.meter.limit
                return limit if limit == DECLARED_DEAD else f"budget: {limit}"
            try:
                stop = self._take_turn(turn)
            finally:
                self.meter.end_trial()
            if self.meter.limit == DECLARED_DEAD:
                return DECLARED_DEAD
            if stop:
                return stop

    def _take_turn(self, turn: Turn) -> Optional[str]:
        self._read_others()
        context = self.strategy.context
        self.known.add(turn.number)
        if turn.adopted_key:  # a dead worker's key: finish it (its answers are kept)
            key = PromptKey.from_dict(self.store.get_key(turn.adopted_key))
            candidate, asked = Candidate(turn.number, key, turn.adopted_origin), False
        else:
            context.trial = turn.number
            candidate, asked = self.strategy.ask(), True
            if candidate is None:
                return "strategy finished"
            candidate.trial = turn.number
            if not self.shared_run.claim(self.worker_id, candidate.key.id, turn.number,
                                         candidate.origin):
                self.strategy.tell(candidate, None)  # another worker is scoring this key now
                return None
        stop = self.trial(candidate, tell=asked)
        # Not on an error: the key is then adopted.
        self.shared_run.release(candidate.key.id, self.worker_id)
        return stop

    def _read_others(self) -> None:
        """Other workers' candidates into the local pool (read from the store, no model call)."""
        pool = self.strategy.context.pool
        for row in self.store.list_candidates(self.run_id):
            if row["trial"] in self.known:
                continue
            self.known.add(row["trial"])
            pool.seen.add(row["key_id"])
            if row["status"] == "complete":
                key = PromptKey.from_dict(self.store.get_key(row["key_id"]))
                pool.add(Candidate(row["trial"], key, row["origin"]),
                         self.evaluator.recorded(key, self.dev, "dev"))

    def record(self, candidate: Candidate, result) -> None:
        """The candidate alone: a worker's spending is settled in the shared run at the end of
        each trial. Not by a worker declared dead: the worker that adopted its key records it
        (a row cut short here would be the one kept)."""
        if self.meter.limit == DECLARED_DEAD:
            return
        record_candidate(self.store, self.run_id, candidate, result)


def check_shardable(prepared: Prepared) -> None:
    strategy = prepared.task.config.search.strategy
    if strategy.startswith(SINGLE_PROCESS):
        raise InputError(f"search.strategy: {strategy} runs DSPy's own optimizer in one process "
                         "and cannot be shared by workers (fix: run it without --workers, or "
                         "pick another strategy)", source=prepared.task.source)


def shared_run_id(store: Store, prepared: Prepared, explicit: Optional[str] = None) -> str:
    """The run to join: `explicit`, else the latest shared run of this task config and seed that
    is not finished, else a new one (whoever comes first creates it; the others join)."""
    if explicit:
        return explicit
    prefix = run_id_prefix(prepared.task, prepared.dataset.hash)
    numbers = sorted(int(r["id"].rsplit("-", 1)[1]) for r in store.list_runs(prepared.task.name)
                     if r["id"].startswith(prefix + "-"))
    if numbers:
        latest = f"{prefix}-{numbers[-1]}"
        row = SharedRun(store, latest).find()
        if row is not None and row["status"] != "finished":
            return latest
    return f"{prefix}-{(numbers[-1] + 1) if numbers else 1}"


def open_run(store: Store, prepared: Prepared, run_id: str) -> SharedRun:
    """Create the run (store row and shared row) or join it."""
    config = prepared.task.config
    store.create_run(id=run_id, task=prepared.task.name, model=config.model,
                     strategy=config.search.strategy, seed=config.search.seed,
                     config=config.model_dump(mode="json"), dataset_hash=prepared.dataset.hash)
    shared_run = SharedRun(store, run_id)
    shared_run.open(config.search.budget.model_dump(mode="json"))
    return shared_run


def work(prepared: Prepared, store: Store, *, run_id: Optional[str] = None,
         heartbeat_s: float = HEARTBEAT_S, observer: Optional[Observer] = None,
         concurrency: Optional[int] = None) -> WorkerResult:
    """Join (or start) the shared run of this task and search until its budget is spent."""
    check_shardable(prepared)
    run_id = shared_run_id(store, prepared, run_id)
    shared_run = open_run(store, prepared, run_id)
    if shared_run.row()["status"] != "searching":
        return WorkerResult(run_id, "", 0, 0, f"run {shared_run.row()['status']}")
    _warm_models(prepared)
    worker_id = shared_run.join(heartbeat_s)
    config = prepared.task.config
    meter = SharedBudget(shared_run, worker_id, len(prepared.dataset.dev), config.search.budget)
    meter.watch(prepared.lm.health, prepared.proposer.health)
    with Heartbeat(shared_run, worker_id, heartbeat_s,  # from the join on
                   on_declared_dead=meter.declared_dead) as heartbeat:
        evaluator = _evaluator(prepared, store, run_id, concurrency)
        context = Context(prepared.space, config.search.seed, prepared.proposer, meter,
                          store.url, run_id, dev=prepared.dataset.dev, task_model=prepared.lm,
                          metric=prepared.metric, heartbeat_s=heartbeat_s)
        strategy = STRATEGIES[config.search.strategy](context)
        heartbeat.also = getattr(strategy, "heartbeat", None)
        stopped, state = "interrupted", "dead"  # killed or failed: its claims get adopted
        try:
            meter.setup(strategy)
            scorer = make_scorer(config.search.racing_on(), evaluator, prepared.dataset.dev,
                                 context.pool, meter)
            loop = WorkerLoop(strategy, scorer, meter, store, run_id, observer or Observer(),
                              config.search.max_error_rate, shared_run=shared_run,
                              worker_id=worker_id, evaluator=evaluator, dev=prepared.dataset.dev)
            stopped = loop.run()
            state = "dead" if stopped == DECLARED_DEAD else "done"
        finally:
            strategy.close()
            meter.end_trial()
            meter.spent.model_calls = model_calls(prepared)
            shared_run.leave(worker_id, {**meter.snapshot(), "stopped": stopped}, state)
    return WorkerResult(run_id, worker_id, meter.spent.trials, meter.spent.lm_calls, stopped)


def _warm_models(prepared: Prepared) -> None:
    for lm in {id(lm): lm for lm in (prepared.lm, prepared.proposer) if lm}.values():
        lm.warm()


def _evaluator(prepared: Prepared, store: Store, run_id: str,
               concurrency: Optional[int] = None) -> Evaluator:
    return Evaluator(prepared.lm, prepared.metric, store, run_id, max_tokens=prepared.max_tokens,
                     concurrency=concurrency or prepared.task.config.lm.concurrency
                     or prepared.lm.default_concurrency)


def coordinate(prepared: Prepared, store: Store, results_dir: Path, *,
               run_id: Optional[str] = None, observer: Optional[Observer] = None,
               workers: int = 0, worker_args: tuple[str, ...] = (),
               promote: str = "significant") -> RunResult:
    """Create or join the shared run, start `workers` local worker processes (`promptsearch
    worker` with `worker_args`), wait for the search to end, then score the finalists on test
    and write the lock file."""
    check_shardable(prepared)
    run_id = shared_run_id(store, prepared, run_id)
    shared_run = open_run(store, prepared, run_id)
    observer = observer or Observer()
    observer.on_phase("waiting")
    processes = [_start_worker(worker_args, run_id) for _ in range(workers)]
    try:
        stopped = _wait(shared_run, processes)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
    shared_run.set_status("finalizing")
    evaluator = _evaluator(prepared, store, run_id)
    _finish_orphans(shared_run, store, evaluator, prepared.dataset.dev)
    meter = _run_totals(shared_run)
    meter.watch(prepared.lm.health, prepared.proposer.health)
    observer.on_phase("retrying")  # the workers' failed dev calls, asked again
    meter.spent.error_retry_calls = retry_failed_calls(store, run_id, evaluator,
                                                       prepared.dataset.dev, Pool())
    meter.spent.incomplete_keys = incomplete_keys(store, run_id)
    observer.on_phase("testing")
    result = finalize(prepared, store, results_dir, run_id, evaluator, meter, stopped, observer,
                      promote=promote)
    shared_run.set_status("finished")
    return result


def _start_worker(worker_args: tuple[str, ...], run_id: str) -> subprocess.Popen:
    """A `promptsearch worker TASK [options]` child process, pinned to the run."""
    args = [sys.executable, "-m", "promptsearch.cli", "worker", *worker_args, "--run", run_id,
            "--quiet"]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL)


def _wait(shared_run: SharedRun, processes: list[subprocess.Popen]) -> str:
    """Until a worker has stopped for good and none is live (while only dead workers have
    joined, the run waits for more)."""
    while True:
        rows = shared_run.list_workers()
        totals = shared_run.totals()
        if any(r["state"] == "done" for r in rows) and totals["live"] == 0:
            return _stop_reason(rows)
        if processes and all(p.poll() is not None for p in processes) and totals["live"] == 0:
            return "workers exited"
        time.sleep(POLL_S)


def _finish_orphans(shared_run: SharedRun, store: Store, evaluator: Evaluator, dev) -> None:
    """Keys a dead worker left half-scored when no worker was left to take them over: the
    coordinator finishes them (answers already recorded or cached cost no model call), so no
    result is missing. Their calls were reserved, and counted, by the dead worker."""
    for claim in shared_run.list_claims():
        if claim["state"] != "running":
            continue
        key = PromptKey.from_dict(store.get_key(claim["key_id"]))
        result = evaluator.score(key, dev, "dev", meter=None)
        record_candidate(store, shared_run.run_id,
                         Candidate(claim["trial"], key, claim["origin"]), result)
        shared_run.release(claim["key_id"])


def _stop_reason(rows: list[dict]) -> str:
    """Why the search ended, as the workers that stopped for good saw it."""
    reasons = [r["spent"].get("stopped", "") for r in rows if r["state"] == "done"]
    return next((r for r in reasons if r.startswith("budget")), reasons[0] if reasons else
                "workers stopped")


def _run_totals(shared_run: SharedRun) -> BudgetMeter:
    """A meter holding what every worker spent, for the lock file."""
    rows = shared_run.list_workers()
    meter = BudgetMeter()
    totals, errors = Spent(), Counter()
    for row in rows:
        for name, value in (row["spent"] or {}).items():
            if name == "errors":
                errors.update(value)
            elif name != "seconds" and hasattr(totals, name):
                setattr(totals, name, getattr(totals, name) + value)
    totals.lm_calls = sum(r["calls"] for r in rows)  # settled, including dead workers' holds
    meter.spent, meter.errors_before = totals, dict(errors)  # (+ the coordinator's own)
    meter.elapsed_before = time.time() - shared_run.row()["created_at"]
    meter.started = time.monotonic()
    return meter
