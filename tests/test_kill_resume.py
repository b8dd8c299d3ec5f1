"""`kill -9` of a real `promptsearch run` process mid-search, then `run --resume`: the same run
goes on, no recorded call is made again, no recorded evaluation is lost, and the winner is the
uninterrupted run's. The model is the fake hosted API, which logs every request it gets."""

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.fake_api import FakeAPI
from conftest import child_env, cli

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data" / "sentiment"


def _task(folder: Path, api_base: str) -> Path:
    path = folder / "task.yaml"
    path.write_text(f"""\
name: killed
data: {{train: {DATA}/train.jsonl, test: {DATA}/test.jsonl, dev_size: 10, test_size: 20}}
model: text-completion-openai/fake
prompt: {{seeds: ["Is the review positive or negative?"], labels: [positive, negative],
         style: completion}}
search: {{strategy: tpe, seed: 4, budget: {{lm_calls: 150}}}}
lm: {{api_base: "{api_base}", api_key_env: FAKE_API_KEY, concurrency: 1}}
""")
    return path


def _evaluations(results: Path) -> set:
    with sqlite3.connect(results / "promptsearch.db") as conn:
        return set(conn.execute("SELECT run_id, key_id, split, example_id, completion "
                                "FROM ps_evaluations"))


def _wait_for_evaluations(results: Path, process, count: int, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if len(_evaluations(results)) >= count:
                return
        except sqlite3.OperationalError:  # not created yet
            pass
        time.sleep(0.1)
    pytest.fail("the run ended (or never started) before it could be killed")


def _run_to_end(args: list[str], cwd: Path) -> None:
    done = subprocess.run(args, env=child_env(), cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_kill_9_then_resume_loses_nothing_and_repeats_no_call(tmp_path):
    log = tmp_path / "requests.jsonl"
    results = tmp_path / "results"
    with FakeAPI(0.03, log=str(log)) as api:
        task = _task(tmp_path, api.base_url)
        process = subprocess.Popen(cli("run", str(task), "--results", str(results)),
                                   env=child_env(), cwd=tmp_path)
        _wait_for_evaluations(results, process, 60)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        before = _evaluations(results)
        _run_to_end(cli("run", str(task), "--results", str(results), "--resume"), tmp_path)
    after = _evaluations(results)
    lock = json.loads((results / "killed" / "best.json").read_text())
    with FakeAPI(0.0) as api:  # the same search uninterrupted, on its own store
        fresh = tmp_path / "fresh"
        _run_to_end(cli("run", str(_task(fresh_dir(tmp_path), api.base_url)),
                         "--results", str(fresh)), tmp_path)
    uninterrupted = json.loads((fresh / "killed" / "best.json").read_text())

    assert before and before <= after  # nothing recorded before the kill is lost
    assert {row[0] for row in after} == {lock["run_id"]}  # the resumed run is the same run
    requests = Counter(json.loads(line)["prompt"] for line in log.read_text().splitlines())
    twice = [prompt for prompt, count in requests.items() if count > 1]
    assert len(twice) <= 1  # at most the call in flight at the kill went out again
    assert lock["key_id"] == uninterrupted["key_id"]
    assert lock["scores"] == uninterrupted["scores"]


def fresh_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "uninterrupted"
    folder.mkdir()
    return folder


# A process killed at each point between a trial's writes (scored rows, candidate row with the
# spending, optuna's tell, the next ask) resumes into the uninterrupted run: the same candidates
# in the same order, the same budget spent, the same winner. The kill is os._exit in a forked
# child, placed exactly where the timing of a real `kill -9` can only land by chance.
def _exit_on_call(cls, name: str, number: int, after: bool) -> None:
    original, calls = getattr(cls, name), [0]

    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == number and not after:
            os._exit(9)
        value = original(*args, **kwargs)
        if calls[0] == number:
            os._exit(9)
        return value

    setattr(cls, name, wrapper)


EVALUATOR = "promptsearch.evaluation.evaluate:Evaluator"
CRASH_POINTS = {  # where the child dies: (class, method, on which call, after it returns)
    "a seed prompt's model call in flight": (EVALUATOR, "_ask", 15, False),
    "a model call in flight": (EVALUATOR, "_ask", 45, False),
    "candidate recorded, strategy not told": ("strategy", "tell", 5, False),
    "strategy told, next trial not asked": ("strategy", "tell", 5, True),
    "next trial asked, not scored": ("strategy", "ask", 6, True),
}


def _crash(task: Path, results: Path, point: str, strategy: str) -> None:
    import importlib

    from promptsearch import run
    from promptsearch.search import STRATEGIES
    where, name, number, after = CRASH_POINTS[point]
    if where == "strategy":
        cls = STRATEGIES[strategy]
    else:
        module, name_of_class = where.split(":")
        cls = getattr(importlib.import_module(module), name_of_class)
    _exit_on_call(cls, name, number, after)
    run(task, results_dir=results)
    os._exit(0)  # reached only if the crash point never came


def _history(results: Path) -> list[tuple]:
    with sqlite3.connect(results / "promptsearch.db") as conn:
        return list(conn.execute("SELECT trial, key_id, status, dev_score FROM ps_candidates "
                                 "ORDER BY trial"))


UNINTERRUPTED: dict[str, tuple[list, dict]] = {}


def _uninterrupted(task: Path, tmp_path: Path, strategy: str) -> tuple[list, dict]:
    """The uninterrupted run's history and lock, run once per strategy (the task file is the
    same for every crash point)."""
    from promptsearch import run

    if strategy not in UNINTERRUPTED:
        result = run(task, results_dir=tmp_path / "whole")
        UNINTERRUPTED[strategy] = (_history(tmp_path / "whole"), result.lock)
    return UNINTERRUPTED[strategy]


@pytest.mark.parametrize("strategy", ["tpe", "random"])
@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_a_crash_at_any_point_of_a_trial_resumes_into_the_uninterrupted_run(
        upper_task, fake_model, tmp_path, point, strategy):
    import multiprocessing

    from promptsearch import run
    seeds = '["Write the word in capitals.", "Uppercase it.", "Shout the word."]'
    upper_task.write_text(upper_task.read_text().replace('["Write the word in capitals."]', seeds)
                          .replace("strategy: tpe", f"strategy: {strategy}")
                          + "lm: {concurrency: 1}\n")  # three seed prompts: trials 0-2
    whole_history, whole_lock = _uninterrupted(upper_task, tmp_path, strategy)
    child = multiprocessing.get_context("fork").Process(
        target=_crash, args=(upper_task, tmp_path / "crashed", point, strategy))
    child.start()
    child.join()
    assert child.exitcode == 9  # it died where it was meant to
    resumed = run(upper_task, results_dir=tmp_path / "crashed", resume=True)
    assert _history(tmp_path / "crashed") == whole_history
    assert resumed.lock["key_id"] == whole_lock["key_id"]
    assert resumed.lock["scores"] == whole_lock["scores"]
    assert resumed.lock["spent"]["lm_calls"] == whole_lock["spent"]["lm_calls"]
