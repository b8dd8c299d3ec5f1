"""The shared run's bookkeeping (SQLite; PostgreSQL in test_workers.py): the global
budget under racing reservations, trial numbering, claims, dead workers and their adoption, the
coordinator finishing a dead worker's key, and `run --workers 2` end to end."""

import json
import subprocess
import threading
import time

import pytest
from sqlalchemy import update

from benchmarks.fake_api import FakeAPI
from conftest import DATA, child_env, cli, write_task

from promptsearch.task.config import load_task
from promptsearch.evaluation.evaluate import Evaluator
from promptsearch.pipeline.prepare import prepare
from promptsearch.core.states import Reservation
from promptsearch.storage.shared_run import SharedRun, workers
from promptsearch.storage.store import Store
from promptsearch.pipeline.workers import coordinate, open_run, shared_run_id


def _run(tmp_path, budget: dict, run_id: str = "r-1") -> SharedRun:
    store = Store(f"sqlite:///{tmp_path / 'shared.db'}")
    shared_run = SharedRun(store, run_id)
    shared_run.open(budget)
    return shared_run


def test_racing_reservations_never_exceed_the_budget_and_number_trials_once(tmp_path):
    first = _run(tmp_path, {"lm_calls": 95})
    numbers, lock = [], threading.Lock()

    def worker() -> None:
        shared_run = SharedRun(Store(f"sqlite:///{tmp_path / 'shared.db'}"), "r-1")
        worker_id = shared_run.join(heartbeat_s=30)
        while True:
            status, turn = shared_run.reserve(worker_id, 10, trial=True)
            if status == "wait":
                time.sleep(0.01)
                continue
            if status != "ok":
                return
            with lock:
                numbers.append(turn.number)
            shared_run.settle(worker_id, reserved=10, used=7, tokens=0, spent={})

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    totals = first.totals()
    assert sorted(numbers) == list(range(len(numbers)))  # each number handed out once
    assert totals["calls"] <= 95 and totals["reserved"] == 0
    assert totals["calls"] == 7 * len(numbers) and 95 - totals["calls"] < 10  # nothing wasted


def test_a_worker_that_waits_gets_what_another_gives_back(tmp_path):
    shared_run = _run(tmp_path, {"lm_calls": 15})
    a, b = shared_run.join(30), shared_run.join(30)
    assert shared_run.reserve(a, 10, trial=True)[0] == "ok"
    assert shared_run.reserve(b, 10, trial=True) == ("wait", None)  # only a's hold is in the way
    shared_run.settle(a, reserved=10, used=4, tokens=0, spent={})
    status, turn = shared_run.reserve(b, 10, trial=True)
    assert status == "ok" and turn.number == 1
    shared_run.settle(b, reserved=10, used=10, tokens=0, spent={})
    assert shared_run.reserve(a, 10, trial=True) == ("lm_calls", None)  # 14 spent, none held


def _stop_beating(shared_run: SharedRun, worker_id: str) -> None:
    """The worker's last heartbeat moved an hour back: late by any rule, with no sleep (a
    sleep of a few beats is also what a loaded machine can take between two statements)."""
    with shared_run.engine.begin() as conn:
        conn.execute(update(workers).where(workers.c.run_id == shared_run.run_id,
                                           workers.c.worker_id == worker_id)
                     .values(heartbeat_at=time.time() - 3600))


def test_a_dead_worker_s_key_is_adopted_and_its_hold_counts_as_spent(tmp_path):
    shared_run = _run(tmp_path, {"lm_calls": 100})
    dead, alive = shared_run.join(heartbeat_s=30), shared_run.join(heartbeat_s=30)
    status, turn = shared_run.reserve(dead, 10, trial=True)
    assert shared_run.claim(dead, "key-a", turn.number, "random")
    assert not shared_run.claim(alive, "key-a", 5, "random")  # being scored by another
    _stop_beating(shared_run, dead)
    status, adopted = shared_run.reserve(alive, 10, trial=True)
    assert status == "ok" and adopted.adopted_key == "key-a" and adopted.number == turn.number
    states = {row["worker_id"]: row for row in shared_run.list_workers()}
    assert states[dead]["state"] == "dead" and states[dead]["calls"] == 10
    shared_run.release("key-a")
    assert shared_run.claim(alive, "key-a", 7, "random")  # a scored key may be re-read freely
    status, fresh = shared_run.reserve(alive, 10, trial=True)
    assert fresh.adopted_key is None and fresh.number == 1  # numbering went on where it was


def test_a_worker_declared_dead_while_alive_stops_and_spends_nothing_twice(tmp_path):
    shared_run = _run(tmp_path, {"lm_calls": 100})
    stalled, other = shared_run.join(heartbeat_s=30), shared_run.join(heartbeat_s=30)
    status, turn = shared_run.reserve(stalled, 10, trial=True)
    assert shared_run.claim(stalled, "key-a", turn.number, "random")
    _stop_beating(shared_run, stalled)  # the next reservation declares it dead
    status, adopted = shared_run.reserve(other, 10, trial=True)
    assert status == "ok" and adopted.adopted_key == "key-a"
    shared_run.release("key-a", stalled)  # it finishes its trial late: the claim is not its
    assert {c["state"] for c in shared_run.list_claims()} == {"running"}
    shared_run.settle(stalled, reserved=10, used=6, tokens=5, spent={})
    row = {r["worker_id"]: r for r in shared_run.list_workers()}[stalled]
    assert (row["calls"], row["reserved"], row["tokens"]) == (10, 0, 5)  # its hold, once
    assert shared_run.reserve(stalled, 10, trial=True) == (Reservation.DECLARED_DEAD, None)
    shared_run.leave(stalled, {}, "done")  # whatever it last saw, it was dead
    assert {r["worker_id"]: r["state"] for r in shared_run.list_workers()}[stalled] == "dead"
    shared_run.release("key-a", other)
    assert {c["state"] for c in shared_run.list_claims()} == {"done"}


def test_only_one_worker_is_charged_for_the_strategy_set_up(tmp_path):
    shared_run = _run(tmp_path, {"lm_calls": 100})
    a, b = shared_run.join(30), shared_run.join(30)
    assert shared_run.first_setup(a) is True
    assert shared_run.charge_setup(a, 4) is True
    assert shared_run.first_setup(b) is False  # a's set-up is done: b repeats it from the cache
    assert shared_run.charge_setup(b, 4) is False
    assert shared_run.totals()["calls"] == 4


def test_trial_and_status_limits_stop_reservations(tmp_path):
    shared_run = _run(tmp_path, {"lm_calls": None, "trials": 2})
    worker = shared_run.join(30)
    assert [shared_run.reserve(worker, 5, trial=True)[0] for _ in range(3)] == \
        ["ok", "ok", "trials"]
    shared_run.set_status("finalizing")
    assert shared_run.reserve(worker, 1, trial=False) == ("finished", None)


def test_the_coordinator_finishes_a_key_a_dead_worker_left_half_scored(upper_task, fake_model,
                                                                        tmp_path):
    prepared = prepare(load_task(upper_task), None)
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    prepared.lm.cache = prepared.proposer.cache = store
    run_id = shared_run_id(store, prepared)
    shared_run = open_run(store, prepared, run_id)
    finished, killed = shared_run.join(30), shared_run.join(30)
    dev, test = prepared.dataset.dev, prepared.dataset.test
    key = prepared.space.key(prepared.space.baselines()[0])
    store.put_key(key.id, key.to_dict())
    shared_run.reserve(killed, len(dev), trial=True)
    assert shared_run.claim(killed, key.id, 0, "seed")
    Evaluator(prepared.lm, prepared.metric, store, run_id).score(key, dev[:2], "dev")
    shared_run.leave(finished, {"stopped": "budget: lm_calls"}, "done")
    calls = fake_model.calls
    _stop_beating(shared_run, killed)
    result = coordinate(prepared, store, tmp_path / "results")
    assert [(c["trial"], c["key_id"], c["status"], c["examples"])
            for c in store.list_candidates(run_id)] == [(0, key.id, "complete", len(dev))]
    assert fake_model.calls - calls == len(dev) - 2 + len(test)  # its 2 answers were kept
    assert {c["state"] for c in shared_run.list_claims()} == {"done"}
    assert result.lock["key_id"] == key.id and result.lock_path.exists()
    assert shared_run.row()["status"] == "finished"


@pytest.mark.slow  # two worker processes
def test_run_with_two_local_workers_searches_in_both_and_writes_the_lock(tmp_path):
    results = tmp_path / "results"
    with FakeAPI(0.05) as api:
        task = write_task(tmp_path, f"""\
name: local_workers
data: {{train: {DATA}/sentiment/train.jsonl, test: {DATA}/sentiment/test.jsonl, dev_size: 8,
       test_size: 10}}
model: text-completion-openai/fake
prompt: {{seeds: ["Is the review positive or negative?"], labels: [positive, negative],
         style: completion}}
search: {{strategy: random, seed: 2, budget: {{lm_calls: 100}}}}
lm: {{api_base: "{api.base_url}", api_key_env: FAKE_API_KEY, concurrency: 1}}
""")
        done = subprocess.run(cli("run", str(task), "--results", str(results), "--workers", "2"),
                              env=child_env(), cwd=tmp_path, capture_output=True, text=True,
                              timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lock = json.loads((results / "local_workers" / "best.json").read_text())
    workers = SharedRun(Store(f"sqlite:///{results / 'promptsearch.db'}"),
                        lock["run_id"]).list_workers()
    assert len(workers) == 2 and all(w["state"] == "done" and w["spent"]["trials"] > 0
                                     for w in workers)
    assert sum(w["calls"] for w in workers) <= 100 and lock["spent"]["lm_calls"] > 0


def test_optuna_storage_opened_by_two_workers_at_once_is_tried_again(monkeypatch):
    """Two workers creating optuna's schema on a fresh PostgreSQL database race on CREATE TYPE;
    the loser tries again (and by then only reads the schema); a lasting fault is raised."""
    from promptsearch.search.strategies import tpe

    monkeypatch.setattr(tpe.time, "sleep", lambda seconds: None)
    tries = []

    def racing():
        tries.append(1)
        if len(tries) == 1:
            raise RuntimeError("duplicate key value violates unique constraint (studydirection)")
        return "storage"

    assert tpe._made_despite_a_racing_creator(racing) == "storage" and len(tries) == 2

    def broken():
        tries.append(1)
        raise RuntimeError("connection refused")

    tries.clear()
    with pytest.raises(RuntimeError, match="connection refused"):
        tpe._made_despite_a_racing_creator(broken)
    assert len(tries) == 3
