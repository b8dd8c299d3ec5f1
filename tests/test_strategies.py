"""Every strategy's contract, with the scripted fake model reached through litellm."""

import pytest

from promptsearch import run
from promptsearch.api import open_store
from promptsearch.core.key import PromptKey
from promptsearch.search import STRATEGIES
from promptsearch.search.space import demo_counts

LLM_DRIVEN = ("ape", "opro", "protegi", "evolution", "evolution-de")


def _run(task_path, tmp_path, strategy, tag="a", budget=150):
    text = task_path.read_text().replace("strategy: tpe", f"strategy: {strategy}")
    task_path.write_text(text.replace("lm_calls: 120", f"lm_calls: {budget}"))
    store = open_store(storage=f"sqlite:///{tmp_path / f'{strategy}-{tag}.db'}")
    result = run(task_path, store=store, results_dir=tmp_path / f"results-{tag}")
    return store, result


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_strategy_respects_the_budget_exactly_and_proposes_valid_keys(
        strategy, upper_task, fake_model, tmp_path):
    store, result = _run(upper_task, tmp_path, strategy)
    spent = result.lock["spent"]
    candidates = store.list_candidates(result.run_id)
    assert spent["lm_calls"] <= 150
    framework_task_calls = spent["framework_calls"] - (spent["proposer_calls"]
                                                       if strategy.startswith("dspy") else 0)
    assert spent["lm_calls"] == (sum(c["lm_calls"] for c in candidates) + spent["proposer_calls"]
                                 + framework_task_calls)
    assert len(candidates) >= (2 if strategy.startswith("dspy") else 5)
    for candidate in candidates:
        key = PromptKey.from_dict(store.get_key(candidate["key_id"]))
        assert "word7" in key.render(input="word7")
    if strategy not in ("dspy-copro", "dspy-gepa"):  # those two only rewrite the instruction
        assert result.lock["scores"]["test"] == 1.0  # the scripted task needs demos
    if strategy in LLM_DRIVEN:  # the proposer wrote some of the keys
        assert spent["proposer_calls"] > 0
        assert any(c["origin"].startswith(f"{strategy}:") for c in candidates), candidates


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_strategy_is_reproducible_with_the_same_seed(strategy, upper_task, fake_model, tmp_path):
    # A smaller budget than the contract test above: determinism shows from the first trials.
    first_store, first = _run(upper_task, tmp_path, strategy, "a", budget=80)
    second_store, second = _run(upper_task, tmp_path, strategy, "b", budget=80)
    trace = [[c["key_id"] for c in store.list_candidates(result.run_id)]
             for store, result in ((first_store, first), (second_store, second))]
    assert trace[0] == trace[1]
    calls = fake_model.calls
    third = run(upper_task, store=first_store, results_dir=tmp_path / "results-c")
    if not strategy.startswith("dspy"):  # DSPy calls the model itself, past promptsearch's cache
        assert fake_model.calls == calls  # the same cache: not one model call
    assert [c["key_id"] for c in first_store.list_candidates(third.run_id)] == trace[0]


def test_auto_pulls_several_arms(upper_task, fake_model, tmp_path):
    store, result = _run(upper_task, tmp_path, "auto", budget=300)
    origins = {c["origin"].split(":")[0] for c in store.list_candidates(result.run_id)}
    assert len(origins & {"ape", "opro", "protegi", "evolution", "bank", "paraphrase"}) >= 3


def test_auto_races_by_default_and_tpe_learns_from_every_arm(upper_task, fake_model, tmp_path):
    import optuna

    upper_task.write_text(upper_task.read_text().replace("dev_size: 10", "dev_size: 30"))
    store, result = _run(upper_task, tmp_path, "auto", budget=400)
    candidates = store.list_candidates(result.run_id)
    assert result.lock["spent"]["racing_saved"] > 0
    assert any(c["status"] == "pruned" for c in candidates)
    study = optuna.load_study(study_name=result.run_id, storage=store.url)
    observed = [t for t in study.trials if "observed_from" in t.user_attrs]
    assert observed and len(observed) < len(study.trials)  # others' finds and its own asks
    scored = {(c["origin"], c["dev_score"]) for c in candidates if c["status"] == "complete"}
    assert all((t.user_attrs["observed_from"], t.value) in scored for t in observed)


def test_racing_stops_clearly_worse_candidates_and_reports_saved_calls(
        upper_task, fake_model, tmp_path):
    text = upper_task.read_text().replace("dev_size: 10", "dev_size: 30")
    upper_task.write_text(text.replace("  seed: 3", "  seed: 3\n  racing: true"))
    store, result = _run(upper_task, tmp_path, "random", budget=400)
    candidates = store.list_candidates(result.run_id)
    pruned = [c for c in candidates if c["status"] == "pruned"]
    assert pruned and all(c["examples"] < 30 for c in pruned)
    assert result.lock["spent"]["racing_saved"] == sum(30 - c["examples"] for c in pruned)
    assert result.lock["scores"]["test"] == 1.0
    assert all(row["key_id"] not in {c["key_id"] for c in pruned} or row["baseline"]
               for row in result.finalists)


def test_sign_test():
    from promptsearch.evaluation.racing import sign_test_p

    assert sign_test_p([0] * 8, [1] * 8) == 1 / 256
    assert sign_test_p([1] * 8, [0] * 8) == 1.0
    assert sign_test_p([1, 0], [1, 0]) == 1.0


@pytest.mark.parametrize("strategy", ["dspy-bootstrap", "dspy-copro"])
def test_dspy_parse_failures_are_counted_and_the_run_still_finishes(
        strategy, upper_task, fake_model, tmp_path, monkeypatch):
    monkeypatch.setattr(fake_model, "dspy_reply", lambda prompt: "Sure! It is probably WORD.")
    store, result = _run(upper_task, tmp_path, strategy)
    assert result.lock["spent"]["parse_failures"] > 0
    origins = [c["origin"] for c in store.list_candidates(result.run_id)]
    assert any(o.split(":")[0] == strategy for o in origins)  # its key was still scored


def test_dspy_stops_when_the_budget_runs_out_inside_its_optimizer(
        upper_task, fake_model, tmp_path):
    store, result = _run(upper_task, tmp_path, "dspy-mipro", budget=40)
    spent = result.lock["spent"]
    assert spent["lm_calls"] <= 40 and spent["framework_calls"] > 0
    origins = [c["origin"] for c in store.list_candidates(result.run_id)]
    assert "dspy-mipro:unfinished" in origins  # the starting program, scored instead


def test_gepa_ends_itself_before_the_cap_and_returns_its_best_program(
        upper_task, fake_model, tmp_path):
    # its light preset plans ~420 metric calls here; the cap is 40
    store, result = _run(upper_task, tmp_path, "dspy-gepa", budget=40)
    spent = result.lock["spent"]
    assert 0 < spent["framework_calls"] and spent["lm_calls"] <= 40
    origins = [c["origin"] for c in store.list_candidates(result.run_id)]
    assert "dspy-gepa" in origins and "dspy-gepa:unfinished" not in origins


def test_demo_counts_double_up_to_the_maximum():
    assert demo_counts(0) == (0,)
    assert demo_counts(8) == (0, 1, 2, 4, 8)
    assert demo_counts(6) == (0, 1, 2, 4, 6)


def _demo_counts_with_max_demos(upper_task, tmp_path, strategy: str, limit: int) -> set[int]:
    upper_task.write_text(upper_task.read_text().replace(
        "  seed: 3", f"  seed: 3\n  max_demos: {limit}"))
    store, result = _run(upper_task, tmp_path, strategy)
    counts = set()
    for candidate in store.list_candidates(result.run_id):
        key = store.get_key(candidate["key_id"])
        counts.add(key["retrieval"]["k"] if key.get("retrieval") else len(key["demos"]))
    return counts


@pytest.mark.parametrize("strategy", ["random", "tpe", "auto", "evolution"])
def test_no_key_carries_more_demos_than_max_demos(strategy, upper_task, fake_model, tmp_path):
    counts = _demo_counts_with_max_demos(upper_task, tmp_path, strategy, 2)
    assert counts <= {0, 1, 2} and len(counts) >= 2, counts


def test_dspy_bootstrap_keeps_to_max_demos(upper_task, fake_model, tmp_path):
    counts = _demo_counts_with_max_demos(upper_task, tmp_path, "dspy-bootstrap", 1)
    assert counts == {0, 1}, counts  # its starting program has none; bootstrapped ones carry 1


def test_only_a_ranked_perfect_dev_score_saturates_the_search():
    """A perfect score that racing cut short or that lost calls to errors is no reason to stop:
    only a key the pool ranks can no longer be beaten on dev."""
    from promptsearch.evaluation.evaluate import KeyScore
    from promptsearch.search.base import Candidate, Pool
    from promptsearch.search.loop import dev_saturated

    def scored(trial: int, scores: list, **flags) -> tuple:
        key = PromptKey(instruction=f"key {trial}")
        mean = sum(s for s in scores if s is not None) / len(scores)
        return Candidate(trial, key, "test"), KeyScore(key.id, mean, scores, [None] * len(scores),
                                                       **flags)

    pool = Pool()
    pool.add(*scored(0, [1.0, 0.0, 1.0]))
    pool.add(*scored(1, [1.0, 1.0], pruned=True))
    pool.add(*scored(2, [1.0, None, 1.0], errors=1))
    assert dev_saturated(pool) is None
    pool.add(*scored(3, [1.0, 1.0, 1.0]))
    pool.add(*scored(4, [1.0, 1.0, 1.0]))
    stop = dev_saturated(pool)
    assert str(stop).startswith("dev saturated (trial 3 answered all 3 dev examples right")
