"""After the search: score the finalists on test, pick the winner on dev, write the lock file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

from promptsearch._version import __version__
from promptsearch.core.key import PromptKey
from promptsearch.core.states import RunStatus, Stop, StopReason
from promptsearch.core.stats import compare, holm, score_interval
from promptsearch.errors import ModelUnavailable, PromptsearchError
from promptsearch.evaluation.budget import BudgetMeter
from promptsearch.evaluation.confirm import rerank
from promptsearch.evaluation.evaluate import Evaluator, KeyScore, paired_answers
from promptsearch.pipeline.prepare import Prepared, RunResult
from promptsearch.search.loop import Observer
from promptsearch.storage import versions
from promptsearch.storage.lockfile import lock_path, relative_task_dir, write_lock
from promptsearch.storage.store import Store


def finalize(prepared: Prepared, store: Store, results_dir: Path, run_id: str,
             evaluator: Evaluator, meter: BudgetMeter, stop: Stop,
             observer: Optional[Observer] = None, confirmed: Optional[dict] = None,
             promote: str = "significant") -> RunResult:
    """`confirmed`: the dev leaders' scores on held-back examples (evaluation.confirm); the
    winner is then the best over dev and those examples together."""
    confirmed = confirmed or {}
    ranked = rerank(store.ranked_candidates(run_id), confirmed, len(prepared.dataset.dev))
    if not ranked:
        _no_winner(prepared, store, run_id, meter, stop)
    baseline = _baseline(prepared, ranked)
    leaders = ranked[:prepared.task.config.search.finalists]
    finalists = leaders + ([baseline] if baseline and baseline not in leaders else [])
    tested = {}
    evaluator.on_answer = observer.on_answer if observer is not None else None
    for number, row in enumerate(finalists, 1):
        if observer is not None:
            observer.on_phase(f"testing {number}/{len(finalists)}", len(prepared.dataset.test))
        tested[row["key_id"]] = _test(store, evaluator, prepared, row["key_id"])
    evaluator.on_answer = None
    meter.spent.test_calls += sum(score.lm_calls + score.judge_calls
                                  for score in tested.values())
    meter.spent.judge_calls += sum(score.judge_calls for score in tested.values())
    # DSPy calls bypass promptsearch's cache (DSPy's own cache is off): each reached the model.
    # (+=: a shared run's meter arrives holding its workers' model calls)
    meter.spent.model_calls += prepared.model_calls() + meter.spent.framework_calls
    rows = [_row(row, tested, baseline, row is ranked[0], confirmed.get(row["key_id"]),
                 prepared.metric) for row in finalists]
    _correct_for_finalists(rows)
    path = lock_path(results_dir, prepared.task.name)
    lock = _lock(prepared, store, run_id, rows, tested, meter,
                 confirmed.get(ranked[0]["key_id"]))
    lock["task_dir"] = relative_task_dir(prepared.task.base_dir, path)
    version, promotion = versions.record(
        store, prepared.task.name, prepared.task.config.model_label(), run_id, lock,
        prepared.metric,
        promote, {example.id: example.target for example in prepared.dataset.test})
    if version is not None:  # the lock file always holds the newest version of the task
        lock["version"] = version
        write_lock(path, lock)
    interrupted = stop.reason is StopReason.INTERRUPTED
    store.update_run(run_id, status=(RunStatus.INTERRUPTED if interrupted
                                     else RunStatus.FINISHED).value,
                     spent=meter.snapshot(), finished_at=dt.datetime.now().timestamp(),
                     result={"finalists": rows, "stopped": str(stop),
                             "winner": ranked[0]["key_id"], "promotion": promotion})
    return RunResult(run_id, lock, str(stop), path if version is not None else None, rows,
                     version, promotion)


def _no_winner(prepared: Prepared, store: Store, run_id: str, meter: BudgetMeter,
               stop: Stop) -> None:
    """No key has an answer on every dev example: say why (failed calls, or the budget)."""
    spent = meter.snapshot()
    errors = spent["errors"]
    if spent["incomplete_keys"] and errors:
        store.update_run(run_id, status=RunStatus.STOPPED.value, spent=spent)
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(errors.items()))
        raise ModelUnavailable(
            "incomplete", f"no key has an answer on every dev example: {spent['incomplete_keys']}"
                          f" keys are short of answers, {sum(errors.values())} calls to "
                          f"{prepared.lm.where} failed ({kinds})",
            "rerun with --resume once the model answers (failed calls are asked again); if "
            "the same examples always fail, remove them from the data")
    store.update_run(run_id, status=RunStatus.EMPTY.value, spent=spent)
    raise PromptsearchError(f"{prepared.task.name}: no candidate was scored on the whole dev "
                            f"set ({stop}); raise search.budget or lower data.dev_size")


def _baseline(prepared, ranked: list[dict]) -> Optional[dict]:
    """The best-on-dev of the seed prompts as written (no demos, default format)."""
    baseline_ids = {prepared.space.key(point).id for point in prepared.space.baselines()}
    return next((row for row in ranked if row["key_id"] in baseline_ids), None)


def _test(store, evaluator, prepared, key_id: str) -> KeyScore:
    key = PromptKey.from_dict(store.get_key(key_id))
    return evaluator.score(key, prepared.dataset.test, "test", meter=None)


def _row(row: dict, tested: dict[str, KeyScore], baseline: Optional[dict], winner: bool,
         confirmation: Optional[KeyScore], metric) -> dict:
    """A finalist's line: its test score with the interval of the task's metric, and its
    difference from the seed prompt on the same test examples (Δ, its interval, p)."""
    test = tested[row["key_id"]]
    low, high = score_interval(metric, test.answers())
    versus = (compare(metric, *paired_answers(test, tested[baseline["key_id"]]))
              if baseline and row is not baseline else None)
    return {"key_id": row["key_id"], "origin": row["origin"], "trial": row["trial"],
            "dev": row["dev_score"], "confirm": _score(confirmation), "test": test.score,
            "test_lo": low, "test_hi": high,
            "delta": versus.delta if versus else (0.0 if baseline else None),
            "delta_lo": versus.low if versus else None,
            "delta_hi": versus.high if versus else None,
            "p_value": versus.p_value if versus else None, "p_holm": None,
            "lm_calls": row["lm_calls"], "tokens": row["tokens"], "seconds": row["seconds"],
            "errors": row["errors"] + test.errors,
            "unparseable": row["unparseable"] + test.unparseable,
            "winner": winner, "baseline": baseline is not None and row is baseline,
            **_field_means(metric, test)}


def _field_means(metric, test: KeyScore) -> dict:
    """A structured answer's mean score on each field over the test answers, as `field:NAME`
    entries (the leaderboards show a column per field); nothing for other tasks."""
    if not metric.parts:
        return {}
    answered = [(p, t) for p, t, s in zip(test.predictions, test.targets, test.scores)
                if s is not None]
    per_example = [metric.field_scores(p, t) for p, t in answered]
    return {f"field:{name}": (sum(row[name] for row in per_example) / len(per_example)
                              if per_example else None) for name, _ in metric.parts}


def _correct_for_finalists(rows: list[dict]) -> None:
    """Several finalists were compared with the seed: Holm-adjust their p-values together."""
    for row, adjusted in zip(rows, holm([row["p_value"] for row in rows])):
        row["p_holm"] = adjusted


def _score(confirmation: Optional[KeyScore]) -> Optional[float]:
    return None if confirmation is None or not confirmation.answered_all else confirmation.score


def _lock(prepared, store, run_id, rows: list[dict], tested, meter, confirmation) -> dict:
    config = prepared.task.config
    winner = next(row for row in rows if row["winner"])
    test = tested[winner["key_id"]]
    spent = meter.snapshot()
    lock = {
        "task": config.name,
        "model": config.model_label(),
        **({"models": list(config.models)} if config.models else {}),
        "task_config": config.model_dump(mode="json"),  # `verify` re-reads the test data with it
        "task_dir": None,  # relative to the lock file: set once its path is known
        "key": store.get_key(winner["key_id"]),
        "key_id": winner["key_id"],
        "metric": prepared.metric.name,
        "max_tokens": prepared.max_tokens,
        "scores": {"dev": winner["dev"], "confirm": winner["confirm"],
                   "confirm_examples": confirmation.examples if confirmation else 0,
                   "test": test.score, "test_ci": [winner["test_lo"], winner["test_hi"]],
                   "test_examples": test.examples, "finalists_tested": len(rows),
                   # what `verify` and the next run's promotion compare with, example by example
                   "test_by_example": test.by_example(),
                   # which score ranked the keys on dev: the metric, or a label's probability
                   "dev_by": config.search.dev_score},
        "baseline": None,
        "spent": {name: spent[name] for name in
                  ("lm_calls", "proposer_calls", "framework_calls", "model_calls", "test_calls",
                   "tokens", "racing_saved", "parse_failures", "seconds", "errors",
                   "error_retry_calls", "incomplete_keys", "judge_calls")},
        "strategy": config.search.strategy,
        "seed": config.search.seed,
        "dataset_hash": prepared.dataset.hash,
        "run_id": run_id,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "version": __version__,
    }
    baseline = next((row for row in rows if row["baseline"]), None)
    if baseline:
        lock["baseline"] = {"key": store.get_key(baseline["key_id"]),
                            "scores": {"dev": baseline["dev"],
                                       "test": tested[baseline["key_id"]].score},
                            "delta_test": winner["delta"],
                            "delta_ci": [winner["delta_lo"], winner["delta_hi"]],
                            "p_value": winner["p_value"],
                            # corrected for every finalist compared with the seed (Holm)
                            "p_value_holm": winner["p_holm"]}
    return lock
