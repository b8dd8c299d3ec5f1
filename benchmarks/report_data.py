"""The HTML report of the bundled-task runs, rebuilt from committed CSVs (no model, no store).

    python -m benchmarks.report_data [--out results] [--export]

results/report.html shows each task's latest run of `python -m benchmarks.tasks_table`: its
leaderboard row, its candidates (the best-dev curve), and its finalists' keys and test answers
(prompt length, confusion matrix, the winner against the seed). tasks_table exports exactly that from its store
(results/bench, run-time state that is never committed) to results/report_data/*.csv; this
command loads those CSVs into a scratch SQLite store and writes results/report.html with the code
of `promptsearch report`. `--export` first exports again from results/bench.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from sqlalchemy import JSON, Float, Integer, insert

from promptsearch.api import open_store
from promptsearch.report.html import write_report
from promptsearch.report.leaderboard import latest_runs
from promptsearch.storage.store import Store, candidates, evaluations, keys, runs

from .harness import read_rows, write_rows

TABLES = {"runs": runs, "candidates": candidates, "keys": keys, "evaluations": evaluations}
FOLDER = "report_data"


def export(store, out: Path) -> None:
    """What the report shows of each task's latest run, as one CSV per store table. Tasks the
    store holds no run of keep the rows already exported (with the commit that made them): a
    benchmark run on some tasks adds to the report, it does not empty it of the others."""
    chosen = latest_runs(store)
    scored = [c for run in chosen for c in store.list_candidates(run["id"])]
    finalists = sorted({row["key_id"] for run in chosen for row in run["result"]["finalists"]})
    key_rows = [{"id": key_id, "body": store.get_key(key_id)} for key_id in finalists]
    tested = [row for run in chosen for finalist in run["result"]["finalists"]
              for row in store.get_evaluations(run["id"], finalist["key_id"], "test").values()]
    kept = _kept(out, {run["task"] for run in chosen}, set(finalists))
    for name, rows in (("runs", chosen), ("candidates", scored), ("keys", key_rows),
                       ("evaluations", tested)):
        table = TABLES[name]
        write_rows(out / FOLDER / f"{name}.csv",
                   kept[name] + [_encode(table, row) for row in rows],
                   [column.name for column in table.columns])


def _kept(out: Path, refreshed: set[str], new_keys: set[str]) -> dict[str, list[dict]]:
    """The exported rows of runs of other tasks than `refreshed`, as the CSVs hold them."""
    def rows(name: str) -> list[dict]:
        path = out / FOLDER / f"{name}.csv"
        return read_rows(path) if path.exists() else []

    old_runs = [row for row in rows("runs") if row["task"] not in refreshed]
    run_ids = {row["id"] for row in old_runs}
    return {"runs": old_runs,
            "candidates": [row for row in rows("candidates") if row["run_id"] in run_ids],
            "keys": [row for row in rows("keys") if row["id"] not in new_keys],
            "evaluations": [row for row in rows("evaluations") if row["run_id"] in run_ids]}


def render(out: Path) -> Path:
    """results/report.html from the CSVs alone."""
    with tempfile.TemporaryDirectory() as scratch:
        store = Store(f"sqlite:///{Path(scratch) / 'report.db'}")
        try:
            for name, table in TABLES.items():
                rows = [_decode(table, row) for row in read_rows(out / FOLDER / f"{name}.csv")]
                if rows:
                    with store.engine.begin() as conn:
                        conn.execute(insert(table), rows)
            return write_report(store, out / "report.html")
        finally:
            store.dispose()


def _encode(table, row: dict) -> dict:
    return {column.name: json.dumps(row[column.name], ensure_ascii=False)
            if isinstance(column.type, JSON) else row[column.name] for column in table.columns}


def _decode(table, row: dict) -> dict:
    """A CSV row back to the column's type; an empty cell is NULL (no recorded text column
    of these tables is ever the empty string but `completion`, which the report never reads)."""
    decoded = {}
    for column in table.columns:
        text = row[column.name]
        if text == "":
            decoded[column.name] = None
        elif isinstance(column.type, JSON):
            decoded[column.name] = json.loads(text)
        elif isinstance(column.type, Integer):
            decoded[column.name] = int(text)
        elif isinstance(column.type, Float):
            decoded[column.name] = float(text)
        else:
            decoded[column.name] = text
    return decoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results", type=Path)
    parser.add_argument("--export", action="store_true",
                        help="export again from the benchmark store (OUT/bench) first")
    args = parser.parse_args()
    if args.export:
        export(open_store(args.out / "bench"), args.out)
    print(f"wrote {render(args.out)}")


if __name__ == "__main__":
    main()
