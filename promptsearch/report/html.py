"""`report --html`: one self-contained, offline HTML file (inline SVG and CSS, no script, no
network) with the leaderboard and, per task, the search curves, score against prompt length,
a confusion matrix for label tasks, and the winning key in full with its diff against the seed."""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from promptsearch.core.key import PromptKey
from promptsearch.core.states import CandidateStatus
from promptsearch.core.templates import fields_used
from promptsearch.report.leaderboard import by_model, latest_runs, leaderboard
from promptsearch.report.page import PAGE
from promptsearch.report.render import to_html_table
from promptsearch.report.svg import Series, heatmap, line_chart, pareto_front, scatter

UNPARSED = "(no answer)"
FEEDBACK_ROWS = 10


@dataclass
class TaskSection:
    name: str
    curve: Markup
    length: Markup
    confusion: Optional[Markup]
    winner: dict
    prompt: str
    diff: list[tuple[str, str]] = field(default_factory=list)  # (css class, line)
    feedback: list[dict] = field(default_factory=list)  # the metric's, on wrong test answers


def write_report(store, path: Path, tasks: Optional[list[str]] = None) -> Path:
    board = leaderboard(store)
    names = tasks or sorted(set(board["task"]))
    sections = [section for name in names if (section := task_section(store, name))]
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    shown = board[board["task"].isin(names)]
    models = Markup(to_html_table(by_model(shown))) if shown["model"].nunique() > 1 else None
    html = env.from_string(PAGE).render(
        board=Markup(to_html_table(shown)), models=models,
        sections=sections, created=dt.datetime.now().strftime("%Y-%m-%d %H:%M"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def task_section(store, task: str) -> Optional[TaskSection]:
    runs = latest_runs(store, task)
    if not runs:
        return None
    best_run = max(runs, key=lambda r: _winner(r)["test"])
    winner = _winner(best_run)
    key = PromptKey.from_dict(store.get_key(winner["key_id"]))
    baseline = next((row for row in best_run["result"]["finalists"] if row.get("baseline")), None)
    seed_key = PromptKey.from_dict(store.get_key(baseline["key_id"])) if baseline else None
    return TaskSection(
        name=task, curve=Markup(_curve(store, task, runs)), length=Markup(_length(store, runs)),
        confusion=_confusion(store, best_run, key), winner={**winner, "model": best_run["model"],
                                                             "strategy": best_run["strategy"]},
        prompt=_sample(key), diff=_diff(seed_key, key) if seed_key else [],
        feedback=_feedback(store, best_run))


def _feedback(store, run: dict) -> list[dict]:
    """The winner's wrong test answers that the metric said something about (a few)."""
    key_id = _winner(run)["key_id"]
    notes = store.get_feedback(run["id"], key_id, "test")
    if not notes:
        return []
    rows = store.get_evaluations(run["id"], key_id, "test")
    wrong = [{**rows[example_id], "text": text} for example_id, text in sorted(notes.items())
             if example_id in rows and (rows[example_id]["score"] or 0.0) < 1.0]
    return [{**row, "prediction": row["prediction"] or UNPARSED} for row in wrong[:FEEDBACK_ROWS]]


def _winner(run: dict) -> dict:
    return next(row for row in run["result"]["finalists"] if row.get("winner"))


def _label(run: dict) -> str:
    return f"{run['strategy']} · {run['model'].split('/')[-1]}"


def _curve(store, task: str, runs: list[dict]) -> str:
    series = []
    for run in runs:
        calls, best, points = 0, None, []
        for candidate in store.list_candidates(run["id"]):
            calls += candidate["lm_calls"]
            if candidate["status"] == CandidateStatus.COMPLETE and (best is None or
                                                      candidate["dev_score"] > best):
                best = candidate["dev_score"]
                points.append((calls, best))
        if points:
            points.append((calls, best))  # the flat tail up to the last call
            series.append(Series(_label(run), points))
    return line_chart(series, f"{task}: best dev score so far", "LM calls spent on dev scoring",
                      "best dev score (0–1)")


def _length(store, runs: list[dict]) -> str:
    series, everything = [], []
    for run in runs:
        points = []
        for row in run["result"]["finalists"]:
            rows = store.get_evaluations(run["id"], row["key_id"], "test").values()
            if rows:
                tokens = sum(r["tokens"] for r in rows) / len(rows)
                points.append((round(tokens, 1), row["test"]))
        everything += points
        series.append(Series(_label(run), points))
    return scatter(series, pareto_front(everything), "test score against prompt length",
                   "tokens per call (prompt + answer)", "test score (0–1)")


def _confusion(store, run: dict, key: PromptKey) -> Optional[Markup]:
    labels = list(key.output.labels or [])
    if not labels:
        return None
    rows = store.get_evaluations(run["id"], _winner(run)["key_id"], "test").values()
    columns = labels + [UNPARSED]
    matrix = [[0] * len(columns) for _ in labels]
    for row in rows:
        if row["target"] in labels and row["error"] is None:
            answer = row["prediction"] if row["prediction"] in labels else UNPARSED
            matrix[labels.index(row["target"])][columns.index(answer)] += 1
    return Markup(heatmap(matrix, labels, columns, "confusion matrix of the winner on test",
                          "predicted label", "true label"))


def _sample(key: PromptKey) -> str:
    fields = sorted(fields_used(key.format) | fields_used(key.instruction)) or ["input"]
    return key.render(**{name: f"<{name}>" for name in fields})


def _diff(seed: PromptKey, winner: PromptKey) -> list[tuple[str, str]]:
    lines = difflib.unified_diff(_sample(seed).splitlines(), _sample(winner).splitlines(),
                                 "seed prompt", "winner", lineterm="", n=2)
    return [("add" if line.startswith("+") else "del" if line.startswith("-") else "ctx", line)
            for line in lines]
