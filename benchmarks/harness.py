"""Row-by-row, resumable benchmark tables: a CSV grows one finished run at a time, and a rerun
skips the rows it already has."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable, Iterable


def done_keys(path: Path, key_columns: Iterable[str]) -> set[tuple]:
    if not path.exists():
        return set()
    columns = list(key_columns)
    with path.open(newline="") as handle:
        return {tuple(row[c] for c in columns) for row in csv.DictReader(handle)}


def append_row(path: Path, row: dict, columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        if new:
            writer.writeheader()
        writer.writerow({c: row.get(c) for c in columns})


def write_rows(path: Path, rows: list[dict], columns: list[str]) -> None:
    """A derived table, written afresh (it is recomputed whole, not grown row by row)."""
    path.unlink(missing_ok=True)
    for row in rows:
        append_row(path, row, columns)


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
