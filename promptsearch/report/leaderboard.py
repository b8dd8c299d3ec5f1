"""Compute leaderboards from the store. Returns DataFrames; rendering lives in render.py."""

from __future__ import annotations

import datetime as dt
from typing import Optional

import pandas as pd

from promptsearch.core.key import PromptKey
from promptsearch.core.states import RunStatus

# p_value compares a finalist with the seed prompt on test; p_holm corrects it for every finalist
# so compared (the one shown): with k keys tested, one of them beats the seed by luck more often.
RUN_COLUMNS = ["rank", "key_id", "key", "origin", "dev", "confirm", "test", "test_lo", "test_hi",
               "delta", "p_value", "p_holm", "lm_calls", "tokens", "tokens_per_call", "seconds",
               "errors", "unparseable"]
ALL_COLUMNS = ["task", "model", "strategy", "seed", "key_id", "dev", "test", "test_lo", "test_hi",
               "delta", "p_value", "p_holm", "finalists", "lm_calls", "tokens", "tokens_per_call",
               "seconds", "date"]


def run_leaderboard(store, run_id: str, extra: int = 5) -> pd.DataFrame:
    """Finalists (scored on test) first, then the next best keys by dev score."""
    run = store.get_run(run_id)
    finalists = list((run.get("result") or {}).get("finalists", [])) if run else []
    shown = {row["key_id"] for row in finalists}
    others = [c for c in store.ranked_candidates(run_id) if c["key_id"] not in shown]
    rows = [dict(row) for row in finalists]
    rows += [{"key_id": c["key_id"], "origin": c["origin"], "dev": c["dev_score"],
              "lm_calls": c["lm_calls"], "tokens": c["tokens"], "seconds": c["seconds"],
              "errors": c["errors"], "unparseable": c["unparseable"]} for c in others[:extra]]
    for row in rows:
        row["key"] = ("seed: " if row.get("baseline") else "") + _preview(store, row["key_id"])
    fields = _field_columns(rows)
    frame = _per_call(pd.DataFrame(rows, columns=RUN_COLUMNS + fields + ["winner", "baseline"]))
    frame = frame.sort_values(["test", "dev"], ascending=False, na_position="last",
                              key=lambda col: col.astype(float))
    frame = _winner_first(frame)
    frame["rank"] = range(1, len(frame) + 1)
    # Only runs that confirmed their leaders on held-back examples have a confirm column.
    columns = [c for c in RUN_COLUMNS if c != "confirm" or frame[c].notna().any()]
    return _named_fields(frame[_with_fields(columns, fields)].reset_index(drop=True), fields)


def _per_call(frame: pd.DataFrame) -> pd.DataFrame:
    """Tokens (prompt + answer) per call: what a key's length, demos and reasoning cost."""
    calls = pd.to_numeric(frame["lm_calls"], errors="coerce")
    tokens = pd.to_numeric(frame["tokens"], errors="coerce")
    return frame.assign(tokens_per_call=(tokens / calls.where(calls > 0)).round())


def _field_columns(rows: list[dict]) -> list[str]:
    """`field:NAME` entries of structured tasks' finalists, in their order."""
    return list(dict.fromkeys(k for row in rows for k in row if k.startswith("field:")))


def _with_fields(columns: list[str], fields: list[str]) -> list[str]:
    """A structured task's field columns placed right after its test score."""
    at = columns.index("test_hi") + 1
    return columns[:at] + fields + columns[at:]


def _named_fields(frame: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    return frame.rename(columns={f: f.removeprefix("field:") for f in fields})


def _winner_first(frame: pd.DataFrame) -> pd.DataFrame:
    """The winner is chosen on dev (and confirmation examples): it leads even when another
    finalist scored higher on test."""
    winner = frame["winner"].fillna(False).astype(bool)
    return pd.concat([frame[winner], frame[~winner]])


def _preview(store, key_id: str) -> str:
    body = store.get_key(key_id)
    return PromptKey.from_dict(body).preview(48) if body else key_id


def leaderboard(store, task: Optional[str] = None, model: Optional[str] = None) -> pd.DataFrame:
    """One row per task x model x strategy: the latest finished run's winner."""
    rows = [_summary(run) for run in latest_runs(store, task, model)]
    fields = _field_columns(rows)
    frame = _per_call(pd.DataFrame(rows, columns=_with_fields(ALL_COLUMNS, fields)))
    frame = _named_fields(frame, fields)
    return frame.sort_values(["task", "model", "strategy"]).reset_index(drop=True)


def by_model(frame: pd.DataFrame, as_text: bool = True) -> pd.DataFrame:
    """The leaderboard with models side by side: a row per task x strategy, a column per model
    holding its winner's test score, as text with its 95% interval (or the number alone, for
    machine formats); "–" (or empty) where the model has no run."""
    if frame.empty:
        return pd.DataFrame(columns=["task", "strategy"])
    cells = frame.assign(cell=[f"{t:.2f} [{lo:.2f}, {hi:.2f}]" for t, lo, hi in
                               zip(frame["test"], frame["test_lo"], frame["test_hi"])]
                         if as_text else frame["test"])
    table = cells.pivot_table(index=["task", "strategy"], columns="model", values="cell",
                              aggfunc="first")
    table.columns.name = None
    return (table.fillna("–") if as_text else table).reset_index()


def latest_runs(store, task: Optional[str] = None, model: Optional[str] = None) -> list[dict]:
    """The latest finished (or interrupted, with results) run per task x model x strategy."""
    latest: dict[tuple, dict] = {}
    for run in store.list_runs(task):
        if run["status"] in (RunStatus.FINISHED, RunStatus.INTERRUPTED) and run.get("result"):
            if model is None or run["model"] == model:
                latest[(run["task"], run["model"], run["strategy"])] = run
    return list(latest.values())


def _summary(run: dict) -> dict:
    result = run["result"]
    winner = next(row for row in result["finalists"] if row["key_id"] == result["winner"])
    spent = run.get("spent") or {}
    when = dt.datetime.fromtimestamp(run.get("finished_at") or run["created_at"])
    return {"task": run["task"], "model": run["model"], "strategy": run["strategy"],
            "seed": run["seed"], "key_id": winner["key_id"], "dev": winner["dev"],
            "test": winner["test"], "test_lo": winner["test_lo"], "test_hi": winner["test_hi"],
            "delta": winner["delta"], "p_value": winner["p_value"],
            "p_holm": winner.get("p_holm"), "finalists": len(result["finalists"]),
            "lm_calls": spent.get("lm_calls"), "tokens": spent.get("tokens"),
            "seconds": spent.get("seconds"), "date": when.strftime("%Y-%m-%d %H:%M"),
            **{k: v for k, v in winner.items() if k.startswith("field:")}}
