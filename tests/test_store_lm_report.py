"""Store, LM client (through litellm with the fake provider) and leaderboard rendering."""

import sqlite3

import pandas as pd

from promptsearch import run
from promptsearch.api import open_store
from promptsearch.lm.client import LM
from promptsearch.report import leaderboard, run_leaderboard, to_markdown
from promptsearch.store import Store


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


def test_errors_are_counted_per_key_and_left_out_of_scores(upper_task, fake_model, tmp_path):
    fake_model.fail_on = "word10"  # one dev or test input always fails
    text = upper_task.read_text().replace("seed: 3", "seed: 3\nlm: {retries: 0}")
    upper_task.write_text(text)
    store = open_store(tmp_path / "results")
    result = run(upper_task, store=store, results_dir=tmp_path / "results")
    failing = [c for c in store.list_candidates(result.run_id) if c["errors"]]
    tested = [row for row in result.finalists if row["errors"]]
    assert failing or tested
    assert all(row["test"] in (0.0, 1.0) for row in result.finalists)  # errors not scored wrong


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
