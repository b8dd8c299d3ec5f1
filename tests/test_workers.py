"""Many processes, one run, on PostgreSQL (a fresh database per module): three `promptsearch
worker` processes and a `run --workers 0` coordinator, started workers first. The model is the
fake hosted API, which logs every request, so a call made twice is seen where it happens."""

import json
import os
import signal
import subprocess
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from benchmarks.fake_api import FakeAPI
from conftest import DATA, child_env, cli
from promptsearch.evaluation.evaluate import SAVE_EVERY
from promptsearch.storage.store import driver_url

pytestmark = pytest.mark.postgres
DEV_SIZE = 20


def _task(folder: Path, api_base: str, strategy: str, budget: int,
          name: str = "shared") -> Path:
    """Each test names its task: the module's tests share one database, and a run's lock is
    written only when it beats the task's last recorded version."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "task.yaml"
    path.write_text(f"""\
name: {name}
data: {{train: {DATA}/sentiment/train.jsonl, test: {DATA}/sentiment/test.jsonl,
       dev_size: {DEV_SIZE}, test_size: 20}}
model: text-completion-openai/fake
prompt: {{seeds: ["Is the review positive or negative?"], labels: [positive, negative],
         style: completion}}
search: {{strategy: {strategy}, seed: 5, budget: {{lm_calls: {budget}}}}}
lm: {{api_base: "{api_base}", api_key_env: FAKE_API_KEY, concurrency: 1}}
""")
    return path


def _start(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(cli(*args), env=child_env(), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen, limit: float = 300) -> str:
    out, err = process.communicate(timeout=limit)
    assert process.returncode == 0, err[-2000:]
    return out


def _rows(database: str, query: str) -> list:
    engine = create_engine(driver_url(database))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(query)))
    finally:
        engine.dispose()


def _requests(log: Path) -> Counter:
    return Counter(json.loads(line)["prompt"] for line in log.read_text().splitlines())


def _single_process_lock(tmp_path: Path, strategy: str, budget: int) -> dict:
    with FakeAPI(0.0) as api:
        task = _task(tmp_path / "single", api.base_url, strategy, budget)
        _finish(_start("run", str(task), "--results", str(tmp_path / "single" / "results"),
                       cwd=tmp_path))
    return json.loads((tmp_path / "single" / "results" / "shared" / "best.json").read_text())


def test_three_workers_share_one_run_and_find_the_single_process_winner(database, tmp_path):
    log = tmp_path / "requests.jsonl"
    results = tmp_path / "results"
    with FakeAPI(0.1, log=str(log)) as api:
        task = _task(tmp_path, api.base_url, "random", 200)
        common = (str(task), "--storage", database, "--results", str(results))
        workers = [_start("worker", *common, cwd=tmp_path) for _ in range(3)]
        time.sleep(1)  # the workers first: start order does not matter
        coordinator = _start("run", *common, "--workers", "0", cwd=tmp_path)
        outputs = [_finish(worker) for worker in workers]
        board = _finish(coordinator)
    lock = json.loads((results / "shared" / "best.json").read_text())
    run_id = lock["run_id"]

    assert all(run_id in out for out in outputs) and "winner" in board
    requests = _requests(log)
    assert max(requests.values()) == 1  # no model call made twice, by any process
    evaluations = _rows(database, "SELECT key_id, example_id, split FROM ps_evaluations "
                                  f"WHERE run_id = '{run_id}' AND split = 'dev'")
    assert len(evaluations) == len(set(evaluations))
    candidates = _rows(database, "SELECT trial, key_id, status, examples FROM ps_candidates "
                                 f"WHERE run_id = '{run_id}' ORDER BY trial")
    per_key = Counter(key for key, _, _ in evaluations)
    for _, key_id, status, examples in candidates:  # no result missing
        assert status == "complete" and examples == DEV_SIZE == per_key[key_id]
    assert {key for _, key, _, _ in candidates} == set(per_key)
    claims = _rows(database, f"SELECT state FROM ps_claims WHERE run_id = '{run_id}'")
    assert {state for (state,) in claims} == {"done"}
    workers = _rows(database, "SELECT calls, spent FROM ps_workers "
                              f"WHERE run_id = '{run_id}'")
    assert len(workers) == 3 and all(spent["trials"] > 0 for _, spent in workers)
    assert sum(calls for calls, _ in workers) <= 200  # the budget is global
    single = _single_process_lock(tmp_path, "random", 200)
    assert lock["key_id"] == single["key_id"] and lock["scores"] == single["scores"]


def test_a_killed_worker_s_trial_is_finished_by_another_and_nothing_is_lost(database, tmp_path):
    with _one_worker_mid_trial(database, tmp_path, "tpe", "killed") as run:
        before = set(_rows(database, "SELECT run_id, key_id, example_id, completion "
                                     "FROM ps_evaluations"))
        victim = run.workers.pop(run.pid)
        os.kill(run.pid, signal.SIGKILL)
        victim.wait()
        _finish_with_coordinator(run.common, run.workers, tmp_path)
    run_id = run.run_id()
    after = set(_rows(database, "SELECT run_id, key_id, example_id, completion "
                                "FROM ps_evaluations"))
    assert before <= after  # nothing the killed worker recorded is lost
    assert ("complete", DEV_SIZE) in _candidate_rows(database, run_id, run.key_id)  # finished
    assert sum(count > 1 for count in _requests(run.log).values()) <= 1  # its one call in flight
    assert _worker_states(database, run_id) == {"dead", "done"}
    retried = _rows(database, "SELECT count(*) FROM trial_system_attributes "
                              "WHERE key = 'failed_trial'")
    assert retried[0][0] >= 1  # optuna's heartbeat failed its trial and asked it again


def test_a_worker_paused_past_its_heartbeat_stops_and_its_key_is_finished_once(database,
                                                                               tmp_path):
    with _one_worker_mid_trial(database, tmp_path, "random", "paused") as run:
        os.kill(run.pid, signal.SIGSTOP)  # alive, but silent for eight heartbeats
        time.sleep(8)
        os.kill(run.pid, signal.SIGCONT)
        paused = _finish(run.workers.pop(run.pid))
        _finish_with_coordinator(run.common, run.workers, tmp_path)
    run_id = run.run_id()
    assert "declared dead" in paused
    rows = _candidate_rows(database, run_id, run.key_id)
    assert rows and set(rows) == {("complete", DEV_SIZE)}  # the adopter's row: none cut short
    assert sum(count - 1 for count in _requests(run.log).values()) <= 2  # only calls in flight
    assert _worker_states(database, run_id) == {"dead", "done"}
    calls = _rows(database, f"SELECT sum(calls) FROM ps_workers WHERE run_id = '{run_id}'")
    assert calls[0][0] <= 240  # its reservation counted once, not again when it woke


@dataclass
class MidTrial:
    """Three workers on one run (240 calls) against the fake API, one of them mid-trial."""

    log: Path
    results: Path
    name: str
    common: tuple
    workers: dict
    pid: int = 0
    key_id: str = ""

    def run_id(self) -> str:
        return json.loads((self.results / self.name / "best.json").read_text())["run_id"]


@contextmanager
def _one_worker_mid_trial(database: str, tmp_path: Path, strategy: str, name: str):
    """The run, once a worker is seen mid-trial; the fake API serves until the block ends."""
    log, results = tmp_path / "requests.jsonl", tmp_path / "results"
    with FakeAPI(0.1, log=str(log)) as api:
        task = _task(tmp_path, api.base_url, strategy, 240, name=name)
        common, workers = _three_workers(task, database, results, tmp_path)
        run = MidTrial(log, results, name, common, workers)
        run.pid, run.key_id = _wait_mid_trial(database, workers)
        yield run


def _three_workers(task: Path, database: str, results: Path,
                   cwd: Path) -> tuple[tuple, dict[int, subprocess.Popen]]:
    """Three workers on one run, beating every second; their common arguments, and them by
    pid."""
    common = (str(task), "--storage", database, "--results", str(results), "--heartbeat", "1")
    return common, {p.pid: p for p in [_start("worker", *common, cwd=cwd) for _ in range(3)]}


def _finish_with_coordinator(common: tuple, workers: dict, cwd: Path) -> None:
    """A coordinator joins (it scores the finalists once the workers are done)."""
    coordinator = _start("run", *common[:5], "--workers", "0", cwd=cwd)
    for process in workers.values():
        _finish(process)
    _finish(coordinator)


def _candidate_rows(database: str, run_id: str, key_id: str) -> list:
    return _rows(database, "SELECT status, examples FROM ps_candidates "
                           f"WHERE run_id = '{run_id}' AND key_id = '{key_id}'")


def _worker_states(database: str, run_id: str) -> set:
    return {state for (state,) in _rows(database, "SELECT state FROM ps_workers "
                                                  f"WHERE run_id = '{run_id}'")}


def _wait_mid_trial(database: str, workers: dict, limit: float = 180) -> tuple[int, str]:
    """(pid, key) of the first of these workers seen scoring a key with some answers recorded
    (whichever it is: on a loaded machine one worker may get no trial before the others)."""
    engine = create_engine(driver_url(database))
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline and all(p.poll() is None for p in workers.values()):
            for worker_id, key_id, answered in _scoring(engine):
                pid = int(worker_id.split("-")[-2])
                if pid in workers and SAVE_EVERY <= answered < DEV_SIZE:
                    return pid, key_id
            time.sleep(0.05)
        seen = _scoring(engine)
    finally:
        engine.dispose()
    exits = {pid: p.poll() for pid, p in workers.items()}
    pytest.fail(f"no worker seen mid-trial; exit codes {exits}; last claims seen {seen}")


def _scoring(engine) -> list:
    """Running claims with their count of recorded dev answers ([] before the tables exist)."""
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(
                "SELECT c.worker_id, c.key_id, count(e.example_id) FROM ps_claims c "
                "JOIN ps_evaluations e ON e.key_id = c.key_id AND e.run_id = c.run_id AND "
                "e.split = 'dev' WHERE c.state = 'running' GROUP BY c.worker_id, c.key_id")))
    except ProgrammingError:
        return []
