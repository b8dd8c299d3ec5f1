"""The public entry points: run(), evaluate(), load_best()."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

from promptsearch.core.key import PromptKey
from promptsearch.core.templates import fields_used
from promptsearch.errors import LMError
from promptsearch.evaluation.evaluate import KeyScore, ask
from promptsearch.export import to_dspy
from promptsearch.lm.client import LM
from promptsearch.pipeline.prepare import Prepared, RunResult, evaluator_for, prepare
from promptsearch.pipeline.runner import execute
from promptsearch.search.loop import Observer
from promptsearch.storage import versions
from promptsearch.storage.lockfile import lock_path, read_lock
from promptsearch.storage.store import Store, default_url
from promptsearch.task.config import Task, load_task

DEFAULT_RESULTS = Path("results")


def open_store(results_dir: Union[str, Path] = DEFAULT_RESULTS,
               storage: Optional[str] = None, *, read_only: bool = False) -> Store:
    """The store at `storage` (a SQLAlchemy URL), else SQLite under `results_dir`. With
    `read_only`, a missing store is an InputError and nothing is ever created or written."""
    return Store(storage or default_url(Path(results_dir)), read_only=read_only)


def _task(task: Union[str, Path, Task]) -> Task:
    return task if isinstance(task, Task) else load_task(task)


def run(task: Union[str, Path, Task], *, store: Optional[Store] = None,
        results_dir: Union[str, Path] = DEFAULT_RESULTS, storage: Optional[str] = None,
        resume: bool = False,
        observer: Optional[Observer] = None, threads: Optional[int] = None,
        concurrency: Optional[int] = None, promote: str = "significant") -> RunResult:
    """Search the task's prompt space within its budget; write results/<task>/best.json when
    the winner becomes a new version (`promote`: significant, always or never; see
    promptsearch.storage.versions)."""
    prepared = prepare(_task(task), None, threads)  # input checked before the store is touched
    return run_prepared(prepared, store or open_store(results_dir, storage), results_dir,
                        resume=resume, observer=observer, concurrency=concurrency,
                        promote=promote)


def run_prepared(prepared: Prepared, store: Store, results_dir: Union[str, Path], *,
                 resume: bool = False, observer: Optional[Observer] = None,
                 concurrency: Optional[int] = None, promote: str = "significant") -> RunResult:
    """run() for a task already prepared (the CLI prepares once, to plan and then search)."""
    prepared.lm.cache = prepared.proposer.cache = store
    return execute(prepared, store, Path(results_dir), resume=resume, observer=observer,
                   concurrency=concurrency, promote=promote)


def evaluate(task: Union[str, Path, Task], keys: Sequence[PromptKey], *, split: str = "test",
             store: Optional[Store] = None,
             results_dir: Union[str, Path] = DEFAULT_RESULTS) -> list[KeyScore]:
    """Score given keys on the task's dev or test examples, without searching."""
    task = _task(task)
    store = store or open_store(results_dir)
    prepared = prepare(task, store)
    examples = prepared.dataset.test if split == "test" else prepared.dataset.dev
    evaluator = evaluator_for(prepared, store, f"eval-{task.name}")
    return [evaluator.score(key, examples, split) for key in keys]


@dataclass
class BestPrompt:
    """A winning key as an app uses it: render the prompt, or predict through the task's model."""

    key: PromptKey
    model: str
    lock: dict
    _lm: Optional[LM] = None

    def render(self, **inputs: str) -> str:
        return self.key.render(**inputs)

    def messages(self, **inputs: str) -> list[dict[str, str]]:
        return self.key.messages(**inputs)

    @property
    def input_fields(self) -> tuple[str, ...]:
        """The task's input columns, as render() and predict() take them."""
        spec = (self.lock.get("task_config") or {}).get("data", {}).get("input")
        if spec:
            return (spec,) if isinstance(spec, str) else tuple(spec)
        return tuple(sorted(fields_used(self.key.format))) or ("input",)

    def to_dspy(self):
        """A DSPy program that answers with this key (see promptsearch.export.dspy)."""
        target = (self.lock.get("task_config") or {}).get("data", {}).get("target", "output")
        name = target if isinstance(target, str) else "answer"  # several columns: one JSON
        return to_dspy(self.key, int(self.lock.get("max_tokens") or 48), name)

    def _recorded_lm(self) -> LM:
        """The run's model and endpoint; credentials come from the environment (the lock file
        holds the key's variable name and the endpoint without user:password)."""
        spec = (self.lock.get("task_config") or {}).get("lm") or {}
        return LM(self.model, api_base=spec.get("api_base"), api_key_env=spec.get("api_key_env"))

    def predict(self, *, lm: Optional[LM] = None, **inputs: str) -> Optional[str]:
        """The parsed answer (a label for label tasks); None if the reply holds no answer."""
        lm = lm or self._lm or self._recorded_lm()
        self._lm = lm
        reply = ask(lm, self.key, inputs, int(self.lock.get("max_tokens", 48)))
        if reply.error:
            raise LMError(f"{self.model}: {reply.error}")
        return self.key.read(reply.text)


def load_best(name: Union[str, Path], results_dir: Union[str, Path] = DEFAULT_RESULTS,
              storage: Optional[str] = None) -> BestPrompt:
    """The best key of a task, as an app uses it. `name` is a task (its lock file
    results/<task>/best.json, the newest version), `task@N` (version N), `task@ALIAS` (e.g.
    `sentiment@production`, see `promptsearch promote`), `task@latest`, or a lock file path."""
    lock = _find_lock(name, results_dir, storage)
    # A key searched for several models is used with the first unless told (predict(lm=...)).
    model = (lock.get("models") or [lock["model"]])[0]
    return BestPrompt(PromptKey.from_dict(lock["key"]), model, lock)


def _find_lock(name: Union[str, Path], results_dir, storage: Optional[str]) -> dict:
    path = Path(name)
    if path.suffix == ".json" or path.is_file():
        return read_lock(path)
    task, ref = versions.split_ref(str(name))
    if ref is None:
        return read_lock(lock_path(Path(results_dir), task))
    return versions.resolve(open_store(results_dir, storage, read_only=True), task, ref)
