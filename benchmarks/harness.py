"""Row-by-row, resumable benchmark tables: a CSV grows one finished run at a time, and a rerun
skips the rows it already has.

Every row records where it came from: the git commit of the code that made it (with "+dirty"
when promptsearch/ or benchmarks/ had uncommitted changes: `python -m benchmarks.check` refuses
such rows) and the exact command. Rows of model runs also carry the model's identity (the GGUF
file's SHA-256, or model name + api_base: LM.identity()) in a `model_id` column.
"""

from __future__ import annotations

import csv
import functools
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterable

REPO = Path(__file__).resolve().parents[1]
PROVENANCE = ["commit", "command"]


@functools.lru_cache(maxsize=1)
def provenance() -> dict:
    """This process's commit and command line, computed once. A benchmark's main() calls it
    first: its first row may come an hour later, when the tree may have changed, and the code
    that runs is the code imported at the start."""
    return {"commit": current_commit(), "command": _command()}


def current_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "promptsearch",
                    "benchmarks")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def _command() -> str:
    script = Path(sys.argv[0]).resolve()
    try:
        module = ".".join(script.relative_to(REPO).with_suffix("").parts)
    except ValueError:  # not run from this repository (a test calling main() directly)
        module = script.name
    return " ".join(["python -m", module, *sys.argv[1:]])


def done_keys(path: Path, key_columns: Iterable[str]) -> set[tuple]:
    if not path.exists():
        return set()
    columns = list(key_columns)
    with path.open(newline="") as handle:
        return {tuple(row[c] for c in columns) for row in csv.DictReader(handle)}


def append_row(path: Path, row: dict, columns: list[str]) -> None:
    """Append `row`, with this process's commit and command unless the row brings its own."""
    columns = _with_provenance(columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    if not new:
        if header_of(path) != columns:
            raise SystemExit(f"{path}: its columns are not this benchmark's ({', '.join(columns)})"
                             f" (fix: move it to results/archive/ and run again)")
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        if new:
            writer.writeheader()
        writer.writerow(_stamped(row, columns))


def header_of(path: Path) -> list[str]:
    """A CSV's column names as written in its first line ([] for an empty file)."""
    with path.open(newline="") as handle:
        return next(csv.reader(handle), [])


def write_rows(path: Path, rows: list[dict], columns: list[str]) -> None:
    """A derived table, written afresh in one pass (it is recomputed whole, not grown row by
    row); no rows, no file."""
    path.unlink(missing_ok=True)
    if not rows:
        return
    columns = _with_provenance(columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(_stamped(row, columns) for row in rows)


def _with_provenance(columns: list[str]) -> list[str]:
    return columns + [c for c in PROVENANCE if c not in columns]


def _stamped(row: dict, columns: list[str]) -> dict:
    """`row` in `columns`, with this process's commit and command unless it brings its own."""
    row = {**provenance(), **{k: v for k, v in row.items() if v is not None or k not in
                              PROVENANCE}}
    return {c: row.get(c) for c in columns}


def commits_of(rows: list[dict]) -> str:
    """The commits a table's rows were made at, short and comma-separated, for its header."""
    return ", ".join(sorted({row["commit"][:12] for row in rows}))


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def markdown_table(rows: list[dict], columns: list[str],
                   formats: dict[str, Callable[[dict], str]] | None = None) -> str:
    formats = formats or {}
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(formats[c](row) if c in formats else str(row.get(c, ""))
                                       for c in columns) + " |")
    return "\n".join(lines) + "\n"


def decimals(column: str, spec: str = ".3f") -> Callable[[dict], str]:
    """A markdown_table format for a numeric column; a blank cell stays blank."""
    return lambda row: "" if row[column] == "" else format(row[column], spec)
