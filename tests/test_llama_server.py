"""The remote path against a real OpenAI-compatible server: `llama_cpp.server` serving the
embedded model (gemma-3-270m), killed mid-run and started again on the same port, and a port
where nothing listens."""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import child_env, cli, remote_sentiment_task
from promptsearch.errors import EXIT_MODEL_UNAVAILABLE
from promptsearch.lm.client import LOCAL_MODELS
from promptsearch.storage.store import Store, default_url

pytestmark = pytest.mark.model
DEV_SIZE = 6


class LlamaServer:
    """`python -m llama_cpp.server` on the embedded model's GGUF file, on a fixed port."""

    def __init__(self, port: int):
        self.port, self.process = port, None
        self.model_path = LOCAL_MODELS.resolve("gemma-3-270m")[0]

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", self.model_path,
             "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "2048",
             "--n_threads", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.base_url}/models", timeout=2).close()
                return
            except OSError:
                time.sleep(0.3)
        raise AssertionError("llama_cpp.server did not start within 120 s")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _task(folder: Path, base_url: str) -> Path:
    return remote_sentiment_task(
        folder, name="served", api_base=base_url, dev_size=DEV_SIZE, test_size=8, budget=36,
        model="text-completion-openai/gemma-3-270m", search=", finalists: 1",
        lm="timeout: 30, retries: 1, backoff: 0.5, concurrency: 1")


def _candidates(results: Path) -> list[dict]:
    if not (results / "promptsearch.db").exists():
        return []
    store = Store(default_url(results))
    try:
        runs = store.list_runs("served")
        return store.list_candidates(runs[-1]["id"]) if runs else []
    finally:
        store.dispose()


def test_a_server_killed_mid_run_and_restarted_never_gives_a_partial_winner(tmp_path):
    server = LlamaServer(_free_port())
    server.start()
    results = tmp_path / "results"
    task = _task(tmp_path, server.base_url)
    search = subprocess.Popen(cli("run", str(task), "--results", str(results)),
                              env=child_env(), cwd=tmp_path, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while len(_candidates(results)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        server.kill()  # mid-run: requests in flight die, the next ones are refused
        time.sleep(3)
        server.start()
        out, err = search.communicate(timeout=600)
    finally:
        search.kill()
        server.kill()
    assert search.returncode == 0, err[-2000:]
    store = Store(default_url(results))
    run = store.list_runs("served")[-1]
    errors = run["spent"]["errors"]
    assert sum(errors.values()) > 0 and set(errors) <= {"refused", "connection"}, errors
    winner = run["result"]["winner"]
    rows = store.get_evaluations(run["id"], winner, "dev").values()
    assert len(rows) == DEV_SIZE and all(row["error"] is None for row in rows)
    for candidate in store.list_candidates(run["id"]):
        if candidate["status"] == "complete":
            assert candidate["errors"] == 0 and candidate["examples"] == DEV_SIZE
    assert "failed calls (after retries)" in " ".join(out.split())


def test_nothing_listening_stops_with_the_address_and_exit_4(tmp_path):
    port = _free_port()
    task = _task(tmp_path, f"http://127.0.0.1:{port}/v1")
    done = subprocess.run(cli("run", str(task), "--results", str(tmp_path / "results")),
                          env=child_env(), cwd=tmp_path, text=True, capture_output=True,
                          timeout=300)
    err = " ".join(done.stderr.split())
    assert done.returncode == EXIT_MODEL_UNAVAILABLE, err
    assert f"nothing is listening at http://127.0.0.1:{port}/v1" in err
    assert "Traceback" not in err
    assert not (tmp_path / "results" / "served" / "best.json").exists()
