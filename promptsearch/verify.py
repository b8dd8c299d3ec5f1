"""`verify`: the prompt check for an app's CI. Re-score each task's winner (its lock file) on its
test set with the current model and compare with the lower bound of the recorded 95% CI.

The test file is re-read at the recorded path with the recorded task settings; a changed dataset
is reported, and the new score decides. Model calls skip the call cache by default: a remote
model can change behind the same name, and a check served from the cache would not notice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .config import Task, TaskConfig
from .errors import InputError
from .evaluate import Evaluator
from .key import PromptKey
from .lockfile import lock_path, read_lock
from .runner import prepare
from .stats import bootstrap_ci


@dataclass
class Verdict:
    task: str
    version: Optional[int]
    recorded: float
    lower_bound: float
    score: float
    score_ci: tuple[float, float]
    examples: int
    errors: int
    data_changed: bool

    @property
    def passed(self) -> bool:
        return self.score >= self.lower_bound

    @property
    def drop(self) -> float:
        return self.recorded - self.score


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
    return Task(config=config, source=str(source), base_dir=Path(lock["task_dir"]))


def verify_lock(path: Path, store, use_cache: bool = False,
                threads: Optional[int] = None) -> Verdict:
    lock = read_lock(path)
    task = task_of(lock, path)
    prepared = prepare(task, store if use_cache else None, threads)
    evaluator = Evaluator(prepared.lm, prepared.metric, store,
                          f"verify-{task.name}-{time.time_ns()}",
                          max_tokens=int(lock.get("max_tokens") or prepared.max_tokens))
    result = evaluator.score(PromptKey.from_dict(lock["key"]), prepared.dataset.test, "test")
    answered = [s for s in result.scores if s is not None]
    if not answered:
        raise InputError(f"every test call failed ({result.errors} errors)", source=str(path),
                         fix="check that the model is reachable")
    scores = lock["scores"]
    return Verdict(task.name, lock.get("version"), scores["test"], scores["test_ci"][0],
                   result.score, bootstrap_ci(answered), result.examples, result.errors,
                   prepared.dataset.hash != lock.get("dataset_hash"))
