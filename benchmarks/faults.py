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
import tempfile
from collections import defaultdict
from pathlib import Path

from sqlalchemy import select

from promptsearch import run
from promptsearch.key import PromptKey
from promptsearch.runner import prepare
from promptsearch.store import Store, default_url, evaluations

from .fake_api import FAULTS, FakeAPI
from .harness import append_row, markdown_table
from .strategies import configured

COLUMNS = ["scenario", "fault", "injected", "retried", "recovered", "errors", "lost"]
SHARES = {"rate_limit": 0.06, "server_error": 0.06, "timeout": 0.03, "drop": 0.06,
          "garbage": 0.06, "empty": 0.06}
RETRIES = 3
BACKOFF = 0.05  # seconds before the first retry (then doubling): a test-sized wait


def faulty_task(api_base: str, budget: int, key_env: str):
    task = configured("sentiment", "random", budget, 0, False, dev_size=15)
    config = task.config
    lm = config.lm.model_copy(update={"api_base": api_base, "timeout": 1.0, "retries": RETRIES,
                                      "api_key_env": key_env, "backoff": BACKOFF})
    prompt = config.prompt.model_copy(update={"style": "completion"})  # one prompt per call
    config = config.model_copy(update={"model": "text-completion-openai/fake", "lm": lm,
                                       "prompt": prompt})
    return task.model_copy(update={"config": config})


def scenario(folder: Path, persistent: bool, budget: int, key_env: str = "FAKE_API_KEY"):
    """Run one search against the faulty API; (rows per fault kind, run result, store)."""
    log = folder / "requests.jsonl"
    faults = ",".join(f"{kind}={share}" for kind, share in SHARES.items())
    with FakeAPI(0.0, faults, fail_attempts=RETRIES + 5 if persistent else 1,
                 log=str(log)) as api:
        task = faulty_task(api.base_url, budget, key_env)
        store = Store(default_url(folder / "results"))
        result = run(task, store=store, results_dir=folder / "results")
    name = "persistent" if persistent else "transient"
    return account(name, task, store, result.run_id, log), result, store


def account(name: str, task, store, run_id: str, log: Path) -> list[dict]:
    requests = defaultdict(list)
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        requests[entry["prompt"]].append(entry["outcome"])
    outcome = _client_outcomes(task, store, run_id)  # prompt hash -> "answered" / "error"
    rows = {kind: dict.fromkeys(COLUMNS[2:], 0) for kind in FAULTS}
    for prompt, attempts in requests.items():
        kind = attempts[0]
        if kind == "ok" or prompt not in outcome:  # proposer calls are not evaluations
            continue
        row = rows[kind]
        row["injected"] += 1
        row["retried"] += len(attempts) - 1
        answered = outcome[prompt] == "answered" and "ok" in attempts
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=120, help="dev LM calls per scenario")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    os.environ.setdefault("FAKE_API_KEY", "sk-fake-faults")  # the fake API ignores it
    rows = []
    for persistent in (False, True):
        with tempfile.TemporaryDirectory() as scratch:
            rows += scenario(Path(scratch), persistent, args.budget)[0]
    csv_path = args.out / "faults.csv"
    csv_path.unlink(missing_ok=True)
    for row in rows:
        append_row(csv_path, row, COLUMNS)
    (args.out / "faults.md").write_text(
        "# Injected faults and what became of them (`python -m benchmarks.faults`)\n\n"
        "Counts are prompts (one model call each) whose first request met the fault; "
        f"the LM retries {RETRIES} times with backoff (Retry-After honoured). Transient: each "
        "faulty prompt fails once. Persistent: each fails every time, so it must end as an "
        "error counted on its key (never scored as a right or wrong answer).\n\n"
        + markdown_table(rows, COLUMNS))
    print(markdown_table(rows, COLUMNS))


if __name__ == "__main__":
    main()
