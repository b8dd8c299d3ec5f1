"""What the store's earlier runs tell a plan: the model's speed, the strategy's proposer calls
per candidate, and the seed prompt's dev score. Read only; nothing is written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from promptsearch.pipeline.prepare import Prepared

# A run whose calls reached the model at least this often times the model, not the cache.
UNCACHED_SHARE = 0.9
RECENT_RUNS = 5


@dataclass
class Recorded:
    runs: int = 0
    seconds_per_call: Optional[float] = None
    timed_calls: int = 0
    proposer_per_candidate: Optional[float] = None
    seed_dev_score: Optional[float] = None


def recorded_history(store, prepared: Prepared) -> Recorded:
    config = prepared.task.config
    model_runs = [run for run in store.list_runs() if run["model"] == config.model_label()]
    recorded = Recorded()
    _speed(recorded, store, model_runs[-RECENT_RUNS:])
    same = [run for run in model_runs if run["task"] == prepared.task.name
            and run["strategy"] == config.search.strategy and (run["spent"] or {}).get("trials")]
    if same:
        spent = [run["spent"] for run in same[-RECENT_RUNS:]]
        recorded.runs = len(spent)
        recorded.proposer_per_candidate = (sum(s.get("proposer_calls", 0) for s in spent)
                                           / sum(s["trials"] for s in spent))
    recorded.seed_dev_score = _seed_score(store, prepared, model_runs)
    return recorded


def _speed(recorded: Recorded, store, runs: list[dict]) -> None:
    """Wall seconds per call over the candidates of recent runs that really called the model
    (cache hits take no time and would make the model look fast). Candidates' seconds include
    the run's concurrency, as the planned run will."""
    seconds = calls = 0.0
    for run in runs:
        if not _uncached(run["spent"] or {}):
            continue
        for row in store.list_candidates(run["id"]):
            seconds, calls = seconds + row["seconds"], calls + row["lm_calls"]
    if calls:
        recorded.seconds_per_call, recorded.timed_calls = seconds / calls, int(calls)


def _uncached(spent: dict) -> bool:
    """Nearly every call of the run reached the model."""
    logical = spent.get("lm_calls", 0) + spent.get("test_calls", 0)
    return logical > 0 and spent.get("model_calls", 0) >= UNCACHED_SHARE * logical


def _seed_score(store, prepared: Prepared, runs: list[dict]) -> Optional[float]:
    """The seed key's dev score in this task's latest run that scored it on the same data."""
    seed_id = prepared.seed_key().id
    for run in reversed(runs):
        if run["task"] != prepared.task.name or run["dataset_hash"] != prepared.dataset.hash:
            continue
        for row in store.list_candidates(run["id"]):
            if row["key_id"] == seed_id and row["dev_score"] is not None:
                return float(row["dev_score"])
    return None
