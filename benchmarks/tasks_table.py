"""Seed prompt vs searched winner on every bundled task, on the embedded model.

    python -m benchmarks.tasks_table [--tasks sentiment sum ...] [--out results]

Writes results/tasks.csv row by row (a task already in the CSV with the same config hash is
skipped, so an interrupted benchmark resumes where it stopped), then results/tasks.md from the
CSV alone (render(), which `python -m benchmarks.check` reruns), and results/report.html: what
it shows of the runs' store (results/bench, not committed) is exported to results/report_data/
and the page is rendered from those CSVs (`python -m benchmarks.report_data` renders it again).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from promptsearch import run
from promptsearch.api import open_store
from promptsearch.pipeline.prepare import prepare, run_id_prefix
from promptsearch.task.config import load_task
from promptsearch.task.data import load_dataset

from . import report_data
from .harness import append_row, commits_of, done_keys, provenance, read_rows

TASKS = Path(__file__).parent / "tasks"
COLUMNS = ["task", "config", "seed_test", "seed_lo", "seed_hi", "winner_test", "winner_lo",
           "winner_hi", "delta", "p_value", "p_holm", "finalists", "lm_calls", "proposer_calls",
           "model_calls", "test_calls", "seconds", "winner_key", "model_id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=sorted(p.stem for p in TASKS.glob("*.yaml")))
    parser.add_argument("--out", default="results", type=Path)
    args = parser.parse_args()
    provenance()  # the code's commit, read before the hour-long run (edits meanwhile don't count)
    csv_path = args.out / "tasks.csv"
    done = done_keys(csv_path, ("task", "config"))
    store = open_store(args.out / "bench")
    for name in args.tasks:
        task = load_task(TASKS / f"{name}.yaml")
        config = run_id_prefix(task, load_dataset(task).hash)
        if (name, config) in done:
            continue
        started = time.monotonic()
        result = run(task, store=store, results_dir=args.out / "bench", promote="always")
        row = _row(name, config, result, time.monotonic() - started)
        append_row(csv_path, {**row, "model_id": prepare(task, None).lm.identity()}, COLUMNS)
        print(f"{name}: done in {time.monotonic() - started:.0f} s", flush=True)
    (args.out / "tasks.md").write_text(render(csv_path), encoding="utf-8")
    report_data.export(store, args.out)  # what report.html shows, as committed CSVs
    report_data.render(args.out)


def _row(name: str, config: str, result, seconds: float) -> dict:
    seed = result.baseline
    winner = result.winner
    spent = result.lock["spent"]
    return {"task": name, "config": config, "seed_test": seed["test"], "seed_lo": seed["test_lo"],
            "seed_hi": seed["test_hi"], "winner_test": winner["test"],
            "winner_lo": winner["test_lo"], "winner_hi": winner["test_hi"],
            "delta": winner["delta"], "p_value": winner["p_value"], "p_holm": winner["p_holm"],
            "finalists": len(result.finalists), "lm_calls": spent["lm_calls"],
            "proposer_calls": spent["proposer_calls"],
            "model_calls": spent["model_calls"], "test_calls": spent["test_calls"],
            "seconds": round(seconds, 1), "winner_key": result.lock["key_id"]}


def render(csv_path: Path) -> str:
    """tasks.md, from tasks.csv alone."""
    rows = read_rows(csv_path)
    commits = commits_of(rows)
    lines = ["# Seed prompt vs searched winner (gemma-3-270m, test set)", "",
             "`python -m benchmarks.tasks_table` · budget 800 LM calls, dev_size 30, seed 0, "
             "strategy tpe · 95% intervals with the task's metric (Wilson for 0/1 scores) · "
             "Δ and p: paired permutation test of the winner against the seed prompt on the same "
             "test examples; Holm p: corrected for the finalists compared with the seed · "
             f"rows made at commit {commits}", "",
             "| task | seed test [CI] | winner test [CI] | Δ | p | Holm p (finalists) | "
             "search calls (proposer) | model calls | test calls | seconds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        f = {k: float(r[k]) for k in COLUMNS[2:11]}
        lines.append(
            f"| {r['task']} | {f['seed_test']:.2f} [{f['seed_lo']:.2f}, {f['seed_hi']:.2f}] | "
            f"{f['winner_test']:.2f} [{f['winner_lo']:.2f}, {f['winner_hi']:.2f}] | "
            f"{f['delta']:+.2f} | {f['p_value']:.3f} | {f['p_holm']:.3f} ({r['finalists']}) | "
            f"{r['lm_calls']} ({r['proposer_calls']}) | {r['model_calls']} | "
            f"{r['test_calls']} | {float(r['seconds']):.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
