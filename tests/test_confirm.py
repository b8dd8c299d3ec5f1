"""Confirmation: the dev leaders are scored again on held-back pool examples before the winner is
chosen, within the same LM-call budget."""

from types import SimpleNamespace

from promptsearch import run
from promptsearch.api import open_store
from promptsearch.evaluation.confirm import confirm_size, held_back, pooled_score, rerank
from promptsearch.task.data import Example
from promptsearch.evaluation.evaluate import KeyScore
from promptsearch.core.key import Demo, PromptKey
from promptsearch.report.leaderboard import run_leaderboard


def _row(key_id: str, dev: float, trial: int) -> dict:
    return {"key_id": key_id, "dev_score": dev, "trial": trial}


def _confirmed(key_id: str, scores: list, complete: bool = True) -> KeyScore:
    answered = [s for s in scores if s is not None]
    return KeyScore(key_id, sum(answered) / len(answered), scores, [None] * len(scores),
                    complete=complete)


def test_a_runner_up_that_holds_up_on_fresh_examples_overtakes_a_lucky_leader():
    ranked = [_row("lucky", 0.9, 5), _row("steady", 0.8, 2), _row("third", 0.7, 9),
              _row("fourth", 0.6, 1)]
    confirmed = {"lucky": _confirmed("lucky", [1, 0, 0, 0, 1, 0, 0, 0, 1, 0]),
                 "steady": _confirmed("steady", [1] * 8 + [0, 0]),
                 "third": _confirmed("third", [1] * 6 + [0] * 4)}
    order = [row["key_id"] for row in rerank(ranked, confirmed, dev_size=10)]
    assert order == ["steady", "third", "lucky", "fourth"]  # (8+8)/20, (7+6)/20, (9+3)/20
    assert pooled_score(ranked[1], confirmed["steady"], 10) == 0.8


def test_ties_keep_the_dev_order_and_unanswered_examples_do_not_count():
    ranked = [_row("a", 0.8, 1), _row("b", 0.8, 2)]
    confirmed = {"a": _confirmed("a", [1, 0, None]), "b": _confirmed("b", [0, 1, 1, 0])}
    assert [row["key_id"] for row in rerank(ranked, confirmed, 10)] == ["a", "b"]
    assert pooled_score(ranked[0], confirmed["a"], 10) == 9 / 12


def test_a_confirmation_cut_short_leaves_the_dev_order():
    ranked = [_row("a", 0.9, 1), _row("b", 0.8, 2)]
    confirmed = {"a": _confirmed("a", [0, 0]), "b": _confirmed("b", [1, 1], complete=False)}
    assert rerank(ranked, confirmed, 10) == ranked
    assert rerank(ranked, {}, 10) == ranked


def test_held_back_examples_skip_every_fixed_demo_and_follow_the_seed():
    pool = [Example({"input": f"w{i}"}, f"W{i}") for i in range(30)]
    keys = [PromptKey(demos=(Demo({"input": "w3"}, "W3"), Demo({"input": "w7"}, "W7"))),
            PromptKey(demos=(Demo({"input": "w11"}, "W11"),))]
    chosen = held_back(pool, keys, 27, seed=1)
    assert len(chosen) == 27
    assert {e.inputs["input"] for e in chosen}.isdisjoint({"w3", "w7", "w11"})
    assert held_back(pool, keys, 10, seed=1) == chosen[:10]
    assert held_back(pool, keys, 10, seed=2) != chosen[:10]


def _search(confirm=0, lm_calls=200):
    return SimpleNamespace(confirm=confirm, budget=SimpleNamespace(lm_calls=lm_calls))


def test_confirmation_is_off_unless_asked_and_stays_within_its_share_of_the_budget():
    assert confirm_size(_search(), pool_size=200) == 0
    assert confirm_size(_search(confirm=15), 200) == 15
    assert confirm_size(_search(confirm=15, lm_calls=120), 200) == 10  # a quarter of 120 / 3
    assert confirm_size(_search(confirm=40, lm_calls=None), 60) == 30   # half the pool at most
    assert confirm_size(_search(confirm=15, lm_calls=40), 200) == 0     # 3 each: not worth it


def test_a_run_confirms_its_leaders_within_the_budget_and_picks_on_all_their_examples(
        upper_task, fake_model, tmp_path):
    upper_task.write_text(upper_task.read_text().replace("seed: 3", "seed: 3\n  confirm: 10"))
    store = open_store(tmp_path / "results")
    result = run(upper_task, store=store, results_dir=tmp_path / "results")
    spent, scores = result.lock["spent"], result.lock["scores"]
    confirmations = store.evaluation_counts(result.run_id, "confirm")
    assert sorted(confirmations.values()) == [10, 10, 10]
    dev_calls = sum(c["lm_calls"] for c in store.list_candidates(result.run_id))
    assert spent["lm_calls"] == dev_calls + spent["proposer_calls"] + 30 <= 120
    assert scores["confirm_examples"] == 10 and scores["confirm"] is not None
    finalists = [row for row in result.finalists if row["confirm"] is not None]
    assert {row["key_id"] for row in finalists} == set(confirmations)
    best = max(finalists, key=lambda row: (row["dev"] * 10 + row["confirm"] * 10))
    winner = result.winner
    assert winner["dev"] * 10 + winner["confirm"] * 10 == best["dev"] * 10 + best["confirm"] * 10
    assert "confirm" in run_leaderboard(store, result.run_id).columns


def test_a_run_does_not_confirm_unless_asked(upper_task, fake_model, tmp_path):
    store = open_store(tmp_path / "results")
    result = run(upper_task, store=store, results_dir=tmp_path / "results")
    assert store.evaluation_counts(result.run_id, "confirm") == {}
    assert result.lock["scores"]["confirm"] is None
    assert "confirm" not in run_leaderboard(store, result.run_id).columns
