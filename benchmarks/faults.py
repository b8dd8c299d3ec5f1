"""Faults injected into a search through a fake hosted API (benchmarks/fake_api.py, reached
through litellm), and what became of each faulty call.

    python -m benchmarks.faults [--budget 120]

Two scenarios on the sentiment task: transient faults (each faulty prompt fails once, then is
answered: every one must be recovered by a retry) and persistent ones (each fails more often than
the LM retries: every one must end as a counted error, shown per key, never as an answer).
Writes results/faults.csv and results/faults.md: per fault kind, prompts injected, retries sent,
recovered, counted as errors, and lost (neither answered nor counted; must be 0).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import tempfile
import threading
from collections import defaultdict
from pathlib import Path

from sqlalchemy import select

from promptsearch import run
from promptsearch.errors import ModelUnavailable, PromptsearchError
from promptsearch.core.key import PromptKey
from promptsearch.pipeline.runner import execute
from promptsearch.pipeline.prepare import prepare
from promptsearch.storage.store import Store, default_url, evaluations

from .fake_api import FakeAPI
from .harness import markdown_table, provenance, read_rows, write_rows
from .strategies import configured

COLUMNS = ["scenario", "fault", "injected", "retried", "recovered", "errors", "lost"]
MODEL_COLUMN = "model_id"  # the fake API: model name @ api_base (in the CSV, not the table)
SHARES = {"rate_limit": 0.06, "server_error": 0.06, "timeout": 0.03, "drop": 0.06,
          "garbage": 0.06, "empty": 0.06}
RETRIES = 3
BACKOFF = 0.05  # seconds before the first retry (then doubling): a test-sized wait
UP_FOR, OUTAGE = 0.5, 1.0  # refused: the server restarts after UP_FOR s, down for OUTAGE s
REFUSED_BACKOFF = 0.4      # first wait 0.2-0.4 s, then doubling: the retries outlast OUTAGE
REFUSED_LATENCY = 0.03


def faulty_task(api_base: str, budget: int, key_env: str, backoff: float = BACKOFF,
                concurrency: int | None = None):
    task = configured("sentiment", "random", budget, 0, False, dev_size=15)
    config = task.config
    lm = config.lm.model_copy(update={"api_base": api_base, "timeout": 1.0, "retries": RETRIES,
                                      "api_key_env": key_env, "backoff": backoff,
                                      "concurrency": concurrency})
    prompt = config.prompt.model_copy(update={"style": "completion"})  # one prompt per call
    config = config.model_copy(update={"model": "text-completion-openai/fake", "lm": lm,
                                       "prompt": prompt})
    return task.model_copy(update={"config": config})


def scenario(folder: Path, persistent: bool, budget: int, key_env: str = "FAKE_API_KEY"):
    """Run one search against the faulty API; (rows per fault kind, run result or None when
    no key got every answer, store)."""
    log = folder / "requests.jsonl"
    faults = ",".join(f"{kind}={share}" for kind, share in SHARES.items())
    with FakeAPI(0.0, faults, fail_attempts=RETRIES + 5 if persistent else 1,
                 log=str(log)) as api:
        task = faulty_task(api.base_url, budget, key_env)
        store = Store(default_url(folder / "results"))
        try:
            result = run(task, store=store, results_dir=folder / "results")
            run_id = result.run_id
        except ModelUnavailable:  # persistent: no key has every answer, so no winner
            result, run_id = None, store.list_runs()[-1]["id"]
    name = "persistent" if persistent else "transient"
    rows = account(name, task, store, run_id, log)
    identity = prepare(task, None).lm.identity()
    return [{**row, MODEL_COLUMN: identity} for row in rows], result, store


def account(name: str, task, store, run_id: str, log: Path) -> list[dict]:
    requests = defaultdict(list)
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        requests[entry["prompt"]].append(entry["outcome"])
    outcome = _client_outcomes(task, store, run_id)  # prompt hash -> "answered" / "error"
    rows = {kind: dict.fromkeys(COLUMNS[2:], 0) for kind in SHARES}
    for prompt, attempts in requests.items():
        kind = attempts[0]
        if kind not in rows or prompt not in outcome:  # proposer calls are not evaluations
            continue
        row = rows[kind]
        row["injected"] += 1
        row["retried"] += len(attempts) - 1
        # an empty reply sent after every retry is recorded as the model's (empty) answer
        answered = outcome[prompt] == "answered" and ("ok" in attempts or kind == "empty")
        row["recovered"] += answered
        row["errors"] += outcome[prompt] == "error"
        row["lost"] += not answered and outcome[prompt] != "error"
    return [{"scenario": name, "fault": kind, **counts} for kind, counts in rows.items()]


def _client_outcomes(task, store, run_id: str) -> dict[str, str]:
    """What the store recorded for each prompt the run sent: an answer or an error."""
    prepared = prepare(task, None)
    examples = {ex.id: ex for ex in prepared.dataset.dev + prepared.dataset.test}
    with store.engine.connect() as conn:
        recorded = conn.execute(select(evaluations).where(evaluations.c.run_id == run_id))
        rows = [dict(row) for row in recorded.mappings()]
    outcomes = {}
    for row in rows:
        key = PromptKey.from_dict(store.get_key(row["key_id"]))
        prompt = key.render(**examples[row["example_id"]].inputs)
        digest = hashlib.sha256(prompt.encode()).hexdigest()[:16]
        outcomes[digest] = "error" if row["error"] else "answered"
    return outcomes


def refused(folder: Path, budget: int, persistent: bool, key_env: str = "FAKE_API_KEY") -> dict:
    """Connection refused: nothing listens at the API's address, for OUTAGE seconds mid-run
    (the server restarts; transient) or at all (persistent). Refused requests never reach a
    server, so this row is counted at the client: calls whose first request failed, requests
    sent again, and calls made for an evaluation that left no recorded row (lost)."""
    port = _free_port()
    # four calls in flight, several of them meet the outage
    task = faulty_task(f"http://127.0.0.1:{port}/v1", budget, key_env, REFUSED_BACKOFF, 4)
    prepared = prepare(task, None)
    store = Store(default_url(folder / "results"))
    prepared.lm.cache = prepared.proposer.cache = store
    with Outage(port, persistent) as outage:
        if not persistent:  # litellm's first call imports for a second: not part of the run
            prepared.lm.complete(prompt="warm-up", max_tokens=1)
            prepared.lm.counter = type(prepared.lm.counter)()
            outage.begin()
        try:
            result = execute(prepared, store, folder / "results")
            test_calls, run_id = result.lock["spent"]["test_calls"], result.run_id
        except PromptsearchError:  # persistent: no key got a single answer
            test_calls, run_id = 0, store.list_runs()[-1]["id"]
    counter = prepared.lm.counter
    return {"scenario": "persistent" if persistent else "transient", "fault": "refused",
            "injected": counter.retried_calls, "retried": counter.retries,
            "recovered": counter.retried_calls - counter.errors, "errors": counter.errors,
            "lost": _unrecorded(store, run_id, test_calls),
            MODEL_COLUMN: prepared.lm.identity()}


def _unrecorded(store, run_id: str, test_calls: int) -> int:
    """Evaluation calls the run made (dev, per candidate, and test) without a recorded row."""
    dev_calls = sum(c["lm_calls"] for c in store.list_candidates(run_id))
    with store.engine.connect() as conn:
        rows = [r.split for r in conn.execute(select(evaluations.c.split)
                                              .where(evaluations.c.run_id == run_id))]
    return (dev_calls - rows.count("dev")) + (test_calls - rows.count("test"))


class Outage:
    """The fake API on `port`, down from UP_FOR seconds for OUTAGE seconds (a restart); with
    `persistent`, never up."""

    def __init__(self, port: int, persistent: bool):
        self.port, self.persistent = port, persistent
        self.api: FakeAPI | None = None
        self.timers: list[threading.Timer] = []

    def __enter__(self) -> "Outage":
        if not self.persistent:
            self._start()
        return self

    def begin(self) -> None:
        """The clock starts: down after UP_FOR seconds, back OUTAGE seconds later."""
        self.timers = [threading.Timer(UP_FOR, self._stop),
                       threading.Timer(UP_FOR + OUTAGE, self._start)]
        for timer in self.timers:
            timer.start()

    def _start(self) -> None:
        self.api = FakeAPI(REFUSED_LATENCY, port=self.port).__enter__()

    def _stop(self) -> None:
        self.api.__exit__(None, None, None)

    def __exit__(self, *exc) -> None:
        for timer in self.timers:
            timer.join()
        if self.api is not None and self.api.process.poll() is None:
            self._stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=120, help="dev LM calls per scenario")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    provenance()  # the code's commit, read before the runs (edits meanwhile don't count)
    os.environ.setdefault("FAKE_API_KEY", "sk-fake-faults")  # the fake API ignores it
    rows = []
    for persistent in (False, True):
        with tempfile.TemporaryDirectory() as scratch:
            rows += scenario(Path(scratch), persistent, args.budget)[0]
        with tempfile.TemporaryDirectory() as scratch:
            rows.append(refused(Path(scratch), args.budget, persistent))
    write_rows(args.out / "faults.csv", rows, COLUMNS + [MODEL_COLUMN])
    (args.out / "faults.md").write_text(render(args.out / "faults.csv"), encoding="utf-8")
    print(markdown_table(rows, COLUMNS))


def render(csv_path: Path) -> str:
    """faults.md, from faults.csv alone."""
    rows = read_rows(csv_path)
    return (
        "# Injected faults and what became of them (`python -m benchmarks.faults`)\n\n"
        "Counts are prompts (one model call each) whose first request met the fault; "
        f"the LM retries {RETRIES} times with backoff (Retry-After honoured). Transient: each "
        "faulty prompt fails once. Persistent: each fails every time, so it must end as an "
        "error counted on its key (never scored as a right or wrong answer), except an empty "
        "reply repeated after every retry, which is the model's answer (scored unparseable): "
        "it counts as recovered. Failed dev calls are asked again once after the search, so "
        "a persistent fault may be retried more than 3 times. refused: "
        f"nothing listens at the API's address — for {OUTAGE:g} s mid-run while the server "
        "restarts (transient; retries wait longer, up to 2.8 s), or at all (persistent: the "
        "run stops after the first three refused calls, exit 4); refused requests never reach "
        "the server, so that row is counted at the client (calls whose first request failed; "
        "lost = evaluation calls without a recorded row). Rows made at commit "
        f"{', '.join(sorted({r['commit'][:12] for r in rows}))}.\n\n"
        + markdown_table(rows, COLUMNS))


if __name__ == "__main__":
    main()
