"""Before any model call: read and check everything a run will touch."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from promptsearch.core.key import PromptKey
from promptsearch.core.metrics import Metric, get_metric, structured_metric
from promptsearch.core.reasoning import CUES, Reasoning
from promptsearch.core.templates import check_template
from promptsearch.errors import InputError
from promptsearch.evaluation.evaluate import Evaluator
from promptsearch.evaluation.judge import judge_metric
from promptsearch.evaluation.models import ModelsEvaluator
from promptsearch.lm.client import LM
from promptsearch.search.space import SearchSpace
from promptsearch.storage.store import Store
from promptsearch.task.config import SearchSpec, Task
from promptsearch.task.data import Dataset, load_dataset


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
    judge: Optional[LM] = None  # the LLM judge's model, when the metric is one
    others: tuple[LM, ...] = ()  # the task's other models (models: in task.yaml)

    def models(self) -> list[LM]:
        """The task model(s), the proposer and the judge, each once."""
        every = (self.lm, *self.others, self.proposer, self.judge)
        return list({id(lm): lm for lm in every if lm}.values())

    def seed_key(self) -> PromptKey:
        """The first seed prompt as the search scores it first."""
        return self.space.key(self.space.baselines()[0])

    def model_calls(self) -> int:
        """Calls this process's models answered (cache misses)."""
        return sum(lm.counter.model_calls for lm in self.models())


@dataclass
class RunResult:
    run_id: str
    lock: dict
    stopped: str
    lock_path: Optional[Path]  # None when the winner did not beat the task's latest version
    finalists: list[dict] = field(default_factory=list)
    version: Optional[int] = None  # the new version recorded, if the run improved on the last
    promotion: str = ""  # why the winner did or did not become a new version

    @property
    def winner(self) -> dict:
        """The finalists' row of the key the run chose (its dev and test scores, its key id)."""
        return next(row for row in self.finalists if row["winner"])

    @property
    def baseline(self) -> Optional[dict]:
        """The finalists' row of the task's seed prompt, scored as written (None if the run
        did not score it, as a DSPy optimizer's run may not)."""
        return next((row for row in self.finalists if row["baseline"]), None)


def prepare(task: Task, store: Optional[Store], threads: Optional[int] = None) -> Prepared:
    """Validate everything a run will touch (data, metric, templates, model), making no call."""
    config = task.config
    _check_models(task)
    dataset = load_dataset(task)
    fields = config.data.input_fields
    judge = _judge_lm(task, store, threads)
    metric = task_metric(task, dataset, judge)
    if judge is None:  # a judge is checked by its rubric: trying it would be a model call
        _try_metric(metric, dataset, task.source)
    for index, seed in enumerate(config.prompt.seeds):
        check_template(seed, fields, task.source, f"prompt.seeds[{index}]")
    if config.prompt.format:
        check_template(config.prompt.format, fields, task.source, "prompt.format")
    lm = _make_lm(task, config.model, store, threads)
    others = tuple(_make_lm(task, name, store, threads) for name in (config.models or [])[1:])
    same = task.proposer == config.model
    proposer = lm if same else _make_lm(task, task.proposer, store, threads)
    style = config.prompt.style if config.prompt.style != "auto" else lm.default_style
    space = SearchSpace(dataset, fields, config.data.target_name, list(config.prompt.seeds),
                        config.prompt.format, style, config.search.seed,
                        config.search.max_demos, reasoning_options(config.search),
                        likelihood=config.prompt.answer == "likelihood")
    for model in (lm, *others):
        _check_answer_reading(task, dataset, model, style)
    max_tokens = config.lm.max_tokens or answer_budget(dataset)
    return Prepared(task, dataset, metric, lm, proposer, space, style, max_tokens, judge,
                    others)


def evaluator_for(prepared: Prepared, store, run_id: str, *, concurrency: Optional[int] = None,
                  max_tokens: Optional[int] = None) -> Union[Evaluator, ModelsEvaluator]:
    """The run's Evaluator; with several models, one per model under `run_id@N`, combined by
    search.objective."""
    config = prepared.task.config

    def one(lm: LM, scope: str) -> Evaluator:
        return Evaluator(lm, prepared.metric, store, scope,
                         max_tokens=max_tokens or prepared.max_tokens,
                         concurrency=concurrency or config.lm.concurrency
                         or lm.default_concurrency, dev_score=config.search.dev_score)

    if not prepared.others:
        return one(prepared.lm, run_id)
    return ModelsEvaluator([one(lm, f"{run_id}@{place}") for place, lm in
                            enumerate((prepared.lm, *prepared.others))], config.search.objective)


def _check_answer_reading(task: Task, dataset: Dataset, lm: LM, style: str) -> None:
    """Label likelihoods need labels, a prompt scored as text, and a model that scores it."""
    config, refuse = task.config, None
    if config.prompt.answer == "likelihood":
        if not dataset.labels:
            refuse = ("prompt.answer", "likelihood answers are for label tasks",
                      "give prompt.labels, or use prompt.answer: generate")
        elif style != "completion":
            refuse = ("prompt.style", "likelihood answers score completion-style prompts",
                      "set prompt.style: completion")
        elif config.search.reasoning:
            refuse = ("search.reasoning", "a likelihood answer has no reasoning before it",
                      "turn search.reasoning off, or use prompt.answer: generate")
        elif not lm.is_local:
            refuse = ("prompt.answer", f"{lm.model} gives no log-probabilities here",
                      "use a local model (local/NAME), or prompt.answer: generate")
    elif config.search.dev_score == "probability":
        refuse = ("search.dev_score", "a probability needs likelihood answers",
                  "set prompt.answer: likelihood, or search.dev_score: metric")
    if refuse:
        raise InputError(refuse[1], source=task.source, field=refuse[0], fix=refuse[2])


def reasoning_options(search: SearchSpec) -> tuple[Optional[Reasoning], ...]:
    """The space's reasoning choices: off, then one per cue when the task turns it on."""
    spec = search.reasoning_spec()
    if spec is None:
        return (None,)
    return (None, *(Reasoning(cue, spec.max_tokens) for cue in spec.cues or CUES))


def _check_models(task: Task) -> None:
    config = task.config
    if config.models and config.search.strategy.startswith("dspy-"):
        raise InputError("DSPy's optimizers score one model", source=task.source,
                         field="search.strategy", fix="use a promptsearch strategy (auto), or "
                                                      "one model")


def _judge_lm(task: Task, store: Optional[Store], threads: Optional[int]) -> Optional[LM]:
    spec = task.config.metric
    if isinstance(spec, str) or spec.judge is None:
        return None
    if task.config.search.strategy.startswith("dspy-"):
        raise InputError("DSPy's optimizers score answers without their inputs; a judge needs "
                         "them", source=task.source, field="search.strategy",
                         fix="use a promptsearch strategy (auto)")
    return _make_lm(task, spec.judge.model, store, threads)


def task_metric(task: Task, dataset: Dataset, judge: Optional[LM] = None) -> Metric:
    """The task's metric; a structured target's combines one per field."""
    config = task.config
    if judge is not None:
        return judge_metric(config.metric.judge, judge, config.data.input_fields, task.source)
    if dataset.fields:
        if config.search.strategy.startswith("dspy-"):
            raise InputError("DSPy's optimizers take a single text target", source=task.source,
                             field="search.strategy", fix="use a promptsearch strategy (auto)")
        return structured_metric(config.metric, dataset.fields, task.source, str(task.base_dir))
    if not isinstance(config.metric, str):
        raise InputError("metrics by field need a structured target", source=task.source,
                         field="metric", fix="give data.target a list of columns, or one "
                                             "column of JSON objects; else name one metric")
    return get_metric(config.metric, task.source, str(task.base_dir))


def _try_metric(metric: Metric, dataset: Dataset, source: str) -> None:
    """A metric that fails or returns something other than a score fails here, before any
    model call: scored on the first dev target against itself."""
    example = (dataset.dev or dataset.pool)[0]
    try:
        metric.judge(example.target, example.target)
    except InputError as exc:
        raise InputError(str(exc), source=source) from None
    except Exception as exc:  # a user's metric function may raise anything
        raise InputError(f"metric {metric.name} failed on a target scored against itself: "
                         f"{type(exc).__name__}: {exc}", source=source, field="metric",
                         fix="make the function accept (prediction, target) strings") from None


def answer_budget(dataset: Dataset) -> int:
    """Room for twice the longest target (about 3 characters a token) plus a little: generating
    far past the answer is most of the cost of a wrong completion on a small model."""
    longest = max(len(example.target) for example in dataset.pool + dataset.dev)
    return min(512, max(8, 2 * (longest // 3 + 1) + 4))


def _make_lm(task: Task, model: str, store: Optional[Store], threads: Optional[int]) -> LM:
    spec = task.config.lm
    lm = LM(model, cache=store, api_base=spec.api_base, timeout=spec.timeout,
            retries=spec.retries, threads=threads or spec.threads, api_key_env=spec.api_key_env,
            backoff=spec.backoff)
    try:
        lm.identity()
    except InputError as exc:
        raise InputError(str(exc), source=task.source) from None
    return lm


# Settings added after stores held runs: at their defaults they are left out of a run's id.
ADDED_SETTINGS = ((("search", "reasoning"), False), (("search", "dev_score"), "metric"),
                  (("prompt", "answer"), "generate"), (("search", "objective"), "mean"),
                  (("models",), None))


def run_id_prefix(task: Task, dataset_hash: str) -> str:
    """The run's identity: the task config and data, less what only says when to stop (a run
    stopped by --max-error-rate or at a perfect dev score resumes with another setting)."""
    config = task.config.model_dump(mode="json")
    for stop_rule in ("max_error_rate", "stop_at_perfect_dev"):
        config["search"].pop(stop_rule, None)
    for path, default in ADDED_SETTINGS:  # tasks that leave them keep their run ids
        *sections, name = path
        holder = config[sections[0]] if sections else config
        if holder.get(name, default) == default:
            holder.pop(name, None)
    if isinstance(config["metric"], dict) and config["metric"].get("judge") is None:
        config["metric"].pop("judge", None)  # likewise for structured tasks without a judge
    digest = hashlib.sha256(json.dumps([config, dataset_hash], sort_keys=True).encode())
    return f"{task.name}-{digest.hexdigest()[:10]}"
