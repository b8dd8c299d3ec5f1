"""One key for several models: a candidate is scored on each model, and its score is the
objective over them (task.yaml `models:` and `search.objective`).

- mean: the metric over every model's answers together (for per-example metrics, the mean of
  the models' scores). Its interval and paired tests resample (model, example) answers.
- worst: the score on the model the key does worst on, with that model's answers.

Each model's answers are recorded under the run id with `@N` appended (N its place in
`models:`); a mean's example ids carry an `N:` prefix, so two keys are paired answer by answer,
model by model."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional, Sequence

from promptsearch.core.key import PromptKey
from promptsearch.evaluation.budget import BudgetMeter
from promptsearch.evaluation.evaluate import Evaluator, KeyScore
from promptsearch.task.data import Example


class ModelsEvaluator:
    def __init__(self, evaluators: list[Evaluator], objective: str):
        self.evaluators, self.objective = evaluators, objective
        self.metric, self.store = evaluators[0].metric, evaluators[0].store

    @property
    def on_answer(self) -> Optional[Callable[[], None]]:
        return self.evaluators[0].on_answer

    @on_answer.setter
    def on_answer(self, callback: Optional[Callable[[], None]]) -> None:
        for evaluator in self.evaluators:
            evaluator.on_answer = callback

    def score(self, key: PromptKey, examples: Sequence[Example], split: str,
              meter: Optional[BudgetMeter] = None) -> KeyScore:
        return self.combine([evaluator.score(key, examples, split, meter)
                             for evaluator in self.evaluators])

    def recorded(self, key: PromptKey, examples: Sequence[Example], split: str) -> KeyScore:
        return self.combine([evaluator.recorded(key, examples, split)
                             for evaluator in self.evaluators])

    def combine(self, scores: list[KeyScore]) -> KeyScore:
        counts = {name: sum(getattr(score, name) for score in scores)
                  for name in ("errors", "unparseable", "lm_calls", "judge_calls", "tokens",
                               "seconds")}
        complete = all(score.complete for score in scores)
        if self.objective == "worst":
            if any(score.score is None for score in scores):
                return replace(pooled(scores), score=None, complete=complete, **counts)
            worst = min(scores, key=lambda score: score.score)
            return replace(pooled([worst], by_model=False), complete=complete, **counts)
        together = pooled(scores)
        answers = together.answers()
        value = self.metric.aggregate(answers.predictions, answers.targets, answers.scores) \
            if answers.scores else None
        return replace(together, score=value, complete=complete, **counts)


def pooled(scores: list[KeyScore], by_model: bool = True) -> KeyScore:
    """The models' answers in one KeyScore, each example id prefixed by its model's place
    (`by_model`); a worst model's answers keep the plain ids, so that two keys whose worst
    models differ are still compared example by example."""
    def joined(name: str) -> list:
        return [item for score in scores for item in getattr(score, name)]

    ids = [f"{place}:{example_id}" if by_model else example_id
           for place, score in enumerate(scores) for example_id in score.example_ids]
    return KeyScore(key_id=scores[0].key_id, score=scores[0].score, scores=joined("scores"),
                    predictions=joined("predictions"), targets=joined("targets"),
                    example_ids=ids, replies=joined("replies"), feedback=joined("feedback"),
                    pruned=any(score.pruned for score in scores))
