"""Faults of a hosted model API (a fake one, reached through litellm), and credentials."""

import logging
import statistics
from pathlib import Path

import pytest

from benchmarks.fake_api import FakeAPI
from benchmarks.faults import refused, scenario
from promptsearch.cli.main import main
from promptsearch.errors import EXIT_MODEL_UNAVAILABLE
from promptsearch.storage.store import Store, default_url

KEY_VALUE = "sk-test-SECRET-9f8e7d6c"
PASSWORD = "hunter2-pw-77"


@pytest.fixture
def fake_key(monkeypatch):
    monkeypatch.setenv("FAKE_API_KEY", KEY_VALUE)


def test_transient_faults_are_all_recovered_by_retries(tmp_path, fake_key):
    rows, result, _ = scenario(tmp_path, persistent=False, budget=40)
    assert all(row["injected"] > 0 for row in rows), rows  # every kind met at least once
    assert all(row["recovered"] == row["injected"] for row in rows), rows
    assert all(row["lost"] == 0 and row["errors"] == 0 for row in rows), rows
    assert result.lock["spent"]["lm_calls"] == 40


def test_connection_refused_while_the_server_restarts_is_retried_until_it_answers(
        tmp_path, fake_key):
    row = refused(tmp_path, budget=60, persistent=False)
    assert row["injected"] > 0 and row["recovered"] == row["injected"], row
    assert row["retried"] >= row["injected"] and row["errors"] == 0 and row["lost"] == 0, row


def test_connection_refused_for_good_ends_as_counted_errors_nothing_lost(tmp_path, fake_key):
    row = refused(tmp_path, budget=20, persistent=True)
    assert row["injected"] == row["errors"] > 0 and row["recovered"] == 0, row
    assert row["retried"] == 3 * row["injected"] and row["lost"] == 0, row


def test_persistent_faults_are_counted_as_errors_never_as_answers(tmp_path, fake_key):
    rows, result, store = scenario(tmp_path, persistent=True, budget=40)
    faults = [row for row in rows if row["fault"] != "empty"]
    assert all(row["errors"] == row["injected"] and row["lost"] == 0 for row in faults), rows
    empty = next(row for row in rows if row["fault"] == "empty")  # the model's own answer
    assert empty["recovered"] == empty["injected"] > 0 and empty["errors"] == empty["lost"] == 0
    # each call retried three times; some asked again after the search (and failing again)
    assert all(row["retried"] >= 3 * row["injected"] for row in rows), rows
    run_id = store.list_runs()[-1]["id"]
    with_errors = [c for c in store.list_candidates(run_id) if c["errors"]]
    assert with_errors
    for candidate in with_errors:  # the score is the mean over the answered examples only
        rows = store.get_evaluations(run_id, candidate["key_id"], "dev").values()
        answered = [r["score"] for r in rows if r["error"] is None]
        assert candidate["dev_score"] == pytest.approx(statistics.mean(answered))
        assert candidate["examples"] == len(answered)
        assert candidate["status"] != "complete"  # short of answers: never ranked
    if result is not None:  # the rare key that met no fault may win; it has every answer
        winner = next(c for c in store.list_candidates(run_id)
                      if c["key_id"] == result.lock["key_id"] and c["status"] == "complete")
        assert winner["errors"] == 0


def _task_file(folder: Path, api_base: str, budget: int) -> Path:
    data = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "sentiment"
    text = f"""\
name: faulty
data: {{train: {data}/train.jsonl, test: {data}/test.jsonl, input: input, target: output,
       dev_size: 10, test_size: 30}}
model: text-completion-openai/fake
prompt: {{seeds: ["Is the review positive or negative?"], labels: [positive, negative],
         style: completion}}
search: {{strategy: random, seed: 0, budget: {{lm_calls: {budget}}}}}
lm: {{api_base: "{api_base}", api_key_env: FAKE_API_KEY, timeout: 1, retries: 1,
     backoff: 0.01}}
"""
    path = folder / "task.yaml"
    path.write_text(text)
    return path


def _secret_places(root: Path, texts: list[str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            found += [f"{path}: {s}" for s in (KEY_VALUE, PASSWORD) if s.encode() in blob]
    found += [f"output: {s}" for text in texts for s in (KEY_VALUE, PASSWORD) if s in text]
    return found


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_max_error_rate_stops_cleanly_and_no_credential_is_written(tmp_path, fake_key, capsys):
    results = tmp_path / "results"
    logs = _Collect()
    logging.getLogger().addHandler(logs)
    with FakeAPI(0.0, "server_error=0.5", fail_attempts=100) as api:
        base = api.base_url.replace("http://", f"http://user:{PASSWORD}@")
        task = _task_file(tmp_path, base, budget=200)
        code = main(["run", str(task), "--results", str(results), "--quiet",
                     "--max-error-rate", "0.2"])
        out = capsys.readouterr()
        assert code == EXIT_MODEL_UNAVAILABLE, out.err
        said = " ".join(out.err.split())
        assert "model unavailable: error rate" in said and "above search.max_error_rate 0.2" in said
        assert "(last error: server)" in said and "--resume" in said
        assert not (results / "faulty" / "best.json").exists()  # no lock from a failing run
        store = Store(default_url(results))
        run = store.list_runs("faulty")[-1]
        assert run["status"] == "stopped" and run["spent"]["lm_calls"] < 200
        assert run["spent"]["errors"]["server"] > 0
        for command in (["leaderboard", "--format", "md"], ["report", "--html",
                                                            str(results / "r.html")]):
            assert main([*command, "--results", str(results)]) == 0
    logging.getLogger().removeHandler(logs)
    texts = [out.out, out.err, capsys.readouterr().out, *logs.lines]
    assert _secret_places(results, texts) == []  # (only the task file holds the URL)
    assert (results / "promptsearch.db").exists()
