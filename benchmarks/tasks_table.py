"""Seed prompt vs searched winner on every bundled task, on the embedded model.

    python -m benchmarks.tasks_table [--tasks sentiment sum ...] [--out results]

Writes results/tasks.csv and results/tasks.md row by row; a task already in the CSV with the same
config hash is skipped, so an interrupted benchmark resumes where it stopped.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from promptsearch import run
from promptsearch.api import open_store
from promptsearch.config import load_task
from promptsearch.data import load_dataset
from promptsearch.runner import run_id_prefix

from .harness import append_row, done_keys, read_rows

TASKS = Path(__file__).parent / "tasks"
COLUMNS = ["task", "config", "seed_test", "seed_lo", "seed_hi", "winner_test", "winner_lo",
           "winner_hi", "delta", "p_value", "lm_calls", "proposer_calls", "model_calls",
           "test_calls", "seconds", "winner_key"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=sorted(p.stem for p in TASKS.glob("*.yaml")))
    parser.add_argument("--out", default="results", type=Path)
    args = parser.parse_args()
    csv_path = args.out / "tasks.csv"
    done = done_keys(csv_path, ("task", "config"))
    store = open_store(args.out / "bench")
    for name in args.tasks:
        task = load_task(TASKS / f"{name}.yaml")
        config = run_id_prefix(task, load_dataset(task).hash)
        if (name, config) in done:
            continue
        started = time.monotonic()
        result = run(task, store=store, results_dir=args.out / "bench")
        append_row(csv_path, _row(name, config, result, time.monotonic() - started), COLUMNS)
        print(f"{name}: done in {time.monotonic() - started:.0f} s", flush=True)
    _write_markdown(csv_path, args.out / "tasks.md")


def _row(name: str, config: str, result, seconds: float) -> dict:
    seed = next(row for row in result.finalists if row["baseline"])
    winner = next(row for row in result.finalists if row["winner"])
    spent = result.lock["spent"]
    return {"task": name, "config": config, "seed_test": seed["test"], "seed_lo": seed["test_lo"],
            "seed_hi": seed["test_hi"], "winner_test": winner["test"],
            "winner_lo": winner["test_lo"], "winner_hi": winner["test_hi"],
            "delta": winner["delta"], "p_value": winner["p_value"],
            "lm_calls": spent["lm_calls"], "proposer_calls": spent["proposer_calls"],
            "model_calls": spent["model_calls"], "test_calls": spent["test_calls"],
            "seconds": round(seconds, 1), "winner_key": result.lock["key_id"]}


def _write_markdown(csv_path: Path, md_path: Path) -> None:
    rows = read_rows(csv_path)
    lines = ["# Seed prompt vs searched winner (gemma-3-270m, test set)", "",
             "`python -m benchmarks.tasks_table` · budget 800 LM calls, dev_size 30, seed 0, "
             "strategy tpe · 95% bootstrap CIs · p: paired permutation test vs the seed prompt", "",
             "| task | seed test [CI] | winner test [CI] | Δ | p | search calls (proposer) | "
             "model calls | test calls | seconds |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        f = {k: float(r[k]) for k in COLUMNS[2:10]}
        lines.append(
            f"| {r['task']} | {f['seed_test']:.2f} [{f['seed_lo']:.2f}, {f['seed_hi']:.2f}] | "
            f"{f['winner_test']:.2f} [{f['winner_lo']:.2f}, {f['winner_hi']:.2f}] | "
            f"{f['delta']:+.2f} | {f['p_value']:.3f} | {r['lm_calls']} ({r['proposer_calls']}) | "
            f"{r['model_calls']} | {r['test_calls']} | {float(r['seconds']):.0f} |")
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
