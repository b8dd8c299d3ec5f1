"""After the search: score the finalists on test, pick the winner on dev, write the lock file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

from . import __version__, versions
from .errors import PromptsearchError
from .confirm import rerank
from .evaluate import KeyScore
from .key import PromptKey
from .lockfile import lock_path, write_lock
from .stats import bootstrap_ci, paired_permutation_p


def finalize(prepared, store, results_dir: Path, run_id: str, evaluator, meter, stopped: str,
             observer=None, confirmed: Optional[dict] = None):
    """`confirmed`: the dev leaders' scores on held-back examples (promptsearch.confirm); the
    winner is then the best over dev and those examples together."""
    from .runner import RunResult

    confirmed = confirmed or {}
    ranked = rerank(store.ranked_candidates(run_id), confirmed, len(prepared.dataset.dev))
    if not ranked:
        store.update_run(run_id, status="empty", spent=meter.snapshot())
        raise PromptsearchError(f"{prepared.task.name}: no candidate was scored on the whole dev "
                                f"set ({stopped}); raise search.budget or lower data.dev_size")
    baseline = _baseline(prepared, ranked)
    leaders = ranked[:prepared.task.config.search.finalists]
    finalists = leaders + ([baseline] if baseline and baseline not in leaders else [])
    tested = {}
    for number, row in enumerate(finalists, 1):
        if observer is not None:
            observer.on_phase(f"testing {number}/{len(finalists)}")
        tested[row["key_id"]] = _test(store, evaluator, prepared, row["key_id"])
    meter.spent.test_calls += sum(score.lm_calls for score in tested.values())
    # DSPy calls bypass promptsearch's cache (DSPy's own cache is off): each reached the model.
    # (+=: a shared run's meter arrives holding its workers' model calls)
    meter.spent.model_calls += model_calls(prepared) + meter.spent.framework_calls
    rows = [_row(row, tested, baseline, row is ranked[0], confirmed.get(row["key_id"]))
            for row in finalists]
    lock = _lock(prepared, store, run_id, ranked[0], baseline, tested, meter,
                 confirmed.get(ranked[0]["key_id"]))
    version = versions.record(store, prepared.task.name, prepared.task.config.model, run_id, lock)
    path = lock_path(results_dir, prepared.task.name)
    if version is not None:  # the lock file always holds the newest version of the task
        lock["version"] = version
        write_lock(path, lock)
    store.update_run(run_id, status="interrupted" if stopped == "interrupted" else "finished",
                     spent=meter.snapshot(), finished_at=dt.datetime.now().timestamp(),
                     result={"finalists": rows, "stopped": stopped,
                             "winner": ranked[0]["key_id"]})
    return RunResult(run_id, lock, stopped, path if version is not None else None, rows,
                     version)


def _baseline(prepared, ranked: list[dict]) -> Optional[dict]:
    """The best-on-dev of the seed prompts as written (no demos, default format)."""
    baseline_ids = {prepared.space.key(point).id for point in prepared.space.baselines()}
    return next((row for row in ranked if row["key_id"] in baseline_ids), None)


def _test(store, evaluator, prepared, key_id: str) -> KeyScore:
    key = PromptKey.from_dict(store.get_key(key_id))
    return evaluator.score(key, prepared.dataset.test, "test", meter=None)


def model_calls(prepared) -> int:
    """Calls this process's models answered (cache misses)."""
    calls = prepared.lm.counter.model_calls
    return calls + (prepared.proposer.counter.model_calls if prepared.proposer is not prepared.lm
                    else 0)


def _paired(a: KeyScore, b: KeyScore) -> tuple[float, float]:
    pairs = [(x, y) for x, y in zip(a.scores, b.scores) if x is not None and y is not None]
    if not pairs:
        return 0.0, 1.0
    left, right = zip(*pairs)
    return (sum(left) - sum(right)) / len(pairs), paired_permutation_p(left, right)


def _row(row: dict, tested: dict[str, KeyScore], baseline: Optional[dict], winner: bool,
         confirmation: Optional[KeyScore]) -> dict:
    test = tested[row["key_id"]]
    low, high = bootstrap_ci([s for s in test.scores if s is not None])
    delta, p_value = (_paired(test, tested[baseline["key_id"]]) if baseline else (None, None))
    return {"key_id": row["key_id"], "origin": row["origin"], "trial": row["trial"],
            "dev": row["dev_score"], "confirm": _score(confirmation), "test": test.score,
            "test_lo": low, "test_hi": high,
            "delta": delta, "p_value": p_value, "lm_calls": row["lm_calls"],
            "tokens": row["tokens"], "seconds": row["seconds"],
            "errors": row["errors"] + test.errors,
            "unparseable": row["unparseable"] + test.unparseable,
            "winner": winner, "baseline": baseline is not None and row is baseline}


def _score(confirmation: Optional[KeyScore]) -> Optional[float]:
    return None if confirmation is None or not confirmation.complete else confirmation.score


def _lock(prepared, store, run_id, winner, baseline, tested, meter, confirmation) -> dict:
    config = prepared.task.config
    test = tested[winner["key_id"]]
    low, high = bootstrap_ci([s for s in test.scores if s is not None])
    lock = {
        "task": config.name,
        "model": config.model,
        "task_config": config.model_dump(mode="json"),  # `verify` re-reads the test data with it
        "task_dir": str(prepared.task.base_dir),
        "key": store.get_key(winner["key_id"]),
        "key_id": winner["key_id"],
        "metric": config.metric,
        "max_tokens": prepared.max_tokens,
        "scores": {"dev": winner["dev_score"], "confirm": _score(confirmation),
                   "confirm_examples": confirmation.examples if confirmation else 0,
                   "test": test.score, "test_ci": [low, high], "test_examples": test.examples},
        "baseline": None,
        "spent": {name: meter.spent.as_dict()[name] for name in
                  ("lm_calls", "proposer_calls", "framework_calls", "model_calls", "test_calls",
                   "tokens", "racing_saved", "parse_failures", "seconds")},
        "strategy": config.search.strategy,
        "seed": config.search.seed,
        "dataset_hash": prepared.dataset.hash,
        "run_id": run_id,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "version": __version__,
    }
    lock["spent"]["seconds"] = round(meter.elapsed(), 3)
    if baseline:
        base_test = tested[baseline["key_id"]]
        delta, p_value = _paired(test, base_test)
        lock["baseline"] = {"key": store.get_key(baseline["key_id"]),
                            "scores": {"dev": baseline["dev_score"], "test": base_test.score},
                            "delta_test": delta, "p_value": p_value}
    return lock
