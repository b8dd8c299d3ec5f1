"""The store and optuna's study on the PostgreSQL server (127.0.0.1:5432 here and in CI; a fresh
database per test run, dropped afterwards), with `postgresql://` URLs as users write them."""

import pytest

from promptsearch import run
from promptsearch.api import open_store
from promptsearch.report import run_leaderboard

pytestmark = pytest.mark.postgres


def test_a_search_records_everything_in_postgres_and_reruns_from_its_cache(
        database, upper_task, fake_model, tmp_path):
    first = run(upper_task, storage=database, results_dir=tmp_path / "results")
    calls = fake_model.calls
    second = run(upper_task, storage=database, results_dir=tmp_path / "results")
    assert fake_model.calls == calls  # every call served by the cache in PostgreSQL
    assert second.lock["key"] == first.lock["key"] and first.lock["scores"]["test"] == 1.0
    store = open_store(storage=database)
    assert store.url.startswith("postgresql+psycopg://")
    assert {r["id"] for r in store.list_runs("upper")} == {first.run_id, second.run_id}
    board = run_leaderboard(store, first.run_id)
    assert len(board) >= 2 and board.iloc[0]["test"] == 1.0


def test_two_processes_creating_one_run_agree_on_who_created_it(database):
    store, other = open_store(storage=database), open_store(storage=database)
    row = dict(task="t", model="m", strategy="tpe", seed=0, config={}, dataset_hash="h")
    assert store.create_run(id="shared-1", **row) is True
    assert other.create_run(id="shared-1", **row) is False  # joins instead of failing
