"""Can what worked on the other tasks pick a task's keys better than uniform draws do?

    python -m benchmarks.transfer [--dev 30] [--splits 1000]

A search could start from a prior: the components (demo count, demo selection, format,
instruction kind) that scored well on other tasks. This benchmark measures that offline, leave one
task out, on the keys of benchmarks.selection (64 uniform keys per task, each scored on every test
example). For each task it fits an additive prior on the other tasks only: the mean z-score of
the keys having each component value, summed over a key's components. It ranks the task's own
keys by that prior and simulates a search that scores the top k of them, choosing its winner on
a dev set as benchmarks.selection does; the baseline is `random`'s ten uniform keys.

The keys' components are redrawn once (gemma writes the paraphrases the space holds) and kept in
results/selection_points.csv, so a rerun needs no model. Results: results/transfer.csv and .md.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

from promptsearch.api import open_store
from promptsearch.pipeline.prepare import prepare

from .harness import append_row, decimals, done_keys, markdown_table, read_rows, write_rows
from .harness import provenance
from .selection import held_out_of_choice, redrawn
from .strategies import configured

TOP = (3, 5, 10, 20)
POINT_COLUMNS = ["task", "draw", "n_demos", "selection", "format", "instruction_kind"]
COLUMNS = ["task", "dev_size", "random_10"] + [f"prior_top_{k}" for k in TOP] + [
    "gain_top_10", "best_key", "prior_first_choice"]


def instruction_kind(origin: str) -> str:
    """Instruction indices mean different texts on different tasks; their origin carries over."""
    return "paraphrase" if origin.startswith("paraphrase") else origin


def redraw_points(name: str, scored: dict[int, str], store) -> list[dict]:
    """The components of the scored draws of one task."""
    prepared = prepare(configured(name, "random", 300, seed=0, racing=False), store)
    return [{"task": name, "draw": draw, "n_demos": candidate.point.n_demos,
             "selection": candidate.point.selection, "format": candidate.point.format,
             "instruction_kind": instruction_kind(candidate.origin)}
            for draw, candidate in sorted(redrawn(prepared, scored).items())]


def features(point: dict) -> list[tuple]:
    return [("n_demos", point["n_demos"]), ("selection", point["selection"]),
            ("format", point["format"]), ("instruction", point["instruction_kind"]),
            ("demos", (point["n_demos"], point["selection"]))]


def fit_prior(keys_by_task: dict[str, list[dict]], leave_out: str) -> dict[tuple, float]:
    """Mean z-score (within its task) of the keys having each component value, over every task
    but `leave_out`."""
    zs: dict[tuple, list[float]] = defaultdict(list)
    for name, keys in keys_by_task.items():
        if name == leave_out:
            continue
        tests = [key["test"] for key in keys]
        mean, spread = statistics.fmean(tests), statistics.pstdev(tests) or 1.0
        for key in keys:
            for feature in features(key):
                zs[feature].append((key["test"] - mean) / spread)
    return {feature: statistics.fmean(values) for feature, values in zs.items()}


def ranked(keys: list[dict], prior: dict[tuple, float]) -> list[dict]:
    """Best prior first; ties keep the draw order (the order `random` would score them in)."""
    return sorted(keys, key=lambda key: -sum(prior.get(f, 0.0) for f in features(key)))


def task_row(name: str, keys_by_task: dict, dev_size: int, splits: int) -> dict:
    keys = keys_by_task[name]
    order = ranked(keys, fit_prior(keys_by_task, leave_out=name))
    base = held_out_of_choice([key["scores"] for key in keys], dev_size, 10, splits)
    row = {"task": name, "dev_size": dev_size, "random_10": base,
           "best_key": max(key["test"] for key in keys)}
    for k in TOP:
        row[f"prior_top_{k}"] = held_out_of_choice([key["scores"] for key in order[:k]],
                                                   dev_size, k, splits)
    row["gain_top_10"] = row["prior_top_10"] - base
    first = order[0]
    row["prior_first_choice"] = (f"{first['n_demos']} {first['selection']} demos, format "
                                 f"{first['format']}, {first['instruction_kind']} instruction")
    return row


def keys_by_task(scores_path: Path, points_path: Path) -> dict[str, list[dict]]:
    points = {(row["task"], row["draw"]): row for row in read_rows(points_path)}
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in read_rows(scores_path):
        point = points[(row["task"], row["draw"])]
        scores = json.loads(row["scores"])
        grouped[row["task"]].append({**point, "n_demos": int(point["n_demos"]),
                                     "format": int(point["format"]), "scores": scores,
                                     "test": statistics.fmean(scores)})
    return dict(grouped)


def mean_row(rows: list[dict]) -> dict:
    numeric = ["random_10", "best_key", "gain_top_10"] + [f"prior_top_{k}" for k in TOP]
    mean = {column: statistics.fmean(row[column] for row in rows) for column in numeric}
    return {**mean, "task": f"mean of {len(rows)} tasks", "dev_size": rows[0]["dev_size"],
            "prior_first_choice": ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=int, default=30)
    parser.add_argument("--splits", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    provenance()  # the code's commit, read before the runs (edits meanwhile don't count)
    scores_path = args.out / "selection_scores.csv"
    points_path = args.out / "selection_points.csv"
    if not scores_path.exists():
        parser.error(f"{scores_path} does not exist yet: run benchmarks.selection first")
    have = done_keys(points_path, ("task", "draw"))
    scored: dict[str, dict[int, str]] = defaultdict(dict)
    for row in read_rows(scores_path):
        if (row["task"], row["draw"]) not in have:
            scored[row["task"]][int(row["draw"])] = row["key_id"]
    store = open_store(args.out / "bench")
    for name, draws in sorted(scored.items()):
        for row in redraw_points(name, draws, store):
            append_row(points_path, row, POINT_COLUMNS)
    by_task = keys_by_task(scores_path, points_path)
    rows = [task_row(name, by_task, args.dev, args.splits) for name in sorted(by_task)]
    rows.append(mean_row(rows))
    write_rows(args.out / "transfer.csv", rows, COLUMNS)
    number = {column: decimals(column) for column in COLUMNS[2:-1]}
    number["gain_top_10"] = decimals("gain_top_10", "+.3f")
    (args.out / "transfer.md").write_text(
        "# A prior from the other tasks (leave one task out; gemma-3-270m, test examples)\n\n"
        "`python -m benchmarks.transfer` · per task, its 64 uniform keys from "
        "benchmarks.selection ranked by an additive prior fitted on the other tasks' keys "
        "(mean z-score of each demo count, demo selection, format and instruction kind); "
        "`prior_top_k` is the mean held-out score of the best-dev key among the top k, "
        f"`random_10` that among 10 uniform keys, over {args.splits} random splits into "
        f"dev {args.dev} and held-out; `best_key` is picked on all test examples\n\n"
        + markdown_table(rows, COLUMNS, number), encoding="utf-8")


if __name__ == "__main__":
    main()
