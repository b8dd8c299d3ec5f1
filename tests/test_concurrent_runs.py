"""Two `promptsearch run` processes of one task config started at once on one store (SQLite and
PostgreSQL): each gets its own run, both finish, and no candidate or evaluation row is lost."""

import subprocess
from pathlib import Path

import pytest

from benchmarks.fake_api import FakeAPI
from conftest import child_env, cli, remote_sentiment_task
from promptsearch.storage.store import Store, default_url

DEV_SIZE = 10
BUDGET = 60


def _task(folder: Path, api_base: str) -> Path:
    return remote_sentiment_task(folder, name="twice", api_base=api_base, dev_size=DEV_SIZE,
                                 test_size=10, budget=BUDGET,
                                 lm="api_key_env: FAKE_API_KEY, concurrency: 1")


def _run_twice_at_once(tmp_path: Path, storage: list[str]) -> None:
    with FakeAPI(0.01) as api:
        task = _task(tmp_path, api.base_url)
        args = cli("run", str(task), "--results", str(tmp_path / "results"), *storage)
        processes = [subprocess.Popen(args, env=child_env(), cwd=tmp_path, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                     for _ in range(2)]
        for process in processes:
            _, err = process.communicate(timeout=300)
            assert process.returncode == 0, err[-2000:]


def _assert_nothing_lost(store: Store) -> None:
    runs = [r for r in store.list_runs("twice")]
    assert len(runs) == 2 and len({r["id"] for r in runs}) == 2  # one run each
    for run in runs:
        assert run["status"] == "finished", run["status"]
        candidates = store.list_candidates(run["id"])
        assert len(candidates) == run["spent"]["trials"] > 0  # every trial has its row
        dev_rows = store.evaluation_counts(run["id"], "dev")
        for candidate in candidates:  # all its rows; only the budget cuts the last one short
            assert candidate["status"] in ("complete", "partial"), candidate
            assert candidate["examples"] == dev_rows[candidate["key_id"]]
            assert candidate["examples"] == DEV_SIZE or candidate["status"] == "partial"
        assert sum(c["lm_calls"] for c in candidates) + run["spent"]["proposer_calls"] == \
            run["spent"]["lm_calls"]


@pytest.mark.slow  # two `promptsearch run` processes
def test_two_runs_of_one_config_on_one_sqlite_store_lose_nothing(tmp_path):
    _run_twice_at_once(tmp_path, [])
    _assert_nothing_lost(Store(default_url(tmp_path / "results")))


@pytest.mark.postgres
def test_two_runs_of_one_config_on_one_postgres_store_lose_nothing(tmp_path, database):
    _run_twice_at_once(tmp_path, ["--storage", database])
    store = Store(database)
    try:
        _assert_nothing_lost(store)
    finally:
        store.dispose()


def test_a_run_number_taken_between_the_read_and_the_insert_is_not_shared(upper_task,
                                                                          tmp_path):
    """The race made deterministic: the list of runs is read (empty) before another process
    inserts run 1; this process must then take run 2, not join run 1 unknowingly."""
    from promptsearch.task.config import load_task
    from promptsearch.pipeline.session import open_new_or_latest_run
    from promptsearch.pipeline.prepare import prepare, run_id_prefix

    prepared = prepare(load_task(upper_task), None)
    store = Store(default_url(tmp_path / "results"))
    prefix = run_id_prefix(prepared.task, prepared.dataset.hash)
    stale = store.list_runs(prepared.task.name)  # read before the other process inserts
    store.create_run(id=f"{prefix}-1", task="upper", model="m", strategy="tpe", seed=3,
                     config={}, dataset_hash="h")  # the other process's run
    store.list_runs = lambda task=None: stale
    assert open_new_or_latest_run(store, prepared, resume=False) == f"{prefix}-2"
