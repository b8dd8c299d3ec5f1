"""Move one contender's rows out of the compare benchmark's tables into results/archive/, so
that it can be rerun with changed code while the rows of the code before stay on record.

    python -m benchmarks.archive_rows --contender promptsearch-auto --label before-dev-stop

Rows of compare.csv, curves.csv and test_scores.csv whose contender (and model, if given)
match go, unchanged and with their own commit and command, to
results/archive/benchmarks/<label>-<table>.csv; the archive README gets a line naming them and
the commit they were moved at; compare.md and curves.html are rendered again without them.
Rerunning `python -m benchmarks.compare` then makes those rows anew at HEAD.
"""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path
from typing import Optional

from .compare_report import write_curves_page, write_summary
from .harness import current_commit, header_of, read_rows, write_rows

TABLES = ("compare.csv", "curves.csv", "test_scores.csv")


def archive(results: Path, contender: str, label: str, model: Optional[str] = None) -> dict:
    """{table: rows moved}; refuses a label already used (archived rows are never rewritten)."""
    folder = results / "archive" / "benchmarks"
    targets = {table: folder / f"{label}-{table}" for table in TABLES}
    taken = [str(path) for path in targets.values() if path.exists()]
    if taken:
        raise SystemExit(f"{taken[0]} exists (fix: choose another --label)")
    moved = {}
    for table, target in targets.items():
        source = results / "benchmarks" / table
        if not source.exists():
            continue
        columns = header_of(source)
        rows = read_rows(source)
        chosen, kept = [], []
        for row in rows:
            matches = row["contender"] == contender and model in (None, row["model"])
            (chosen if matches else kept).append(row)
        if chosen:
            write_rows(target, chosen, columns)  # their own commit and command are kept
            write_rows(source, kept, columns)
        moved[table] = len(chosen)
    if any(moved.values()):
        _note(folder.parent / "README.md", label, contender, model, moved)
        write_summary(results / "benchmarks" / "compare.csv", results / "benchmarks" / "compare.md")
        write_curves_page(results / "benchmarks" / "curves.csv",
                          results / "benchmarks" / "curves.html")
    return moved


def _note(readme: Path, label: str, contender: str, model: Optional[str],
          moved: dict) -> None:
    counts = ", ".join(f"{count} of {table}" for table, count in moved.items() if count)
    whose = contender + (f" on {model}" if model else "")
    line = (f"| benchmarks/{label}-*.csv | {whose}: {counts}, moved at {current_commit()[:12]}; "
            f"each row names its own commit | {datetime.date.today().isoformat()} |\n")
    with readme.open("a", encoding="utf-8") as handle:
        handle.write(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contender", required=True)
    parser.add_argument("--label", required=True, help="names the archived files")
    parser.add_argument("--model", help="only this model's rows (e.g. qwen2.5-coder-1.5b)")
    parser.add_argument("--results", type=Path, default=Path("results"))
    args = parser.parse_args()
    moved = archive(args.results, args.contender, args.label, args.model)
    print(", ".join(f"{table}: {count} rows moved" for table, count in moved.items()))


if __name__ == "__main__":
    main()
