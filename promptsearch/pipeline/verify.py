"""`verify`: the prompt check for an app's CI. Re-score each task's winner (its lock file) on its
test set with the current model and decide whether it regressed.

The decision is paired: the new answers are compared with the answers the lock recorded, example
by example (matched by example id), with the task's own metric. The winner regressed when the
drop is significant (a one-sided paired permutation test, p < alpha) or larger than a
tolerance the user sets. A single miss on 100 examples is not significant; a model that now
gets a third of them wrong is. Locks written before per-example answers were recorded, and test
files changed since the search (a warning says so; the new labels decide), fall back to the
recorded interval: the new score must reach its lower bound.

The test file is re-read at the recorded path with the recorded task settings. Model calls skip
the call cache by default: a remote model can change behind the same name, and a check served
from the cache would not notice.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from promptsearch.core.key import PromptKey
from promptsearch.core.stats import Answers, Comparison, compare, score_interval
from promptsearch.errors import InputError
from promptsearch.evaluation.evaluate import KeyScore
from promptsearch.pipeline.prepare import evaluator_for, prepare
from promptsearch.search.loop import Observer
from promptsearch.storage.connect import default_url
from promptsearch.storage.lockfile import lock_path, read_lock, recorded_task_dir
from promptsearch.storage.store import Store
from promptsearch.task.config import Task, TaskConfig

ALPHA = 0.05


@dataclass
class Verdict:
    task: str
    version: Optional[int]
    recorded: float              # the lock's test score
    score: float                 # the score now (all answered examples)
    score_ci: tuple[float, float]
    examples: int
    errors: int
    data_changed: bool
    paired: Optional[Comparison]  # recorded - now on the examples both answered (the drop)
    lower_bound: float           # the recorded interval's: the test when there is no pairing
    alpha: float = ALPHA
    tolerance: Optional[float] = None

    @property
    def drop(self) -> float:
        return self.paired.delta if self.paired else self.recorded - self.score

    @property
    def passed(self) -> bool:
        if self.tolerance is not None and self.drop > self.tolerance:
            return False
        if self.paired is None:
            return self.score >= self.lower_bound
        return self.paired.p_value >= self.alpha

    @property
    def how(self) -> str:
        """How the verdict was reached, for the report."""
        if self.paired is None:
            return "new score vs recorded CI low"
        p_value = self.paired.p_value
        shown = "p<0.001" if p_value < 0.001 else f"p={p_value:.3f}"
        return f"paired on {self.paired.examples} examples, one-sided {shown}"


def lock_files(results_dir: Path, tasks: list[str]) -> list[Path]:
    """The named tasks' lock files, or every task's under `results_dir`."""
    if tasks:
        return [Path(t) if t.endswith(".json") else lock_path(results_dir, t) for t in tasks]
    found = sorted(Path(results_dir).glob("*/best.json"))
    if not found:
        raise InputError("no lock files to verify", source=str(results_dir),
                         fix="run a search first, or name the tasks / lock files")
    return found


def task_of(lock: dict, source: Path) -> Task:
    if "task_config" not in lock:
        raise InputError("the lock file does not record its task settings", source=str(source),
                         fix="re-run the search with this version of promptsearch")
    config = TaskConfig.model_validate(lock["task_config"])
    return Task(config=config, source=str(source), base_dir=recorded_task_dir(lock, source))


def verify_lock(path: Path, store=None, use_cache: bool = False, threads: Optional[int] = None,
                alpha: float = ALPHA, tolerance: Optional[float] = None,
                observer: Optional[Observer] = None) -> Verdict:
    """`store` (read-only; needed with `use_cache`) lends its call cache; nothing is written to
    it: the answers are kept in a scratch store for the length of the check."""
    lock = read_lock(path)
    task = task_of(lock, path)
    prepared = prepare(task, ReadingCache(store) if use_cache else None, threads)
    with tempfile.TemporaryDirectory(prefix="promptsearch-verify-") as scratch:
        scratch_store = Store(default_url(Path(scratch)))
        evaluator = evaluator_for(prepared, scratch_store, f"verify-{task.name}",
                                  max_tokens=int(lock.get("max_tokens") or prepared.max_tokens))
        if observer is not None:
            observer.on_phase(f"verifying {task.name}", len(prepared.dataset.test))
            evaluator.on_answer = observer.on_answer
        result = evaluator.score(PromptKey.from_dict(lock["key"]), prepared.dataset.test,
                                 "test")
        scratch_store.dispose()
    if not result.examples:
        raise InputError(f"every test call failed ({result.errors} errors)", source=str(path),
                         fix="check that the model is reachable")
    scores = lock["scores"]
    changed = prepared.dataset.hash != lock.get("dataset_hash")
    recorded = None if changed else scores.get("test_by_example")
    return Verdict(task.name, lock.get("version"), scores["test"], result.score,
                   score_interval(prepared.metric, result.answers()), result.examples,
                   result.errors, changed,
                   _drop(prepared.metric, recorded, result) if recorded else None,
                   scores["test_ci"][0], alpha, tolerance)


class ReadingCache:
    """`verify --cached`: answers are read from the store's call cache; new ones are not added
    (verify never writes to the store)."""

    def __init__(self, store):
        self.store = store

    def cache_get(self, key: str) -> Optional[dict]:
        return self.store.cache_get(key)

    def cache_put(self, **row) -> None:
        """Nothing is written."""


def _drop(metric, recorded: dict, now: KeyScore) -> Comparison:
    """recorded - now, paired by example id over the examples answered both times; the test
    is one-sided (does the key score lower now?)."""
    rows = [(recorded[example_id], score, prediction, target) for example_id, score, prediction,
            target in zip(now.example_ids, now.scores, now.predictions, now.targets)
            if score is not None and example_id in recorded]
    then = Answers([r[0]["prediction"] for r in rows], [r[3] for r in rows],
                   [r[0]["score"] for r in rows])
    current = Answers([r[2] for r in rows], [r[3] for r in rows], [r[1] for r in rows])
    return compare(metric, then, current, alternative="greater")
