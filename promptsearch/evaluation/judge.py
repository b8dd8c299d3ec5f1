"""An LLM judge as a task's metric: a model grades each answer against a rubric (and, if the
task says so, the labeled answer), replying with a verdict and one sentence saying why.

The judge's calls go through the same client, call cache and store as the task model's; the
verdict's reason is stored as the example's feedback (shown by `eval --show`). A judge reply
with no readable verdict scores 0 and says so in the feedback; a judge call that fails after
retries fails the example (JudgeFailed), which is then asked again like any failed call.
`promptsearch judge-check` measures how far a judge agrees with exact answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from promptsearch.core import templates
from promptsearch.core.metrics import Metric
from promptsearch.errors import InputError
from promptsearch.lm.client import LM
from promptsearch.task.config import JudgeSpec

REASON_CHARS = 200
DEFAULT_RUBRIC = "The answer is a correct output for the input."
REFERENCE_RUBRIC = ("The answer is correct: it gives what the reference answer gives (the "
                    "wording may differ).")
SCALES = {
    "pass_fail": "On the first line write PASS if the answer meets the rubric, else FAIL. "
                 "On the second line say why in one short sentence.",
    "1-5": "On the first line write a score from 1 (wrong) to 5 (fully meets the rubric). "
           "On the second line say why in one short sentence.",
}
_PASS_FAIL = re.compile(r"\b(pass|fail)(?:ed|es)?\b", re.IGNORECASE)
_SCORE = re.compile(r"\b([1-5])\b")


class JudgeFailed(Exception):
    """The judge's call failed after retries: the example has no score yet."""


@dataclass(frozen=True)
class Judge:
    lm: LM
    spec: JudgeSpec
    fields: tuple[str, ...]  # the task's input fields

    def messages(self, answer: str, reference: str, inputs: dict) -> list[dict[str, str]]:
        values = {**inputs, "answer": answer, "reference": reference}
        rubric = templates.render(self.rubric_source(), values)
        shown = "\n".join(f"{name}: {inputs.get(name, '')}" for name in self.fields)
        if self.spec.reference:
            shown += f"\nreference answer: {reference}"
        return [{"role": "system", "content": f"You grade answers.\nRubric: {rubric}\n"
                                              f"{SCALES[self.spec.scale]}"},
                {"role": "user", "content": f"{shown}\nanswer to grade: {answer}"}]

    def rubric_source(self) -> str:
        if self.spec.rubric:
            return self.spec.rubric
        return REFERENCE_RUBRIC if self.spec.reference else DEFAULT_RUBRIC

    def __call__(self, answer: str, reference: str, inputs: dict) -> tuple[float, str]:
        reply = self.lm.complete(messages=self.messages(answer, reference, inputs),
                                 max_tokens=self.spec.max_tokens)
        if reply.error:
            raise JudgeFailed(f"judge {self.lm.model}: {reply.error}")
        return read_verdict(reply.text, self.spec.scale)


def read_verdict(reply: str, scale: str) -> tuple[float, str]:
    """(score in [0, 1], "VERDICT: reason"); a reply without a verdict scores 0."""
    found = (_PASS_FAIL if scale == "pass_fail" else _SCORE).search(reply)
    if found is None:
        return 0.0, f"no verdict in the judge's reply: {_one_line(reply)}"
    word = found.group(1)
    score = float(word.lower() == "pass") if scale == "pass_fail" else (int(word) - 1) / 4
    reason = _one_line(reply[found.end():].lstrip(" .:-*\n"))
    return score, f"{word.upper()}: {reason}" if reason else word.upper()


def _one_line(text: str) -> str:
    return " ".join(text.split())[:REASON_CHARS]


def judge_metric(spec: JudgeSpec, lm: LM, fields: tuple[str, ...], source: str) -> Metric:
    """The task's metric when metric.judge is set; its rubric is checked here, before any
    call."""
    names = (*fields, "answer", *(("reference",) if spec.reference else ()))
    if spec.rubric:
        templates.check_template(spec.rubric, names, source, "metric.judge.rubric")
    judge = Judge(lm, spec, fields)
    return Metric(f"judge({spec.model}, {spec.scale})", _needs_inputs, gives_feedback=True,
                  grader=judge)


def _needs_inputs(prediction: str, target: str) -> Optional[float]:
    raise InputError("an LLM judge scores answers with their inputs: Metric.judge(prediction, "
                     "target, inputs)", field="metric.judge",
                     fix="score through the Evaluator, which passes the inputs")
