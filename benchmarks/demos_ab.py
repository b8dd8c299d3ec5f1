"""Retrieved demos vs random demos, all else equal, on the test sets of the bundled tasks.

    python -m benchmarks.demos_ab [--tasks ...] [--k 4]

The key is each task's seed instruction, default format and k demos: drawn at random from the
train pool, or retrieved per input (TF-IDF) from the same fixed sample of the pool. Writes
results/demos_ab.csv and .md with the paired difference and its p-value.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from promptsearch.api import evaluate, open_store
from promptsearch.task.config import load_task
from promptsearch.pipeline.prepare import prepare
from promptsearch.search.space import Point
from promptsearch.evaluation.evaluate import paired_answers
from promptsearch.core.stats import compare as compare_answers, score_interval

from .harness import append_row, done_keys, markdown_table, provenance, read_rows

TASKS = Path(__file__).parent / "tasks"
COLUMNS = ["task", "k", "random", "random_lo", "random_hi", "retrieved", "retrieved_lo",
           "retrieved_hi", "delta", "p_value", "examples"]


def compare(name: str, k: int, store) -> dict:
    task = load_task(TASKS / f"{name}.yaml")
    space = prepare(task, store).space
    keys = [space.key(Point(0, 0, k, selection, 0, 0)) for selection in ("random", "retrieved")]
    random_score, retrieved_score = evaluate(task, keys, split="test", store=store)
    metric = prepare(task, store).metric
    versus = compare_answers(metric, *paired_answers(retrieved_score, random_score))
    row = {"task": name, "k": k, "examples": versus.examples, "delta": versus.delta,
           "p_value": versus.p_value}
    for label, score in (("random", random_score), ("retrieved", retrieved_score)):
        row[label] = score.score
        row[f"{label}_lo"], row[f"{label}_hi"] = score_interval(metric, score.answers())
    return row


def _mean_row(rows: list[dict], k: int) -> dict:
    """The mean over the tasks run at k: is one k better across tasks, not just on one?"""
    mine = [r for r in rows if int(r["k"]) == k]
    mean = {c: sum(float(r[c]) for r in mine) / len(mine) for c in ("random", "retrieved")}
    return {"task": f"mean of {len(mine)} tasks", "k": k, **mean,
            "delta": mean["retrieved"] - mean["random"], "p_value": "", "examples": ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=sorted(p.stem for p in TASKS.glob("*.yaml")))
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    provenance()  # the code's commit, read before the runs (edits meanwhile don't count)
    csv_path = args.out / "demos_ab.csv"
    done = done_keys(csv_path, ("task", "k"))
    store = open_store(args.out / "bench")
    for name in args.tasks:
        if (name, str(args.k)) not in done:
            append_row(csv_path, compare(name, args.k, store), COLUMNS)
            print(f"{name}: done", flush=True)
    rows = sorted(read_rows(csv_path), key=lambda r: (int(r["k"]), r["task"]))
    rows += [_mean_row(rows, k) for k in sorted({int(r["k"]) for r in rows})]
    fmt = {c: (lambda c: lambda r: f"{float(r[c]):.2f}")(c) for c in ("random", "retrieved")}
    fmt["delta"] = lambda r: f"{float(r['delta']):+.2f}"
    fmt["p_value"] = lambda r: f"{float(r['p_value']):.3f}" if r["p_value"] != "" else ""
    (args.out / "demos_ab.md").write_text(
        "# Retrieved vs random demos (gemma-3-270m, seed instruction, default format, test)\n\n"
        "`python -m benchmarks.demos_ab --k K` (K = 4, 8, 16) · a `mean` row averages the tasks run "
        "at one k\n\n"
        + markdown_table(rows, ["task", "k", "random", "retrieved", "delta", "p_value",
                                "examples"], fmt), encoding="utf-8")


if __name__ == "__main__":
    main()
