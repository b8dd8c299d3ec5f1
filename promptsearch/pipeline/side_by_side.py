"""`eval`: score given prompts on a task without searching, side by side, with 95% CIs.

A prompt that names an input field ({{ input }}) is a whole template; any other text is an
instruction laid out in the task's default format with no demos (as the seed prompts are)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

from promptsearch.core.key import PromptKey
from promptsearch.core.metrics import Metric
from promptsearch.core.stats import score_interval
from promptsearch.core.templates import check_template, fields_used
from promptsearch.evaluation.evaluate import KeyScore
from promptsearch.pipeline.prepare import evaluator_for, prepare
from promptsearch.task.config import Task


@dataclass
class Column:
    label: str
    key: PromptKey
    result: KeyScore
    metric: Metric

    @property
    def ci(self) -> tuple[float, float]:
        return score_interval(self.metric, self.result.answers())


def key_from_prompt(prepared, text: str, where: str) -> PromptKey:
    space = prepared.space
    check_template(text, space.fields, where, "--prompt")
    baseline = space.key(space.baselines()[0]) if space.n_seeds else PromptKey(style=space.style)
    if fields_used(text):
        return baseline.with_(instruction="", format=text, demos=(), retrieval=None)
    return baseline.with_(instruction=text, demos=(), retrieval=None)


def eval_run_id(prepared) -> str:
    identity = "+".join(lm.identity() for lm in (prepared.lm, *prepared.others))
    identity += f"|{prepared.max_tokens}"
    if prepared.judge is not None:  # verdicts recorded under one judge are not another's
        identity += f"|judge {prepared.judge.identity()}|{prepared.task.config.metric.judge}"
    return f"eval-{prepared.task.name}-{hashlib.sha256(identity.encode()).hexdigest()[:10]}"


def compare(task: Task, store, prompts: list[str], keys: list[tuple[str, PromptKey]],
            split: str = "test", threads: Optional[int] = None) -> tuple[list[Column], list]:
    """Score every prompt and key on the split; returns the columns and the examples."""
    prepared = prepare(task, store, threads)
    examples = prepared.dataset.test if split == "test" else prepared.dataset.dev
    columns = [(f"prompt {n}", key_from_prompt(prepared, text, task.source))
               for n, text in enumerate(prompts, 1)] + list(keys)
    # The answers are recorded per model (and answer length): a key scored again on another
    # model must not be served the first model's recorded answers.
    evaluator = evaluator_for(prepared, store, eval_run_id(prepared))
    return [Column(label, key, evaluator.score(key, examples, split), prepared.metric)
            for label, key in columns], list(examples)
