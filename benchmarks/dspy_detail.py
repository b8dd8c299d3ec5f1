"""What the DSPy strategies produced, read from the benchmark store: per task and optimizer,
the converted key's own dev and test scores next to the seed prompt's, DSPy's calls and the
replies its format could not parse. (The strategies table reports each run's winner, which is
the seed prompt when DSPy's key scores no higher on dev.) Rows accumulate in
results/strategies_dspy.csv, so runs made on another machine, whose store is not here, stay.

    python -m benchmarks.dspy_detail      # after benchmarks.strategies ran dspy-* rows
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from promptsearch.api import open_store

from .harness import markdown_table, read_rows

COLUMNS = ["task", "optimizer", "model", "dev_size", "dspy key", "dspy key dev", "dspy key test",
           "seed dev", "seed test", "DSPy calls", "parse failures", "seconds"]
ROW_KEY = ("task", "optimizer", "model", "dev_size")


def detail_rows(store) -> list[dict]:
    rows = []
    for run in store.list_runs():
        if not run["strategy"].startswith("dspy") or run["status"] != "finished":
            continue
        finalists = run["result"]["finalists"]
        seed = next((r for r in finalists if r["baseline"]), None)
        produced = next((c for c in store.list_candidates(run["id"])
                         if c["origin"].split(":")[0] == run["strategy"]), None)
        mine = None if produced is None else next(
            (r for r in finalists if r["key_id"] == produced["key_id"]),
            {"dev": produced["dev_score"], "test": None})
        spent = run["spent"]
        rows.append({
            "task": run["task"], "optimizer": run["strategy"],
            "model": run["model"].split("/")[-1],
            "dev_size": run["config"]["data"]["dev_size"],
            "dspy key": _same_as_seed(produced, seed),
            "dspy key dev": _score(mine, "dev"), "dspy key test": _score(mine, "test"),
            "seed dev": _score(seed, "dev"), "seed test": _score(seed, "test"),
            "DSPy calls": spent.get("framework_calls", 0),
            "parse failures": spent.get("parse_failures", 0),
            "seconds": f"{spent.get('seconds', 0):.0f}"})
    latest = {(r["task"], r["optimizer"], r["model"], r["dev_size"]): r for r in rows}
    return sorted(latest.values(), key=lambda r: (r["model"], r["task"], r["optimizer"]))


def merged(earlier: list[dict], fresh: list[dict]) -> list[dict]:
    """Earlier rows, replaced by a fresh row of the same task, optimizer, model and dev size."""
    rows = {tuple(str(r[c]) for c in ROW_KEY): r for r in earlier}
    rows.update({tuple(str(r[c]) for c in ROW_KEY): r for r in fresh})
    return sorted(rows.values(), key=lambda r: (r["model"], r["task"], r["optimizer"]))


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _same_as_seed(produced, seed) -> str:
    if produced is None:
        return "–"
    if produced["origin"].endswith(":unfinished"):
        return "none: stopped (budget or error) before DSPy returned"
    return "the seed prompt unchanged" if seed and produced["key_id"] == seed["key_id"] \
        else "new"


def _score(row, name: str) -> str:
    return "–" if row is None or row.get(name) is None else f"{row[name]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    csv_path = args.out / "strategies_dspy.csv"
    earlier = read_rows(csv_path) if csv_path.exists() else []
    rows = merged(earlier, detail_rows(open_store(args.out / "bench")))
    write_csv(csv_path, rows)
    header = ("# DSPy optimizers inside promptsearch: the key each produced\n\n"
              "`python -m benchmarks.dspy_detail` · DSPy's instruction and demos converted to a "
              "PromptKey in the task's completion format, scored by promptsearch's evaluator on "
              "the run's dev set and on test (100 examples; '–' when it was not a finalist) · "
              "parse failures: replies "
              "DSPy could parse in neither its chat nor its JSON format\n\n")
    (args.out / "strategies_dspy.md").write_text(header + markdown_table(rows, COLUMNS),
                                                 encoding="utf-8")
    print(markdown_table(rows, COLUMNS))


if __name__ == "__main__":
    main()
