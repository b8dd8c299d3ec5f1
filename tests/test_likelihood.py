"""Label likelihoods: a label task's answer may be its most likely label word, each word scored
in full as a continuation of the prompt; no answer is then unparseable, and dev may rank keys
by the correct label's probability."""

import json
import math

import pytest
from conftest import DATA, REPO, write_task

from promptsearch import load_best, run
from promptsearch.core.key import OutputSpec, PromptKey
from promptsearch.core.likelihood import most_likely, probabilities
from promptsearch.core.metrics import get_metric
from promptsearch.errors import InputError
from promptsearch.evaluation.evaluate import Evaluator
from promptsearch.lm.client import LOCAL_MODELS, Completion
from promptsearch.pipeline.prepare import prepare
from promptsearch.storage.store import Store
from promptsearch.task.config import load_task
from promptsearch.task.data import Example

LABELS = ("positive", "negative")


def test_probabilities_are_normalised_over_the_labels():
    found = probabilities(json.dumps([math.log(0.2), math.log(0.05)]), LABELS)
    assert found == pytest.approx({"positive": 0.8, "negative": 0.2})
    assert most_likely("[-5.0, -0.1]", LABELS) == "negative"
    assert probabilities("not scores", LABELS) is None and most_likely("[1]", LABELS) is None


def test_a_likelihood_key_reads_its_answer_from_the_scores_and_keeps_plain_ids():
    plain = OutputSpec(LABELS, ("good", "bad"))
    key = PromptKey(format="Review: {{ input }}\nSentiment:",
                    output=OutputSpec(LABELS, ("good", "bad"), likelihood=True))
    assert "likelihood" not in plain.to_dict() and key.output.words == ("good", "bad")
    assert PromptKey.from_dict(json.loads(key.to_json())) == key
    assert key.read("[-2.0, -0.5]") == "negative"


class ScoringModel:
    """Scores label words as a model would: the word the review contains is likely."""

    def __init__(self):
        self.requests = []

    def continuation_logprobs(self, prompt, continuations):
        self.requests.append((prompt, continuations))
        review = prompt.rsplit("Review: ", 1)[1]
        return Completion(json.dumps([-0.1 if c.strip() in review else -2.3
                                      for c in continuations]), 10, 0)


def test_dev_can_rank_by_the_correct_labels_probability_and_test_by_the_metric(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    key = PromptKey(format="Review: {{ input }}\nSentiment:",
                    output=OutputSpec(LABELS, likelihood=True))
    examples = [Example({"input": "positive vibes"}, "positive"),
                Example({"input": "negative, sadly"}, "positive")]
    lm = ScoringModel()
    evaluator = Evaluator(lm, get_metric("exact_match"), store, "run", dev_score="probability")
    dev = evaluator.score(key, examples, "dev")
    test = evaluator.score(key, examples, "test")
    right = 1 / (1 + math.exp(-2.2))  # the likely word's share of the two
    assert dev.scores == pytest.approx([right, 1 - right]) and test.scores == [1.0, 0.0]
    assert dev.unparseable == test.unparseable == 0
    assert lm.requests[0][1] == [" positive", " negative"]  # each word after the separator


@pytest.mark.parametrize("change, field", [
    (("style: completion", "style: chat"), "prompt.style"),
    (("  answer: likelihood\n", "  answer: generate\n"), "search.dev_score"),
    (("model: local/gemma-3-270m", "model: fake/scripted"), "prompt.answer"),
    (("sentiment/", "sum/"), "prompt.answer"),  # no labels to score
])
def test_likelihoods_are_refused_where_they_cannot_work(tmp_path, change, field):
    text = _sentiment(tmp_path, 40, "  dev_score: probability\n").read_text()
    with pytest.raises(InputError) as refused:
        prepare(load_task(write_task(tmp_path, text.replace(*change))), None)
    assert field in str(refused.value)


def _sentiment(folder, lm_calls: int, extra: str = ""):
    return write_task(folder, f"""\
name: sentiment_likely
data:
  train: {DATA}/sentiment/train.jsonl
  test: {DATA}/sentiment/test.jsonl
  dev_size: 8
  test_size: 16
model: local/gemma-3-270m
prompt:
  answer: likelihood
  seeds: ["Classify the sentiment of the review as positive or negative."]
  style: completion
search:
  strategy: tpe
  budget: {{lm_calls: {lm_calls}}}
  finalists: 1
  seed: 0
{extra}""")


@pytest.mark.model
def test_a_search_on_the_embedded_model_never_leaves_a_label_unparseable(tmp_path):
    task = _sentiment(tmp_path, 40, "  dev_score: probability\n")
    result = run(task, results_dir=tmp_path / "results", promote="always")
    assert result.lock["scores"]["dev_by"] == "probability"
    assert all(row["unparseable"] == 0 for row in result.finalists)
    best = load_best("sentiment_likely", tmp_path / "results")
    assert best.key.output.likelihood
    assert best.predict(input="a moving, beautiful film") in LABELS
    scores, tokens = LOCAL_MODELS.continuation_logprobs(
        "gemma-3-270m", best.render(input="dull"), [" positive", " negative"], 2)
    assert tokens > 0 and all(score < 0 for score in scores)


def test_the_benchmarks_label_tasks_are_label_tasks():
    for name in ("sentiment", "word_in_context"):
        prepared = prepare(load_task(REPO / "benchmarks" / "tasks" / f"{name}.yaml"), None)
        assert prepared.dataset.labels, name
