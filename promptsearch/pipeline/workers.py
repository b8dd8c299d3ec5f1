"""Many processes, one run: `promptsearch worker` searches, `run --workers 0` coordinates.

Each worker runs its own copy of the strategy against the shared state in the store: trial
numbers and the LM-call budget come from promptsearch.storage.shared_run, the call cache and
every evaluation are the store's, other workers' scores are read back into the candidate pool
before each ask, and a key is claimed before it is scored so no two workers score it at once.
The coordinator waits until the budget is spent (or every worker has stopped), then follows the
one-process run's path after the search (pipeline.session.after_search).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from promptsearch.core.key import PromptKey
from promptsearch.core.states import (
    DECLARED_DEAD,
    CandidateStatus,
    ClaimState,
    Reservation,
    SharedRunStatus,
    Stop,
    StopReason,
    WorkerState,
)
from promptsearch.errors import InputError
from promptsearch.evaluation.budget import BudgetMeter, Spent
from promptsearch.evaluation.evaluate import Evaluator
from promptsearch.evaluation.racing import make_scorer
from promptsearch.pipeline.prepare import Prepared, RunResult
from promptsearch.pipeline.session import (
    after_search,
    create_run,
    latest_run_number,
    make_context,
    make_evaluator,
)
from promptsearch.pipeline.shared_budget import SharedBudget
from promptsearch.search.base import Candidate, Liveness, Pool, RunState
from promptsearch.search.loop import Observer, SearchLoop, record_candidate
from promptsearch.search.registry import STRATEGIES
from promptsearch.storage.shared_run import MISSED_HEARTBEATS, Heartbeat, SharedRun, Turn
from promptsearch.storage.store import Store

HEARTBEAT_S = 5.0
POLL_S = 1.0        # the coordinator's look at the run
SINGLE_PROCESS = ("dspy-",)  # strategies that run another framework's optimizer in one process


@dataclass
class WorkerResult:
    run_id: str
    worker_id: str
    trials: int
    lm_calls: int
    stopped: str


class WorkerLoop(SearchLoop):
    """The search loop of one worker: each trial is a reservation, a claim and a record."""

    def __init__(self, *args, shared_run: SharedRun, worker_id: str, evaluator: Evaluator,
                 dev, **kwargs):
        super().__init__(*args, **kwargs)
        self.shared_run, self.worker_id = shared_run, worker_id
        self.evaluator, self.dev = evaluator, tuple(dev)
        self.known: set[int] = set()  # trials already in the local pool

    def run(self) -> Stop:
        while True:
            turn = self.meter.begin_trial()
            if turn is None:
                return self._dead_or(Stop(StopReason.BUDGET, str(self.meter.limit)))
            try:
                stop = self._take_turn(turn)
            finally:
                self.meter.end_trial()
            stop = self._dead_or(stop)
            if stop:
                return stop

    def _dead_or(self, stop: Optional[Stop]) -> Optional[Stop]:
        return DECLARED_DEAD if self.meter.limit is Reservation.DECLARED_DEAD else stop

    def _take_turn(self, turn: Turn) -> Optional[Stop]:
        self._read_others()
        context = self.strategy.context
        saturated = self.saturated()  # another worker's key may be perfect
        if saturated:
            return saturated
        self.known.add(turn.number)
        if turn.adopted_key:  # a dead worker's key: finish it (its answers are kept)
            key = PromptKey.from_dict(self.store.get_key(turn.adopted_key))
            candidate, asked = Candidate(turn.number, key, turn.adopted_origin), False
        else:
            context.run.trial = turn.number
            candidate, asked = self.strategy.ask(), True
            if candidate is None:
                return Stop(StopReason.STRATEGY_FINISHED)
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
            if row["status"] == CandidateStatus.COMPLETE:
                key = PromptKey.from_dict(self.store.get_key(row["key_id"]))
                pool.add(Candidate(row["trial"], key, row["origin"]),
                         self.evaluator.recorded(key, self.dev, "dev"))

    def record(self, candidate: Candidate, result) -> None:
        """The candidate alone: a worker's spending is settled in the shared run at the end of
        each trial. Not by a worker declared dead: the worker that adopted its key records it
        (a row cut short here would be the one kept)."""
        if self.meter.limit is Reservation.DECLARED_DEAD:
            return
        record_candidate(self.store, self.run_id, candidate, result)


def check_shardable(prepared: Prepared) -> None:
    strategy = prepared.task.config.search.strategy
    if strategy.startswith(SINGLE_PROCESS):
        raise InputError(f"search.strategy: {strategy} runs DSPy's own optimizer in one process "
                         "and cannot be shared by workers (fix: run it without --workers, or "
                         "pick another strategy)", source=prepared.task.source)
    if prepared.metric.calls_per_answer or prepared.others:  # workers reserve one dev set's
        raise InputError("a judged or several-model task runs in one process for now",  # calls
                         field="--workers", source=prepared.task.source,
                         fix="run it without --workers")


def shared_run_id(store: Store, prepared: Prepared, explicit: Optional[str] = None) -> str:
    """The run to join: `explicit`, else the latest shared run of this task config and seed that
    is not finished, else a new one (whoever comes first creates it; the others join)."""
    if explicit:
        return explicit
    prefix, number = latest_run_number(store, prepared)
    if number:
        row = SharedRun(store, f"{prefix}-{number}").find()
        if row is not None and row["status"] != SharedRunStatus.FINISHED:
            return f"{prefix}-{number}"
    return f"{prefix}-{number + 1}"


def open_run(store: Store, prepared: Prepared, run_id: str) -> SharedRun:
    """Create the run (store row and shared row) or join it."""
    create_run(store, prepared, run_id)
    shared_run = SharedRun(store, run_id)
    shared_run.open(prepared.task.config.search.budget.model_dump(mode="json"))
    return shared_run


def work(prepared: Prepared, store: Store, *, run_id: Optional[str] = None,
         heartbeat_s: float = HEARTBEAT_S, observer: Optional[Observer] = None,
         concurrency: Optional[int] = None) -> WorkerResult:
    """Join (or start) the shared run of this task and search until its budget is spent."""
    check_shardable(prepared)
    run_id = shared_run_id(store, prepared, run_id)
    shared_run = open_run(store, prepared, run_id)
    status = shared_run.row()["status"]
    if status != SharedRunStatus.SEARCHING:
        return WorkerResult(run_id, "", 0, 0, str(Stop(StopReason.RUN_CLOSED, status)))
    _warm_models(prepared)
    worker_id = shared_run.join(heartbeat_s)
    meter = SharedBudget(shared_run, worker_id, len(prepared.dataset.dev),
                         prepared.task.config.search.budget)
    with Heartbeat(shared_run, worker_id, heartbeat_s,  # from the join on
                   on_declared_dead=meter.declared_dead) as heartbeat:
        evaluator = make_evaluator(prepared, store, run_id, concurrency)
        context = make_context(prepared, meter, store, run_id,
                               RunState(liveness=Liveness(heartbeat_s, MISSED_HEARTBEATS)))
        strategy = STRATEGIES[prepared.task.config.search.strategy](context)
        heartbeat.also = getattr(strategy, "heartbeat", None)
        stop, state = Stop(StopReason.INTERRUPTED), WorkerState.DEAD  # killed or failed: its
        try:                                                   # claims get adopted
            meter.setup(strategy)
            stop = _search(prepared, store, run_id, evaluator, strategy, meter, shared_run,
                           worker_id, observer)
            state = WorkerState.DEAD if stop == DECLARED_DEAD else WorkerState.DONE
        finally:
            strategy.close()
            meter.end_trial()
            meter.spent.model_calls = prepared.model_calls()
            shared_run.leave(worker_id, {**meter.snapshot(), "stopped": str(stop)}, state)
    return WorkerResult(run_id, worker_id, meter.spent.trials, meter.spent.lm_calls, str(stop))


def _search(prepared, store, run_id, evaluator, strategy, meter, shared_run, worker_id,
            observer) -> Stop:
    search = prepared.task.config.search
    scorer = make_scorer(search.racing_on(), evaluator, prepared.dataset.dev,
                         strategy.context.pool, meter)
    loop = WorkerLoop(strategy, scorer, meter, store, run_id, observer or Observer(),
                      search.max_error_rate, search.stop_at_perfect_dev,
                      shared_run=shared_run, worker_id=worker_id,
                      evaluator=evaluator, dev=prepared.dataset.dev)
    return loop.run()


def _warm_models(prepared: Prepared) -> None:
    for lm in {id(lm): lm for lm in (prepared.lm, prepared.proposer) if lm}.values():
        lm.warm()


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
        stop = _wait(shared_run, processes)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
    shared_run.set_status(SharedRunStatus.FINALIZING)
    evaluator = make_evaluator(prepared, store, run_id)
    _finish_orphans(shared_run, store, evaluator, prepared.dataset.dev)
    meter = _run_totals(shared_run)
    meter.watch(*(lm.health for lm in prepared.models()))
    result = after_search(prepared, store, results_dir, run_id, evaluator, meter, stop, observer,
                          pool=Pool(), promote=promote)
    shared_run.set_status(SharedRunStatus.FINISHED)
    return result


def _start_worker(worker_args: tuple[str, ...], run_id: str) -> subprocess.Popen:
    """A `promptsearch worker TASK [options]` child process, pinned to the run."""
    args = [sys.executable, "-m", "promptsearch.cli", "worker", *worker_args, "--run", run_id,
            "--quiet"]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL)


def _wait(shared_run: SharedRun, processes: list[subprocess.Popen]) -> Stop:
    """Until a worker has stopped for good and none is live (while only dead workers have
    joined, the run waits for more)."""
    while True:
        rows = shared_run.list_workers()
        totals = shared_run.totals()
        if any(r["state"] == WorkerState.DONE for r in rows) and totals["live"] == 0:
            return _stop_reason(rows)
        if processes and all(p.poll() is not None for p in processes) and totals["live"] == 0:
            return Stop(StopReason.WORKERS_EXITED)
        time.sleep(POLL_S)


def _finish_orphans(shared_run: SharedRun, store: Store, evaluator: Evaluator, dev) -> None:
    """Keys a dead worker left half-scored when no worker was left to take them over: the
    coordinator finishes them (answers already recorded or cached cost no model call), so no
    result is missing. Their calls were reserved, and counted, by the dead worker."""
    for claim in shared_run.list_claims():
        if claim["state"] != ClaimState.RUNNING:
            continue
        key = PromptKey.from_dict(store.get_key(claim["key_id"]))
        result = evaluator.score(key, dev, "dev", meter=None)
        record_candidate(store, shared_run.run_id,
                         Candidate(claim["trial"], key, claim["origin"]), result)
        shared_run.release(claim["key_id"])


def _stop_reason(rows: list[dict]) -> Stop:
    """Why the search ended, as the workers that stopped for good saw it (a budget first)."""
    stops = [Stop.parse(r["spent"]["stopped"]) for r in rows
             if r["state"] == WorkerState.DONE and r["spent"].get("stopped")]
    budget = [stop for stop in stops if stop.reason is StopReason.BUDGET]
    return (budget or stops or [Stop(StopReason.WORKERS_STOPPED)])[0]


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
