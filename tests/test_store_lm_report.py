"""Store, LM client (through litellm with the fake provider) and leaderboard rendering."""

import sqlite3

import pandas as pd
import pytest

from promptsearch import run
from promptsearch.api import open_store
from promptsearch.task.config import load_task
from promptsearch.errors import ModelUnavailable
from promptsearch.pipeline.prepare import prepare
from promptsearch.lm.client import LM
from promptsearch.report import leaderboard, run_leaderboard, to_markdown
from promptsearch.storage.store import Store


def test_store_is_sqlite_wal_and_idempotent(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    row = dict(id="r1", task="t", model="m", strategy="tpe", seed=0, config={}, dataset_hash="h")
    assert store.create_run(**row) and not store.create_run(**row)
    store.add_evaluations([{"run_id": "r1", "key_id": "k", "split": "dev", "example_id": "e",
                            "position": 0, "completion": "a", "prediction": "a", "target": "a",
                            "score": 1.0, "error": None, "tokens": 3}])
    store.add_evaluations([{"run_id": "r1", "key_id": "k", "split": "dev", "example_id": "e",
                            "position": 0, "completion": "b", "prediction": "b", "target": "a",
                            "score": 0.0, "error": None, "tokens": 3}])
    assert store.get_evaluations("r1", "k", "dev")["e"]["prediction"] == "b"
    with sqlite3.connect(tmp_path / "x.db") as db:
        assert db.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_lm_cache_serves_repeats_and_keys_on_sampling_parameters(tmp_path, fake_model):
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    lm = LM("fake/scripted", cache=store)
    first = lm.complete(messages=[{"role": "user", "content": "Q: a\nA: A\n\nQ: b\nA:"}])
    again = lm.complete(messages=[{"role": "user", "content": "Q: a\nA: A\n\nQ: b\nA:"}])
    other = lm.complete(messages=[{"role": "user", "content": "Q: a\nA: A\n\nQ: b\nA:"}],
                        max_tokens=5)
    assert again.cached and not first.cached and not other.cached
    assert again.text == first.text == " B" and fake_model.calls == 2
    assert lm.counter.model_calls == 2 and first.tokens > 0


def test_transport_errors_are_retried_then_reported_not_cached(tmp_path, fake_model):
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    fake_model.fail_on = "boom"
    lm = LM("fake/scripted", cache=store, retries=2, backoff=0.01)
    reply = lm.complete(messages=[{"role": "user", "content": "boom"}])
    assert reply.error and "APIConnectionError" in reply.error
    assert fake_model.calls == 3  # one try plus two retries
    assert store.cache_get(lm._cache_key({"prompt": None, "messages": [
        {"role": "user", "content": "boom"}], "max_tokens": 48, "stop": [],
        "temperature": 0.0})) is None


def _failing_task(upper_task, split: str) -> str:
    """Make the task's calls fail on one input of `split` (no retries); returns that input."""
    upper_task.write_text(upper_task.read_text().replace("seed: 3", "seed: 3\nlm: {retries: 0}"))
    dataset = prepare(load_task(upper_task), None).dataset
    examples = dataset.dev if split == "dev" else dataset.test
    return examples[-1].inputs["input"]


def test_a_failing_test_example_is_counted_not_scored_wrong(upper_task, fake_model, tmp_path):
    fake_model.fail_on = _failing_task(upper_task, "test")
    store = open_store(tmp_path / "results")
    result = run(upper_task, store=store, results_dir=tmp_path / "results")
    winner = result.winner
    assert winner["errors"] == 1 and winner["test"] == 1.0  # the failed call is left out
    assert result.lock["scores"]["test_examples"] == 19
    assert result.lock["spent"]["errors"] == {"connection": sum(
        row["errors"] for row in result.finalists)}


def test_a_dev_example_that_fails_leaves_no_winner_until_it_answers(upper_task, fake_model,
                                                                     tmp_path):
    fake_model.fail_on = _failing_task(upper_task, "dev")
    store = open_store(tmp_path / "results")
    with pytest.raises(ModelUnavailable, match="no key has an answer on every dev example"):
        run(upper_task, store=store, results_dir=tmp_path / "results")
    assert not (tmp_path / "results" / "upper" / "best.json").exists()
    recorded = store.list_candidates(store.list_runs()[-1]["id"])
    assert {c["status"] for c in recorded} <= {"incomplete", "failed", "pruned", "partial"}
    fake_model.fail_on = None  # the API answers again
    calls_before = fake_model.calls
    result = run(upper_task, store=store, results_dir=tmp_path / "results", resume=True)
    asked = fake_model.calls - calls_before
    failed = sum(c["errors"] for c in recorded)
    assert result.lock["scores"]["test"] == 1.0 and result.version == 1
    winner = next(c for c in store.list_candidates(result.run_id)
                  if c["key_id"] == result.lock["key_id"] and c["status"] == "complete")
    assert winner["examples"] == 10 and winner["errors"] == 0
    # the failed calls were asked again, and no answer twice: the rest is test scoring
    assert asked <= failed + result.lock["spent"]["test_calls"] + 4  # (+ proposer replays)


def test_leaderboards_are_dataframes_rendered_to_markdown(upper_task, fake_model, tmp_path):
    store = open_store(tmp_path / "results")
    result = run(upper_task, store=store, results_dir=tmp_path / "results")
    board = run_leaderboard(store, result.run_id)
    assert isinstance(board, pd.DataFrame) and board.iloc[0]["key_id"] == result.lock["key_id"]
    assert list(board["rank"]) == list(range(1, len(board) + 1))
    assert board["key"].str.startswith("seed: ").sum() == 1
    overall = leaderboard(store)
    assert len(overall) == 1 and overall.iloc[0]["test"] == result.lock["scores"]["test"]
    markdown = to_markdown(overall)
    assert markdown.splitlines()[0].startswith("| task | model | strategy |")
    assert "p<0.001" in markdown or "p=" in markdown
