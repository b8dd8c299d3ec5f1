"""A remote model that fails: a closed port, a refused key, an unknown model, an outage that
ends, one that lasts. The fake hosted API (benchmarks/fake_api.py) is a real HTTP server in
its own process, reached through litellm; it logs every request it answers."""

import json
import socket
import time
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.fake_api import FakeAPI
from conftest import remote_sentiment_task
from promptsearch.cli.main import main
from promptsearch.errors import EXIT_MODEL_UNAVAILABLE
from promptsearch.storage.store import Store, default_url

PASSWORD = "pw-77-hunter"
DEV_SIZE = 10


@pytest.fixture(autouse=True)
def fake_key(monkeypatch):
    monkeypatch.setenv("FAKE_API_KEY", "sk-test-key-0001")


def _task(folder: Path, api_base: str, budget: int = 60, retries: int = 0,
          backoff: float = 0.01, concurrency: int = 2) -> Path:
    return remote_sentiment_task(
        folder, name="remote", api_base=api_base, dev_size=DEV_SIZE, test_size=20,
        budget=budget, lm=f"api_key_env: FAKE_API_KEY, timeout: 2, retries: {retries}, "
                          f"backoff: {backoff}, concurrency: {concurrency}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(task: Path, results: Path, *extra: str) -> int:
    return main(["run", str(task), "--results", str(results), "--quiet", *extra])


def _store(results: Path) -> Store:
    return Store(default_url(results))


def test_a_closed_port_stops_the_run_at_once_naming_the_address(tmp_path, capsys):
    port = _free_port()
    task = _task(tmp_path, f"http://user:{PASSWORD}@127.0.0.1:{port}/v1")
    code = _run(task, tmp_path / "results")
    err = " ".join(capsys.readouterr().err.split())
    assert code == EXIT_MODEL_UNAVAILABLE, err
    assert f"nothing is listening at http://127.0.0.1:{port}/v1 (connection refused)" in err
    assert "--resume" in err and PASSWORD not in err and "Traceback" not in err
    assert not (tmp_path / "results" / "remote" / "best.json").exists()
    run = _store(tmp_path / "results").list_runs("remote")[-1]
    assert run["status"] == "stopped"
    # stopped after the first few refusals (a few more were in flight), not after the budget
    assert 3 <= run["spent"]["errors"]["refused"] <= 3 + 2


@pytest.mark.parametrize("fault, says", [
    ("unauthorized", "refuses the API key (401/403) (fix: set a valid key in $FAKE_API_KEY"),
    ("not_found", "does not know model 'text-completion-openai/fake' (404) (fix: correct "
                  "`model:` in the task file")])
def test_a_refused_key_or_an_unknown_model_stops_with_its_fix(tmp_path, capsys, fault, says):
    with FakeAPI(0.0, f"{fault}=1", fail_attempts=1000) as api:
        task = _task(tmp_path, api.base_url.replace("http://", f"http://u:{PASSWORD}@"),
                     retries=2)
        code = _run(task, tmp_path / "results")
    err = " ".join(capsys.readouterr().err.split())
    assert code == EXIT_MODEL_UNAVAILABLE and says in err, err
    assert PASSWORD not in err and "sk-test-key-0001" not in err
    assert not (tmp_path / "results" / "remote" / "best.json").exists()
    kind = "auth" if fault == "unauthorized" else "not_found"
    run = _store(tmp_path / "results").list_runs("remote")[-1]
    assert run["status"] == "stopped" and run["spent"]["errors"][kind] >= 3


def test_an_outage_mid_run_is_asked_again_and_never_picks_the_winner(tmp_path, capsys):
    log = tmp_path / "requests.jsonl"
    results = tmp_path / "results"
    with FakeAPI(0.01, log=str(log), down_after=30, down_for=2.0) as api:
        task = _task(tmp_path, api.base_url, budget=80, retries=1, backoff=0.2)
        code = _run(task, results)
    out = capsys.readouterr()
    assert code == 0, out.err
    lock = json.loads((results / "remote" / "best.json").read_text())
    spent = lock["spent"]
    assert spent["errors"].get("refused", 0) > 0  # the outage was met...
    assert spent["error_retry_calls"] > 0 and spent["incomplete_keys"] == 0  # ...and repaired
    assert "failed calls (after retries)" in " ".join(out.out.split())
    store = _store(results)
    winner = [c for c in store.list_candidates(lock["run_id"]) if c["key_id"] == lock["key_id"]]
    assert winner[-1]["status"] == "complete" and winner[-1]["examples"] == DEV_SIZE
    rows = store.get_evaluations(lock["run_id"], lock["key_id"], "dev").values()
    assert len(rows) == DEV_SIZE and all(row["error"] is None for row in rows)
    for candidate in store.list_candidates(lock["run_id"]):  # every ranked key: all answers
        if candidate["status"] == "complete":
            assert candidate["errors"] == 0 and candidate["examples"] == DEV_SIZE


def test_a_long_outage_stops_the_run_and_resume_repeats_no_answered_call(tmp_path, capsys):
    log = tmp_path / "requests.jsonl"
    results = tmp_path / "results"
    with FakeAPI(0.01, log=str(log), down_after=25, down_for=6.0) as api:
        task = _task(tmp_path, api.base_url, budget=60)
        first = _run(task, results, "--max-error-rate", "0.2")
        err = " ".join(capsys.readouterr().err.split())
        assert first == EXIT_MODEL_UNAVAILABLE, err
        assert "error rate" in err and api.base_url in err and "last error: refused" in err
        assert not (results / "remote" / "best.json").exists()
        _wait_until_listening(api.base_url)
        second = _run(task, results, "--resume", "--max-error-rate", "0.2")
        assert second == 0, capsys.readouterr().err
    lock = json.loads((results / "remote" / "best.json").read_text())
    answered = Counter(entry["prompt"] for entry in map(json.loads, log.read_text().splitlines())
                       if entry["outcome"] == "ok")
    assert answered and max(answered.values()) == 1  # no answered call was made again
    store = _store(results)
    assert len(store.list_runs("remote")) == 1  # resumed, not started anew
    winner = store.get_evaluations(lock["run_id"], lock["key_id"], "dev").values()
    assert len(winner) == DEV_SIZE and all(row["error"] is None for row in winner)


def _wait_until_listening(base_url: str, limit: float = 30) -> None:
    host, port = base_url.split("//")[1].split("/")[0].split(":")
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the fake API did not come back within {limit} s")


def test_the_progress_line_counts_failed_calls_live_with_the_last_kind():
    from promptsearch.evaluation.budget import BudgetMeter
    from promptsearch.cli.progress import LiveErrors
    from promptsearch.lm.health import ModelHealth

    health = ModelHealth("openai/x", "http://127.0.0.1:1/v1")
    meter = BudgetMeter(errors_before={"timeout": 2})  # a resumed run's earlier failures
    meter.watch(health)
    line = "best dev 0.5{errors}"
    health.note(None)  # answered: refusals after an answer are an outage, not fatal
    for kind in ("refused", "refused", "refused", "rate_limit"):
        health.note(kind)
    assert line.format(errors=LiveErrors(meter)) == \
        "best dev 0.5 · [red]6 errors[/] (last: rate_limit)"
    assert line.format(errors=LiveErrors(None)) == "best dev 0.5"
