"""The plumbing every run shares, whether one process searches or many workers do: run ids, the
run's row, the Evaluator and the strategy's Context, and what follows the search (failed calls
asked again, then the finalists scored and the lock written)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from promptsearch.core.states import Stop, StopReason
from promptsearch.evaluation.budget import BudgetMeter
from promptsearch.evaluation.evaluate import Evaluator
from promptsearch.evaluation.models import ModelsEvaluator
from promptsearch.pipeline.finalize import finalize
from promptsearch.pipeline.prepare import Prepared, RunResult, evaluator_for, run_id_prefix
from promptsearch.search.base import Context, Pool, RunState
from promptsearch.search.loop import Observer, incomplete_keys, retry_failed_calls
from promptsearch.storage.store import Store


def latest_run_number(store: Store, prepared: Prepared) -> tuple[str, int]:
    """The id prefix of this task config and data, and the highest run number under it (0:
    none yet)."""
    prefix = run_id_prefix(prepared.task, prepared.dataset.hash)
    numbers = [int(row["id"].rsplit("-", 1)[1]) for row in store.list_runs(prepared.task.name)
               if row["id"].startswith(prefix + "-")]
    return prefix, max(numbers, default=0)


def create_run(store: Store, prepared: Prepared, run_id: str) -> bool:
    """Insert the run's row; False when a run of that id exists (one atomic insert, so two
    processes never both create it)."""
    config = prepared.task.config
    return store.create_run(id=run_id, task=prepared.task.name, model=config.model_label(),
                            strategy=config.search.strategy, seed=config.search.seed,
                            config=config.model_dump(mode="json"),
                            dataset_hash=prepared.dataset.hash)


def open_new_or_latest_run(store: Store, prepared: Prepared, resume: bool) -> str:
    """A fresh numbered run, or with `resume` the latest run of the same config and seed. The
    number is taken by inserting the run row: two processes starting the same config at once
    each get their own run (the loser of a number tries the next), never one run between them."""
    prefix, number = latest_run_number(store, prepared)
    if resume and number:
        return f"{prefix}-{number}"
    while not create_run(store, prepared, f"{prefix}-{number + 1}"):
        number += 1
    return f"{prefix}-{number + 1}"


def make_evaluator(prepared: Prepared, store: Store, run_id: str,
                   concurrency: Optional[int] = None) -> Evaluator | ModelsEvaluator:
    return evaluator_for(prepared, store, run_id, concurrency=concurrency)


def make_context(prepared: Prepared, meter: BudgetMeter, store: Store, run_id: str,
                 run: Optional[RunState] = None) -> Context:
    """The strategy's view of the run; `run` carries resume or worker state."""
    run = run or RunState()
    run.storage_url, run.run_id = store.url, run_id
    meter.watch(*(lm.health for lm in prepared.models()))
    return Context(prepared.space, prepared.task.config.search.seed, prepared.proposer, meter,
                   dev=prepared.dataset.dev, task_model=prepared.lm, metric=prepared.metric,
                   run=run)


def after_search(prepared: Prepared, store: Store, results_dir: Path, run_id: str,
                 evaluator: Evaluator, meter: BudgetMeter, stop: Stop, observer: Observer, *,
                 pool: Pool, promote: str, confirm=None) -> RunResult:
    """Ask the search's failed dev calls again (not after an interrupt: the user asked to
    stop), then `confirm` (held-back examples, for the one-process run), then finalize."""
    if stop.reason is not StopReason.INTERRUPTED:
        observer.on_phase("retrying")
        meter.spent.error_retry_calls += retry_failed_calls(store, run_id, evaluator,
                                                            prepared.dataset.dev, pool)
    meter.spent.incomplete_keys = incomplete_keys(store, run_id)
    confirmed = confirm() if confirm is not None else {}
    return finalize(prepared, store, results_dir, run_id, evaluator, meter, stop, observer,
                    confirmed, promote)
