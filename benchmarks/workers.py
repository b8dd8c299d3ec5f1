"""Trials per minute of one shared run with 1, 2 and 4 worker processes on a latency-bound backend.

    python -m benchmarks.workers [--workers 1 2 4] [--latency 0.2] [--lm-calls 600]
                                 [--server postgresql://postgres@127.0.0.1:5432]

Each setting is `promptsearch run TASK --workers N` (the coordinator starts N worker processes)
on a fresh PostgreSQL database, with the fake hosted API of benchmarks/fake_api.py answering
every call after `--latency` seconds, one call in flight per worker (so the speed-up is the
workers', not the evaluator's threads). The search time runs from the first worker's start to
the last candidate recorded: process start-up (imports) and the coordinator's test scoring are
left out, and reported apart as the command's wall time. The steady rate runs from the first
candidate to the last: it leaves out each worker's first model call and the strategy's set-up,
which workers on separate machines would pay in parallel.

Writes results/benchmarks/workers.csv and workers.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from promptsearch.storage.store import driver_url

from .fake_api import FakeAPI
from .harness import markdown_table

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data" / "sentiment"
COLUMNS = ["workers", "trials", "lm_calls", "search_seconds", "trials_per_min", "speedup",
           "efficiency", "steady_trials_per_min", "steady_speedup", "joined_within_s",
           "first_candidate_s", "wall_seconds"]
DEV_SIZE = 10


def _task(folder: Path, api_base: str, lm_calls: int) -> Path:
    path = folder / "task.yaml"
    path.write_text(f"""\
name: workers_bench
data: {{train: {DATA}/train.jsonl, test: {DATA}/test.jsonl, dev_size: {DEV_SIZE},
       test_size: 20}}
model: text-completion-openai/fake
prompt: {{seeds: ["Is the review positive or negative?"], labels: [positive, negative],
         style: completion}}
search: {{strategy: random, seed: 0, budget: {{lm_calls: {lm_calls}}}}}
lm: {{api_base: "{api_base}", api_key_env: FAKE_API_KEY, concurrency: 1}}
""")
    return path


class FreshDatabase:
    """A PostgreSQL database that exists for one measurement."""

    def __init__(self, server: str, name: str):
        self.server, self.name = server, name
        self.admin = create_engine(driver_url(f"{server}/postgres"), isolation_level="AUTOCOMMIT")

    def __enter__(self) -> str:
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return f"{self.server}/{self.name}"

    def __exit__(self, *exc) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def measure(workers: int, api_base: str, server: str, lm_calls: int, folder: Path) -> dict:
    task = _task(folder, api_base, lm_calls)
    env = {**os.environ, "FAKE_API_KEY": "sk-fake", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "PYTHONPATH": str(ROOT)}
    with FreshDatabase(server, f"ps_bench_workers_{workers}_{os.getpid()}") as url:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "promptsearch.cli", "run", str(task), "--storage",
                        url, "--results", str(folder / f"results-{workers}"), "--workers",
                        str(workers), "--quiet"], env=env, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        engine = create_engine(driver_url(url))
        with engine.connect() as conn:
            first, joined = conn.execute(text(
                "SELECT min(started_at), max(started_at) FROM ps_workers")).one()
            last, trials, calls = conn.execute(text(
                "SELECT max(created_at), count(*), sum(lm_calls) FROM ps_candidates")).one()
            times = sorted(t for (t,) in conn.execute(text(
                "SELECT created_at FROM ps_candidates")))
        engine.dispose()
    seconds, steady = last - first, times[-1] - times[0]
    return {"workers": workers, "trials": trials, "lm_calls": calls,
            "search_seconds": round(seconds, 1), "trials_per_min": round(trials / seconds * 60, 1),
            "steady_trials_per_min": round((trials - 1) / steady * 60, 1),
            "joined_within_s": round(joined - first, 1),
            "first_candidate_s": round(times[0] - first, 1), "wall_seconds": round(wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--lm-calls", type=int, default=600)
    parser.add_argument("--server", default=os.environ.get(
        "PS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432"))
    parser.add_argument("--out", default="results/benchmarks")
    args = parser.parse_args()
    rows = []
    with FakeAPI(args.latency) as api, tempfile.TemporaryDirectory() as tmp:
        for count in args.workers:
            rows.append(measure(count, api.base_url, args.server, args.lm_calls, Path(tmp)))
            print(rows[-1], flush=True)
    for row in rows:
        row["speedup"] = round(row["trials_per_min"] / rows[0]["trials_per_min"], 2)
        row["efficiency"] = round(row["speedup"] * rows[0]["workers"] / row["workers"], 2)
        row["steady_speedup"] = round(row["steady_trials_per_min"]
                                      / rows[0]["steady_trials_per_min"], 2)
    write(Path(args.out), rows, args)


def write(out: Path, rows: list[dict], args) -> None:
    import csv

    out.mkdir(parents=True, exist_ok=True)
    with (out / "workers.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    (out / "workers.md").write_text(
        "# One run, many workers: trials per minute\n\n"
        f"`python -m benchmarks.workers`: random search on sentiment (dev {DEV_SIZE}), "
        f"{args.lm_calls} LM calls, a fake hosted API answering after "
        f"{args.latency * 1000:.0f} ms, one call in flight per worker, PostgreSQL store (a "
        "fresh database per setting). Speed-up and efficiency against the first row; search "
        "seconds from the first worker's start to the last candidate recorded; steady: from the first "
        "candidate to the last; joined within: seconds between the first and last worker "
        "joining; first candidate: seconds from the first worker's start.\n\n"
        + markdown_table(rows, COLUMNS) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
