"""Metrics: pure functions, greater is better, looked up by name.

Per-example metrics score one (prediction, target) pair in [0, 1]; the run's score is their mean.
`accuracy` is the mean of exact matches (a proportion, so its interval is Wilson's); `f1_macro`
is a corpus metric computed by scikit-learn over all pairs (its intervals and tests resample
examples and recompute it). The generation metrics `chrf`, `bleu` (corpus metrics) and `rouge_l`
live in core.text_metrics; they compare text as written (case kept) and score an unparseable
answer as an empty one.
"""

from __future__ import annotations

import importlib.util
import json
import numbers
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from sklearn.metrics import f1_score

from promptsearch.core import structured, text_metrics
from promptsearch.errors import InputError

PairMetric = Callable[[str, str], float]
FEEDBACK_CHARS = 500  # what is kept of a metric's feedback on one answer


def _norm(text: str) -> str:
    return " ".join(str(text).strip().lower().split())


def exact_match(prediction: str, target: str) -> float:
    return float(_norm(prediction) == _norm(target))


def contains(prediction: str, target: str) -> float:
    return float(_norm(target) in _norm(prediction))


def numeric(prediction: str, target: str, tolerance: float = 1e-6) -> float:
    found = re.search(r"-?\d+(?:[.,]\d+)?", prediction.replace(",", ""))
    try:
        return float(found is not None and abs(float(found.group()) - float(target)) <= tolerance)
    except ValueError:
        return 0.0


def _spaces(text: str) -> str:
    return " ".join(str(text).split())


@dataclass(frozen=True)
class Metric:
    name: str
    per_example: PairMetric
    corpus: Optional[Callable[[Sequence[str], Sequence[str]], float]] = None
    # How a corpus metric sees answers and targets, and what stands for an unparseable answer:
    # labels are compared case-blind and a missing answer must match no label; texts keep
    # their case and a missing answer is an empty one.
    clean: Callable[[str], str] = _norm
    missing: str = "\x00unparseable"
    gives_feedback: bool = False  # a Python metric may say why an answer is wrong
    parts: tuple = ()  # a structured answer's (field, Metric) pairs
    # A grader that reads the example's inputs too, making a model call per answer (an LLM
    # judge, promptsearch.evaluation.judge): (prediction, target, inputs) -> a metric result.
    grader: Optional[Callable[[str, str, dict], object]] = None

    def score(self, prediction: Optional[str], target: str) -> float:
        """Unparseable answers (None) score as wrong."""
        return self.judge(prediction, target)[0]

    def field_scores(self, prediction: Optional[str], target: str) -> dict[str, float]:
        """A structured answer's score on each field (all 0 when it is unparseable)."""
        if prediction is None:
            return {name: 0.0 for name, _ in self.parts}
        return _each_field(dict(self.parts), prediction, target)

    def judge(self, prediction: Optional[str], target: str,
              inputs: Optional[dict] = None) -> tuple[float, Optional[str]]:
        """(score, feedback): a Python metric may say why an answer is wrong (metric_result);
        a grader is given the example's inputs as well."""
        if prediction is None:
            return 0.0, None
        if self.grader is not None:
            return metric_result(self.name, self.grader(prediction, target, inputs or {}))
        return metric_result(self.name, self.per_example(prediction, target))

    @property
    def calls_per_answer(self) -> int:
        """Model calls the metric makes to score one answer (a judge's verdict)."""
        return int(self.grader is not None)

    def aggregate(self, predictions: Sequence[Optional[str]], targets: Sequence[str],
                  scores: Sequence[float]) -> float:
        if not scores:
            return 0.0
        if self.corpus is None:
            return sum(scores) / len(scores)
        cleaned = [self.missing if p is None else self.clean(p) for p in predictions]
        return float(self.corpus(cleaned, [self.clean(t) for t in targets]))


def metric_result(name: str, value) -> tuple[float, Optional[str]]:
    """A metric function's return: a score, `(score, feedback)`, or `{"score": ...,
    "feedback": ...}`; the score in [0, 1], the feedback a short text saying what was wrong."""
    feedback = None
    if isinstance(value, dict) and "score" in value:
        value, feedback = value["score"], value.get("feedback")
    elif isinstance(value, tuple) and len(value) == 2:
        value, feedback = value
    if not isinstance(value, numbers.Real) or not 0 <= value <= 1:  # bools and numpy included
        raise InputError(f"metric {name} returned {value!r}", field="metric",
                         fix="return a score in [0, 1], (score, feedback) or "
                             "{'score': ..., 'feedback': ...}")
    return float(value), None if feedback in (None, "") else str(feedback)[:FEEDBACK_CHARS]


def set_f1(prediction: str, target: str) -> float:
    """F1 of two sets of items: JSON lists, or comma-separated text (case and spaces aside)."""
    mine, theirs = _items(prediction), _items(target)
    if not mine and not theirs:
        return 1.0
    shared = len(mine & theirs)
    return 0.0 if not shared else 2 * shared / (len(mine) + len(theirs))


def _items(text: str) -> set[str]:
    try:
        value = json.loads(text)
    except ValueError:
        value = text.split(",")
    values = value if isinstance(value, list) else [value]
    return {_norm(item) for item in values if _norm(item)}


def _f1_macro(predictions, targets) -> float:
    return f1_score(targets, predictions, average="macro", labels=sorted(set(targets)),
                    zero_division=0)


REGISTRY: dict[str, Metric] = {
    "exact_match": Metric("exact_match", exact_match),
    "contains": Metric("contains", contains),
    "numeric": Metric("numeric", numeric),
    "accuracy": Metric("accuracy", exact_match),
    "f1_macro": Metric("f1_macro", exact_match, _f1_macro),
    "chrf": Metric("chrf", text_metrics.chrf, text_metrics.corpus_chrf, _spaces, ""),
    "bleu": Metric("bleu", text_metrics.bleu, text_metrics.corpus_bleu, _spaces, ""),
    "rouge_l": Metric("rouge_l", text_metrics.rouge_l),
    "set_f1": Metric("set_f1", set_f1),
}


def structured_metric(spec, fields, source: str = "task",
                      search_path: Optional[str] = None) -> Metric:
    """The metric of a JSON answer: each field scored by its metric (`spec` a name for every
    field, or a task.config.FieldMetrics), the example's score their weighted mean. A field's
    metric scores one example at a time (corpus metrics are refused: a field has no corpus of
    its own inside an example's score)."""
    names = [name for name, _ in fields]
    per_field = {name: spec for name in names} if isinstance(spec, str) else \
        {name: spec.fields.get(name, "exact_match") for name in names}
    weights = {name: 1.0 for name in names} if isinstance(spec, str) or not spec.weights else \
        {name: float(spec.weights.get(name, 0.0)) for name in names}
    unknown = sorted(set(() if isinstance(spec, str) else (*spec.fields, *spec.weights))
                     - set(names))
    if unknown:
        raise InputError(f"no target field(s) {', '.join(unknown)}", source=source,
                         field="metric", fix=f"name fields of the target: {', '.join(names)}")
    metrics = {name: get_metric(text, source, search_path) for name, text in per_field.items()}
    corpus = sorted(name for name, metric in metrics.items() if metric.corpus is not None)
    if corpus:
        raise InputError(f"corpus metric for field(s) {', '.join(corpus)}", source=source,
                         field="metric", fix="score fields with per-example metrics "
                                             "(exact_match, numeric:TOL, set_f1, chrf, ...)")
    return Metric(_describe(per_field, weights), _fields_score(metrics, weights),
                  gives_feedback=False, parts=tuple(metrics.items()))


def _describe(per_field: dict, weights: dict) -> str:
    return "fields(" + ", ".join(f"{name}: {metric}" + (f" x{weights[name]:g}"
                                                          if weights[name] != 1 else "")
                                  for name, metric in per_field.items()) + ")"


def _fields_score(metrics: dict, weights: dict):
    total = sum(weights.values())

    def score(prediction: str, target: str) -> float:
        scores = _each_field(metrics, prediction, target)
        return sum(weights[name] * scores[name] for name in metrics) / total

    return score


def _each_field(metrics: dict, prediction: str, target: str) -> dict[str, float]:
    """Each field of a structured answer scored by its metric against the target's."""
    mine, truth = structured.values_of(prediction), structured.values_of(target)
    return {name: metric.score(structured.shown(mine[name]), structured.shown(truth[name]))
            for name, metric in metrics.items()}


def get_metric(name: str, source: str = "task", search_path: Optional[str] = None) -> Metric:
    """Resolve `exact_match`, `numeric:0.01`, `regex:PATTERN` or `python:module:function`."""
    if name in REGISTRY:
        return REGISTRY[name]
    kind, _, argument = name.partition(":")
    if kind == "regex" and argument:
        return _regex_metric(name, argument, source)
    if kind == "numeric" and argument:
        tolerance = _float(argument, source)
        return Metric(name, lambda p, t: numeric(p, t, tolerance))
    if kind == "python" and argument.count(":") == 1:
        return Metric(name, _python_metric(argument, source, search_path), gives_feedback=True)
    raise InputError(f"unknown metric {name!r}", source=source, field="metric",
                     fix=f"use one of {', '.join(REGISTRY)}, numeric:TOL, regex:PATTERN or "
                         "python:module:function")


def _regex_metric(name: str, pattern: str, source: str) -> Metric:
    """The prediction is right when the pattern's first group (or match) equals the target."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise InputError(f"bad regex: {exc}", source=source, field="metric",
                         fix="write a valid Python regular expression") from None

    def score(prediction: str, target: str) -> float:
        found = compiled.search(prediction)
        if not found:
            return 0.0
        return exact_match(found.group(1) if compiled.groups else found.group(), target)

    return Metric(name, score)


def _float(text: str, source: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"tolerance {text!r} is not a number", source=source, field="metric",
                         fix="write numeric:0.01") from None


def _fresh_import(module_name: str, search_path: Optional[str]):
    """The module as the task's folder holds it now: a module file there is executed afresh,
    even if a module of that name was imported before (from another task's folder, or before
    an edit), so a process that runs several tasks (a notebook, a test) scores each with its
    own metric. Elsewhere, a plain import."""
    path = Path(search_path or ".") / (module_name.replace(".", "/") + ".py")
    if search_path is None or not path.is_file():
        return importlib.import_module(module_name)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def _python_metric(argument: str, source: str, search_path: Optional[str]) -> PairMetric:
    """Import the function the task names (and only that), from the task's folder or sys.path."""
    import sys

    module_name, function_name = argument.split(":")
    added = search_path is not None and search_path not in sys.path
    if added:
        sys.path.insert(0, search_path)
    try:
        function = getattr(_fresh_import(module_name, search_path), function_name)
    except (ImportError, AttributeError) as exc:
        raise InputError(f"cannot load metric {argument}: {exc}", source=source, field="metric",
                         fix="name an importable module:function next to the task file") from None
    finally:
        if added:
            sys.path.remove(search_path)
    if not callable(function):
        raise InputError(f"{argument} is not callable", source=source, field="metric",
                         fix="name a function (prediction, target) -> float")
    return function
