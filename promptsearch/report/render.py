"""Render leaderboard DataFrames: a rich table for the terminal, Markdown for files."""

from __future__ import annotations

import math

import pandas as pd
from rich.table import Table

TEXT_COLUMNS = {"key", "key_id", "origin", "task", "model", "strategy", "date"}
COUNTS = {"rank", "seed", "finalists", "lm_calls", "tokens", "tokens_per_call", "errors",
          "unparseable"}
FOLDED = {"test_lo", "test_hi", "p_value", "p_holm", "unparseable"}  # shown inside another
HEADERS = {"test": "test [95% CI]", "delta": "Δ seed (Holm p)", "errors": "err/unp",
           "lm_calls": "calls", "tokens_per_call": "tok/call", "seconds": "s",
           "key_id": "key id"}


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(column: str, value) -> str:
    """Counts as whole numbers, seconds rounded, scores (dev, test, a structured task's
    fields) to two decimals."""
    if column == "seconds":
        return f"{value:.0f}"
    if isinstance(value, float) and value.is_integer() and column in COUNTS:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def format_p(value) -> str:
    if value is None:  # no test was run: the winner is the seed prompt itself
        return "no test: the same key"
    return "p<0.001" if value < 0.001 else f"p={value:.3f}"


def _cell(column: str, record: dict) -> str:
    value = record[column]
    if _missing(value):
        return "–"
    if column == "test" and not _missing(record.get("test_lo")):
        return f"{value:.2f} [{record['test_lo']:.2f}, {record['test_hi']:.2f}]"
    if column == "delta":  # runs recorded before Holm's correction show their plain p
        p_value = record.get("p_holm")
        p_value = record.get("p_value") if _missing(p_value) else p_value
        return f"{value:+.2f}" + ("" if _missing(p_value) else f" ({format_p(p_value)})")
    if column == "errors" and "unparseable" in record:
        return f"{int(value)}/{int(record['unparseable'])}"
    return _number(column, value)


def _rows(frame: pd.DataFrame, hide: tuple[str, ...] = ()) -> tuple[list[str], list[list[str]]]:
    columns = [c for c in frame.columns if c not in FOLDED and c not in hide]
    headers = [HEADERS.get(c, c) for c in columns]
    rows = [[_cell(c, record) for c in columns] for record in frame.to_dict("records")]
    return headers, rows


def to_rich_table(frame: pd.DataFrame, title: str = "", hide: tuple[str, ...] = ()) -> Table:
    headers, rows = _rows(frame, hide)
    table = Table(title=title or None, header_style="bold")
    for column, header in zip([c for c in frame.columns if c not in FOLDED and c not in hide],
                              headers):
        # Only the key preview may wrap; every number keeps its width.
        table.add_column(header, justify="left" if column in TEXT_COLUMNS else "right",
                         no_wrap=column != "key", min_width=16 if column == "key" else None,
                         overflow="fold" if column == "key" else "ellipsis")
    for row in rows:
        table.add_row(*row)
    return table


def to_markdown(frame: pd.DataFrame, hide: tuple[str, ...] = ()) -> str:
    headers, rows = _rows(frame, hide)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def to_html_table(frame: pd.DataFrame, hide: tuple[str, ...] = ()) -> str:
    """An HTML table (escaped cells, numbers right-aligned) for the HTML report."""
    from html import escape

    headers, rows = _rows(frame, hide)
    columns = [c for c in frame.columns if c not in FOLDED and c not in hide]
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="{"text" if c in TEXT_COLUMNS else "num"}">{escape(cell)}'
                         "</td>" for c, cell in zip(columns, row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
