"""Budget curves of the compare benchmark: what a contender's test score would have been had it
stopped after N search calls, and how many calls promptsearch `auto` needs to match the best
DSPy optimizer's final test score.

A promptsearch run records every candidate it scored, so its curve is exact up to the choice
rule: after each candidate, the incumbent is the best dev score so far, and the curve holds that
incumbent's test score (each distinct incumbent is scored on test once, outside the budget, like
any test scoring). Its last point is the run's real winner (chosen after the held-back
confirmation, which is why it can differ from the last incumbent). Proposer calls are not
time-stamped, so all of them are counted from the first point: the curve's calls are an upper
bound, never flattering to promptsearch. DSPy's optimizers keep no intermediate programs a
caller can reach, so their curves hold dev scores only, and their test score is one point, at
the calls they used.
"""

from __future__ import annotations

import statistics
from typing import Optional

from promptsearch.core.key import PromptKey
from promptsearch.pipeline.prepare import evaluator_for, prepare


def incumbents(candidates: list[dict], proposer_calls: int) -> list[tuple[int, float, str]]:
    """(search calls so far, best dev so far, the incumbent's key id) after each complete
    candidate, in the order they were scored."""
    points, calls, best, holder = [], proposer_calls, None, None
    for candidate in candidates:
        calls += candidate["lm_calls"]
        if candidate["status"] != "complete" or candidate["dev_score"] is None:
            continue
        if best is None or candidate["dev_score"] > best:
            best, holder = candidate["dev_score"], candidate["key_id"]
        points.append((calls, best, holder))
    return points


def test_curve(task, store, result, threads: int) -> list[tuple[int, float, float]]:
    """(search calls, best dev so far, the incumbent's test score) of a finished promptsearch
    run, ending with its winner at the calls it spent."""
    spent = result.lock["spent"]
    points = incumbents(store.list_candidates(result.run_id), spent["proposer_calls"])
    winner = result.winner
    known = {row["key_id"]: row["test"] for row in result.finalists}
    missing = {key_id for _, _, key_id in points if key_id not in known}
    if missing:
        known |= _test_scores(task, store, result.run_id, missing, threads)
    curve = [(calls, dev, known[key_id]) for calls, dev, key_id in points]
    last_dev = curve[-1][1] if curve else winner["dev"]
    return curve + [(spent["lm_calls"], last_dev, winner["test"])]


def _test_scores(task, store, run_id: str, key_ids: set[str], threads: int) -> dict:
    prepared = prepare(task, None, threads)
    prepared.lm.cache = store
    evaluator = evaluator_for(prepared, store, f"compare-curve-{run_id}")
    return {key_id: evaluator.score(PromptKey.from_dict(store.get_key(key_id)),
                                    prepared.dataset.test, "test", meter=None).score
            for key_id in sorted(key_ids)}


def test_at(curve: list[tuple[float, float]], calls: float) -> Optional[float]:
    """The test score a run would have ended with after `calls` search calls: its incumbent's
    (None before its first scored candidate)."""
    reached = [test for spent, test in curve if spent <= calls]
    return reached[-1] if reached else None


def mean_curve(curves: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    """The seeds' curves averaged at every call count any of them changes at (a count before
    some seed's first point has no mean)."""
    points = []
    for calls in sorted({spent for curve in curves for spent, _ in curve}):
        values = [test_at(curve, calls) for curve in curves]
        if all(value is not None for value in values):
            points.append((calls, statistics.mean(values)))
    return points


def calls_to_match(curve: list[tuple[float, float]], target: float) -> Optional[float]:
    """The fewest search calls after which the curve's test score is at least `target`."""
    return next((calls for calls, test in curve if test >= target - 1e-9), None)
