"""One search run of one task: prepare, search within budget, score finalists, write the lock."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .budget import BudgetMeter
from .config import Task
from .confirm import confirm, confirm_size, reserve
from .data import Dataset, load_dataset
from .errors import InputError, ModelUnavailable
from .evaluate import Evaluator
from .finalize import finalize
from .lm.client import LM
from .metrics import Metric, get_metric
from .key import PromptKey
from .search import STRATEGIES, Candidate, Context
from .search.base import RecordedTrial
from .search.loop import (ERROR_RATE_STOP, Observer, incomplete_keys, optimize,
                          retry_failed_calls)
from .search.racing import make_scorer
from .search.space import SearchSpace
from .store import Store
from .templates import check_template


@dataclass
class Prepared:
    """Everything a run needs, checked before any model call."""

    task: Task
    dataset: Dataset
    metric: Metric
    lm: LM
    proposer: LM
    space: SearchSpace
    style: str
    max_tokens: int


@dataclass
class RunResult:
    run_id: str
    lock: dict
    stopped: str
    lock_path: Optional[Path]  # None when the winner did not beat the task's latest version
    finalists: list[dict] = field(default_factory=list)
    version: Optional[int] = None  # the new version recorded, if the run improved on the last
    promotion: str = ""  # why the winner did or did not become a new version


def prepare(task: Task, store: Optional[Store], threads: Optional[int] = None) -> Prepared:
    """Validate everything a run will touch (data, metric, templates, model), making no call."""
    config = task.config
    dataset = load_dataset(task)
    metric = get_metric(config.metric, task.source, str(task.base_dir))
    fields = config.data.input_fields
    for index, seed in enumerate(config.prompt.seeds):
        check_template(seed, fields, task.source, f"prompt.seeds[{index}]")
    if config.prompt.format:
        check_template(config.prompt.format, fields, task.source, "prompt.format")
    lm = _make_lm(task, config.model, store, threads)
    same = task.proposer == config.model
    proposer = lm if same else _make_lm(task, task.proposer, store, threads)
    style = config.prompt.style if config.prompt.style != "auto" else lm.default_style
    space = SearchSpace(dataset, fields, config.data.target, list(config.prompt.seeds),
                        config.prompt.format, style, config.search.seed,
                        config.search.max_demos)
    max_tokens = config.lm.max_tokens or answer_budget(dataset)
    return Prepared(task, dataset, metric, lm, proposer, space, style, max_tokens)


def answer_budget(dataset: Dataset) -> int:
    """Room for twice the longest target (about 3 characters a token) plus a little: generating
    far past the answer is most of the cost of a wrong completion on a small model."""
    longest = max(len(example.target) for example in dataset.pool + dataset.dev)
    return min(512, max(8, 2 * (longest // 3 + 1) + 4))


def _make_lm(task: Task, model: str, store, threads: Optional[int]) -> LM:
    spec = task.config.lm
    lm = LM(model, cache=store, api_base=spec.api_base, timeout=spec.timeout,
            retries=spec.retries, threads=threads or spec.threads, api_key_env=spec.api_key_env,
            backoff=spec.backoff)
    try:
        lm.identity()
    except InputError as exc:
        raise InputError(str(exc), source=task.source) from None
    return lm


def run_id_prefix(task: Task, dataset_hash: str) -> str:
    """The run's identity: the task config and data, less what only says when to stop for
    failing calls (a run stopped by --max-error-rate resumes with another limit)."""
    config = task.config.model_dump(mode="json")
    config["search"].pop("max_error_rate", None)
    digest = hashlib.sha256(json.dumps([config, dataset_hash], sort_keys=True).encode())
    return f"{task.name}-{digest.hexdigest()[:10]}"


def open_new_or_latest_run(store: Store, prepared: Prepared, resume: bool) -> str:
    """A fresh numbered run, or with `resume` the latest run of the same config and seed. The
    number is taken by inserting the run row: two processes starting the same config at once
    each get their own run (the loser of a number tries the next), never one run between them."""
    task, config = prepared.task, prepared.task.config
    prefix = run_id_prefix(task, prepared.dataset.hash)
    row = {"task": task.name, "model": config.model, "strategy": config.search.strategy,
           "seed": config.search.seed, "config": config.model_dump(mode="json"),
           "dataset_hash": prepared.dataset.hash}
    existing = [r["id"] for r in store.list_runs(task.name) if r["id"].startswith(prefix + "-")]
    number = max((int(run_id.rsplit("-", 1)[1]) for run_id in existing), default=0)
    if resume and number:
        return f"{prefix}-{number}"
    while not store.create_run(id=f"{prefix}-{number + 1}", **row):
        number += 1
    return f"{prefix}-{number + 1}"


def execute(prepared: Prepared, store: Store, results_dir: Path, *, resume: bool = False,
            observer: Optional[Observer] = None, concurrency: Optional[int] = None,
            promote: str = "significant") -> RunResult:
    """Search, then finalize. `promote`: when the winner becomes a new version (versions.py)."""
    config = prepared.task.config
    observer = observer or Observer()
    run_id = open_new_or_latest_run(store, prepared, resume)
    meter = _meter(config, store.get_run(run_id) if resume else None)
    store.update_run(run_id, status="running")
    evaluator = Evaluator(prepared.lm, prepared.metric, store, run_id,
                          max_tokens=prepared.max_tokens,
                          concurrency=concurrency or config.lm.concurrency
                          or prepared.lm.default_concurrency)
    context = Context(prepared.space, config.search.seed, prepared.proposer, meter,
                      store.url, run_id, dev=prepared.dataset.dev, task_model=prepared.lm,
                      metric=prepared.metric)
    _restore(context, store, run_id, evaluator)
    meter.watch(prepared.lm.health, prepared.proposer.health)
    observer.on_start(meter)
    try:
        return _search_and_finalize(prepared, store, results_dir, run_id, evaluator, context,
                                    observer, promote)
    except ModelUnavailable:
        store.update_run(run_id, status="stopped", spent=meter.snapshot())
        raise


def _search_and_finalize(prepared, store, results_dir, run_id, evaluator, context, observer,
                         promote):
    config, dataset, meter = prepared.task.config, prepared.dataset, context.meter
    strategy = STRATEGIES[config.search.strategy](context)
    checks = confirm_size(config.search, len(dataset.pool))
    stopped = "interrupted"
    try:
        with meter.holding_back(reserve(checks)):
            observer.on_phase("proposing")
            strategy.setup()
            observer.on_phase("searching")
            score_dev = make_scorer(config.search.racing_on(), evaluator, dataset.dev,
                                    context.pool, meter)
            stopped = optimize(strategy, score_dev, meter, store, run_id, observer,
                               config.search.max_error_rate)
    except KeyboardInterrupt:
        stopped = "interrupted"
    finally:
        strategy.close()
        store.update_run(run_id, spent=meter.snapshot())
    if stopped.startswith(ERROR_RATE_STOP):
        health = prepared.lm.health
        raise ModelUnavailable("error rate", f"{stopped} at {prepared.lm.where} (last error: "
                                             f"{health.last_kind or 'none'})",
                               "check the model's server; rerun with --resume once it answers "
                               "(nothing recorded is lost)")
    if stopped != "interrupted":
        observer.on_phase("retrying")
        meter.spent.error_retry_calls += retry_failed_calls(store, run_id, evaluator,
                                                            dataset.dev, context.pool)
    meter.spent.incomplete_keys = incomplete_keys(store, run_id)
    confirmed = _confirm(prepared, store, evaluator, run_id, checks, meter, stopped, observer)
    observer.on_phase("testing")
    return finalize(prepared, store, results_dir, run_id, evaluator, meter, stopped, observer,
                    confirmed, promote)


def _confirm(prepared, store, evaluator, run_id, size, meter, stopped, observer) -> dict:
    """The dev leaders' scores on held-back pool examples (none after an interrupt: the user
    asked to stop, and the winner is then chosen on dev alone)."""
    if size == 0 or stopped == "interrupted":
        return {}
    observer.on_phase("confirming")
    try:
        return confirm(store, evaluator, run_id, prepared.dataset.pool, size,
                       prepared.task.config.search.seed, meter)
    except KeyboardInterrupt:
        return {}


def _restore(context: Context, store: Store, run_id: str, evaluator: Evaluator) -> None:
    """On resume: number new trials after the recorded ones and refill the shared pool from the
    recorded evaluations (no model call: every example is in the store)."""
    recorded = store.list_candidates(run_id)
    context.first_trial = max((c["trial"] for c in recorded), default=-1) + 1
    context.recorded = {c["trial"]: RecordedTrial(c["key_id"], c["status"], c["dev_score"])
                        for c in recorded}
    # A key that was being scored when the process died has evaluations but no candidate row,
    # and the budget snapshot predates them: count them as spent, as the uninterrupted run did.
    scored = {c["key_id"] for c in recorded}
    orphans = store.evaluation_counts(run_id, "dev")
    context.meter.spent.lm_calls += sum(n for key, n in orphans.items() if key not in scored)
    for row in store.ranked_candidates(run_id):
        key = PromptKey.from_dict(store.get_key(row["key_id"]))
        context.pool.add(Candidate(row["trial"], key, row["origin"]),
                         evaluator.score(key, context.dev, "dev", meter=None))


def _meter(config, previous_run: Optional[dict]) -> BudgetMeter:
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
