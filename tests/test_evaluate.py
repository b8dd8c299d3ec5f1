"""Evaluator and budget with a scripted fake LM object (no litellm involved)."""

from dataclasses import dataclass

from promptsearch.evaluation.budget import BudgetMeter
from promptsearch.task.data import Example
from promptsearch.evaluation.evaluate import Evaluator
from promptsearch.core.key import Demo, OutputSpec, PromptKey
from promptsearch.lm.client import Completion
from promptsearch.core.metrics import get_metric
from promptsearch.storage.store import Store


@dataclass
class ScriptedLM:
    """Replies from a dict keyed by the query's input; missing inputs raise transport errors."""

    replies: dict
    model: str = "scripted"

    def __post_init__(self):
        self.prompts = []

    def complete(self, *, prompt=None, messages=None, max_tokens=48, stop=None, temperature=0.0):
        self.prompts.append(prompt)
        query = prompt.rsplit("Input: ", 1)[1].split("\n")[0]
        reply = self.replies.get(query)
        if reply is None:
            return Completion("", error="APIConnectionError: down")
        return Completion(reply, prompt_tokens=10, completion_tokens=2)


def _examples(count):
    return [Example({"input": f"q{i}"}, "positive" if i % 2 else "negative") for i in range(count)]


def _evaluator(tmp_path, replies):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    lm = ScriptedLM(replies)
    return Evaluator(lm, get_metric("exact_match"), store, "run-1"), lm, store


KEY = PromptKey("Classify.", (Demo({"input": "demo"}, "positive"),), "Input: {{ input }}\nOutput:",
                OutputSpec(("positive", "negative"), ("positive", "negative")))


def test_scores_counts_errors_and_unparseable_apart(tmp_path):
    replies = {"q0": " negative", "q1": " positive", "q2": " positive", "q3": " no idea"}
    evaluator, lm, store = _evaluator(tmp_path, replies)  # q4 is a transport error
    result = evaluator.score(KEY, _examples(5), "dev")
    assert result.scores == [1.0, 1.0, 0.0, 0.0, None]
    assert result.errors == 1 and result.unparseable == 1
    assert result.score == 0.5  # the error is left out, the unparseable answer is wrong
    rows = store.get_evaluations("run-1", KEY.id, "dev")
    assert len(rows) == 5 and rows[_examples(5)[3].id]["prediction"] is None
    prefix = "Classify.\n\nInput: demo\nOutput: positive"
    assert all(prompt.startswith(prefix) for prompt in lm.prompts)


def test_recorded_examples_are_not_asked_again(tmp_path):
    replies = {f"q{i}": " positive" for i in range(6)}
    evaluator, lm, _ = _evaluator(tmp_path, replies)
    evaluator.score(KEY, _examples(4), "dev")
    again = evaluator.score(KEY, _examples(6), "dev")
    assert len(lm.prompts) == 6 and again.lm_calls == 2 and again.complete


def test_budget_is_a_hard_cap_and_marks_the_score_incomplete(tmp_path):
    replies = {f"q{i}": " positive" for i in range(10)}
    evaluator, lm, _ = _evaluator(tmp_path, replies)
    meter = BudgetMeter(lm_calls=7)
    first = evaluator.score(KEY, _examples(5), "dev", meter)
    second = evaluator.score(KEY.with_(instruction="Other."), _examples(5), "dev", meter)
    assert first.complete and not second.complete
    assert meter.spent.lm_calls == 7 == len(lm.prompts)
    assert second.lm_calls == 2
