"""`judge-check`: how far a task's LLM judge agrees with exact answers, before anyone trusts it.

On dev examples (never test), the judge grades three kinds of answer whose truth exact match
decides: the task model's own answers with the seed prompt (right or wrong, as a search meets
them), the reference answer itself (right), and another example's reference (wrong, unless it
happens to be the same). Agreement (with Wilson's interval) and Cohen's kappa (scikit-learn;
chance-corrected, so a judge that passes everything scores 0) are given overall and on the
model's answers alone, which is where a judge earns its keep."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

from sklearn.metrics import cohen_kappa_score, confusion_matrix

from promptsearch.core.metrics import exact_match
from promptsearch.core.stats import wilson
from promptsearch.errors import InputError
from promptsearch.evaluation.evaluate import ask
from promptsearch.evaluation.judge import JudgeFailed
from promptsearch.pipeline.prepare import Prepared

PASS_AT = 0.5  # a 1-5 verdict of 3 or more counts as a pass
KINDS = ("model answer", "reference", "other reference")


@dataclass
class Graded:
    kind: str
    example_id: str
    answer: str
    correct: bool      # exact match with the reference
    passed: bool       # the judge's verdict
    verdict: str       # its words


@dataclass
class Agreement:
    subset: str
    n: int
    agreement: float
    low: float
    high: float
    kappa: Optional[float]  # None when one side saw a single class: kappa is undefined
    confusion: list[list[int]] = field(default_factory=list)  # [[TN, FP], [FN, TP]]


@dataclass
class JudgeReport:
    judge: str
    examples: int
    graded: list[Graded]
    overall: Agreement
    on_model_answers: Agreement
    judge_calls: int

    def as_dict(self) -> dict:
        return asdict(self)


def check_judge(prepared: Prepared, examples: int) -> JudgeReport:
    if prepared.judge is None:
        raise InputError("the task's metric is not a judge", source=prepared.task.source,
                         field="metric", fix="set metric: {judge: {model: ...}}")
    chosen, seed = prepared.dataset.dev[:examples], prepared.seed_key()
    graded = [g for index, example in enumerate(chosen)
              for g in _grade_example(prepared, seed, example, chosen, index)]
    model_answers = [g for g in graded if g.kind == KINDS[0]]
    return JudgeReport(prepared.metric.name, len(chosen), graded, agreement("all", graded),
                       agreement("the model's answers", model_answers),
                       len(graded))


def _grade_example(prepared: Prepared, seed, example, chosen, index: int) -> list[Graded]:
    reply = ask(prepared.lm, seed, example.inputs, prepared.max_tokens)
    own = None if reply.error else seed.read(reply.text)
    other = chosen[(index + 1) % len(chosen)].target
    answers = [(KINDS[0], own), (KINDS[1], example.target), (KINDS[2], other)]
    return [_grade(prepared, example, kind, answer) for kind, answer in answers
            if answer is not None and not (kind == KINDS[2] and len(chosen) < 2)]


def _grade(prepared: Prepared, example, kind: str, answer: str) -> Graded:
    try:
        score, verdict = prepared.metric.judge(answer, example.target, example.inputs)
    except JudgeFailed as exc:
        raise InputError(str(exc), field="metric.judge.model",
                         fix="check that the judge's model answers (promptsearch plan)") from None
    return Graded(kind, example.id, answer, bool(exact_match(answer, example.target)),
                  score >= PASS_AT, verdict or "")


def agreement(subset: str, graded: list[Graded]) -> Agreement:
    truth = [g.correct for g in graded]
    verdicts = [g.passed for g in graded]
    same = sum(t == v for t, v in zip(truth, verdicts))
    if not graded:
        return Agreement(subset, 0, 0.0, 0.0, 1.0, None)
    low, high = wilson(same, len(graded))
    two_sided = len(set(truth)) > 1 and len(set(verdicts)) > 1
    kappa = float(cohen_kappa_score(truth, verdicts)) if two_sided else None
    matrix = confusion_matrix(truth, verdicts, labels=[False, True]).tolist()
    return Agreement(subset, len(graded), same / len(graded), low, high, kappa, matrix)


def trust_text(kappa: Optional[float]) -> str:
    """Landis and Koch's (1977) words for kappa, with what follows for a search."""
    if kappa is None:
        return "kappa undefined (the answers or the verdicts were all of one kind): no evidence"
    if kappa < 0.4:
        return "poor to fair agreement: do not search by this judge"
    if kappa < 0.6:
        return "moderate agreement: its scores are noisy; compare keys only by wide margins"
    if kappa < 0.8:
        return "substantial agreement"
    return "almost perfect agreement"
