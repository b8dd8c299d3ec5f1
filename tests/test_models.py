"""One key for several models (task.yaml `models:`): each candidate is answered by every model,
search.objective combines the scores, and the budget, lock file and plan count every model."""

import json

import pytest
from conftest import write_task, write_upper_task

from promptsearch.api import load_best, open_store
from promptsearch.cli.main import main
from promptsearch.core.metrics import get_metric
from promptsearch.errors import InputError
from promptsearch.evaluation.evaluate import KeyScore
from promptsearch.evaluation.models import ModelsEvaluator
from promptsearch.pipeline.plan import make_plan
from promptsearch.pipeline.prepare import prepare
from promptsearch.task.config import load_task

MODELS = "models: [fake/scripted, fake/strict]\n"


def _score(values: list[float]) -> KeyScore:
    ids = [f"e{i}" for i in range(len(values))]
    return KeyScore("k", sum(values) / len(values), list(values), ["x"] * len(values),
                    lm_calls=len(values), targets=["x"] * len(values), example_ids=ids)


@pytest.mark.parametrize("objective, score, ids", [
    ("mean", 0.5, ["0:e0", "0:e1", "1:e0", "1:e1"]),
    ("worst", 0.25, ["e0", "e1"]),  # the worst model's answers, paired by example
])
def test_the_objective_combines_the_models_scores(objective, score, ids):
    combined = ModelsEvaluator([_Evaluator()], objective).combine(
        [_score([1.0, 0.5]), _score([0.5, 0.0])])
    assert combined.score == pytest.approx(score) and combined.example_ids == ids
    assert combined.lm_calls == 4  # every model's calls are counted


class _Evaluator:
    metric = get_metric("exact_match")
    store = None
    on_answer = None


def _strict_needs_more_demos(prompt: str, answer):
    """fake/strict answers right only with four demos or more; fake/scripted with one."""
    text = answer(prompt)
    from conftest import SCRIPTED

    if SCRIPTED.asked.model.endswith("strict") and prompt.count("\nOutput:") < 5:
        return text.lower()
    return text


@pytest.fixture
def two_models(fake_model, monkeypatch):
    answer = fake_model.reply
    monkeypatch.setattr(fake_model, "reply",
                        lambda prompt: _strict_needs_more_demos(prompt, answer))
    return fake_model


def _task(folder, objective: str = "worst"):
    text = write_upper_task(folder).read_text().replace("model: fake/scripted\n", MODELS)
    text = text.replace("  seed: 3\n", f"  seed: 3\n  objective: {objective}\n")
    return write_task(folder, text.replace("lm_calls: 120", "lm_calls: 240"))


def test_the_worst_objective_finds_a_key_both_models_answer(tmp_path, two_models):
    results = tmp_path / "results"
    assert main(["run", str(_task(tmp_path)), "--results", str(results), "--quiet"]) == 0
    lock = json.loads((results / "upper" / "best.json").read_text())
    assert lock["models"] == ["fake/scripted", "fake/strict"]
    assert lock["model"] == "fake/scripted + fake/strict (worst)"
    assert lock["scores"]["test"] == 1.0 and lock["spent"]["lm_calls"] <= 240
    key = load_best("upper", results).key
    assert len(key.demos) >= 4 or (key.retrieval and key.retrieval.k >= 4)
    assert load_best("upper", results).model == "fake/scripted"  # an app's default model
    store = open_store(results, read_only=True)
    run = store.list_runs("upper")[-1]
    assert run["model"] == lock["model"]
    for place in (0, 1):  # each model's answers recorded apart
        assert store.get_evaluations(f"{run['id']}@{place}", lock["key_id"], "test")


def test_plan_counts_every_models_calls(tmp_path, two_models):
    plan = make_plan(prepare(load_task(_task(tmp_path, "mean")), None), None, probe=False)
    phases = {phase.name: phase for phase in plan.phases}
    assert phases["seed baseline on dev"].calls == 2 * 10
    assert "on each of 2 models" in phases["finalists on test"].note
    assert plan.model == "fake/scripted + fake/strict (mean)"


@pytest.mark.parametrize("text, field", [
    ("models: [fake/scripted, fake/scripted]\n", "models"),
    ("models: [fake/scripted, fake/strict]\nmodel: fake/strict\n", "model"),
])
def test_models_given_wrongly_are_refused(tmp_path, text, field):
    task = write_upper_task(tmp_path).read_text().replace("model: fake/scripted\n", text)
    with pytest.raises(InputError) as refused:
        load_task(write_task(tmp_path, task))
    assert field in str(refused.value)
