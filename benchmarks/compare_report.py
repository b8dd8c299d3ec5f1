"""compare.md (test score per task × contender, per model, then every row) and curves.html
(best dev score vs LM calls, one chart per task and model) from the compare benchmark's CSVs."""

from __future__ import annotations

import statistics
from collections import defaultdict
from html import escape
from pathlib import Path

from promptsearch.report.svg import Series, line_chart

from .harness import markdown_table, read_rows

ORDER = ["seed-prompt", "promptsearch-auto", "promptsearch-tpe", "dspy-mipro", "dspy-copro",
         "dspy-bootstrap"]
DETAIL = ["task", "model", "contender", "seed", "budget", "dev_size", "dev_split", "test",
          "test_lo", "test_hi", "lm_calls", "proposer_calls", "tokens", "seconds",
          "parse_failures", "search_parse_failures", "note"]


def _number(text: str) -> float:
    return float(text) if text not in ("", None) else float("nan")


def _cell(rows: list[dict]) -> str:
    """Mean test score over seeds (± spread when there are several) and the mean calls used."""
    tests = [_number(r["test"]) for r in rows]
    calls = statistics.mean(_number(r["lm_calls"]) for r in rows)
    spread = f" ±{statistics.stdev(tests):.2f}" if len(tests) > 1 else ""
    failures = sum(int(_number(r["parse_failures"]) or 0) for r in rows)
    flag = f", {failures} unparsed" if failures else ""
    return f"{statistics.mean(tests):.2f}{spread} ({calls:.0f} calls{flag})"


def pivot(rows: list[dict], model: str) -> str:
    mine = [r for r in rows if r["model"] == model]
    contenders = [c for c in ORDER if any(r["contender"] == c for r in mine)]
    grouped: dict[tuple, list[dict]] = defaultdict(list)
    for row in mine:
        grouped[(row["task"], row["contender"])].append(row)
    lines = []
    for task in sorted({r["task"] for r in mine}):
        line = {"task": task}
        for contender in contenders:
            cell = grouped.get((task, contender))
            line[contender] = _cell(cell) if cell else "–"
        lines.append(line)
    means = {"task": "**mean test** (tasks with every contender)"}
    complete = [t for t in {r["task"] for r in mine}
                if all(grouped.get((t, c)) for c in contenders)]
    for contender in contenders:
        values = [statistics.mean(_number(r["test"]) for r in grouped[(t, contender)])
                  for t in complete]
        means[contender] = f"{statistics.mean(values):.3f}" if values else "–"
    return markdown_table(lines + [means], ["task"] + contenders)


def best_dspy(rows: list[dict]) -> dict:
    """The best DSPy optimizer's row: highest test score, the fewest calls among ties."""
    return max(rows, key=lambda r: (_number(r["test"]), -_number(r["lm_calls"])))


def _yes(holds: bool) -> str:
    return "yes" if holds else "**no**"


def verdict(rows: list[dict], model: str) -> str:
    """Per task and seed: promptsearch `auto` against the best DSPy optimizer of the same seed
    (highest test score, fewest calls among ties), so every line compares one run with one."""
    lines = []
    mine = [r for r in rows if r["model"] == model]
    for task, seed in sorted({(r["task"], r["seed"]) for r in mine}):
        same = [r for r in mine if (r["task"], r["seed"]) == (task, seed)]
        dspy = [r for r in same if r["contender"].startswith("dspy-")]
        auto = [r for r in same if r["contender"] == "promptsearch-auto"]
        if not dspy or not auto:
            continue
        lines.append(_line(task, seed, best_dspy(dspy), auto[0]))
    lines += seed_means(mine)
    if not lines:
        return ""
    return markdown_table(sorted(lines, key=lambda line: (line["task"], line["seed"])),
                          list(lines[0]))


def _line(task: str, seed: str, best: dict, auto: dict) -> dict:
    stopped = best["note"].split(":")[0] if best["note"] else ""
    return {"task": task, "seed": seed,
            "best DSPy": best["contender"] + (f" (stopped: {stopped})" if stopped else ""),
            "its test (calls)": f"{_number(best['test']):.2f} ({_number(best['lm_calls']):.0f})",
            "auto test (calls)": f"{_number(auto['test']):.2f} ({_number(auto['lm_calls']):.0f})",
            "auto test ≥": _yes(_number(auto["test"]) >= _number(best["test"])),
            "auto calls ≤": _yes(_number(auto["lm_calls"]) <= _number(best["lm_calls"]))}


def seed_means(rows: list[dict]) -> list[dict]:
    """Per task run with several seeds: `auto`'s mean against the DSPy optimizer with the best
    mean (test score and calls averaged over the seeds)."""
    lines = []
    for task in sorted({r["task"] for r in rows}):
        seeds = sorted({r["seed"] for r in rows if r["task"] == task})
        if len(seeds) < 2:
            continue
        means = {}
        for contender in sorted({r["contender"] for r in rows if r["task"] == task}):
            mine = [r for r in rows if (r["task"], r["contender"]) == (task, contender)]
            if len(mine) == len(seeds):  # only contenders that ran on every seed
                means[contender] = {"contender": contender, "note": "",
                                    "test": statistics.mean(_number(r["test"]) for r in mine),
                                    "lm_calls": statistics.mean(_number(r["lm_calls"])
                                                                for r in mine)}
        dspy = [row for name, row in means.items() if name.startswith("dspy-")]
        auto = means.get("promptsearch-auto")
        if dspy and auto:
            lines.append(_line(task, f"mean of {len(seeds)}", best_dspy(dspy), auto))
    return lines


def write_summary(csv_path: Path, md_path: Path) -> None:
    rows = read_rows(csv_path)
    parts = ["# promptsearch vs DSPy optimizers at an equal LM-call budget\n",
             "`python -m benchmarks.compare` · test score of each contender's final prompt "
             "(95% bootstrap CI in compare.csv), LM calls it spent searching (task + proposer, "
             "test scoring excluded for all), and answers on test that could not be parsed. "
             "DSPy contenders answer the test set in DSPy's own format, as a DSPy user's "
             "program would. `dev_split` says how dev was drawn from train: `unseen` = dev "
             "inputs use no word of the demo pool (larger_animal's task file since 8b14a4a: "
             "its test animals appear nowhere in train; rows run before keep `random`), "
             "`random` otherwise. Budget curves: curves.html.\n"]
    for model in sorted({r["model"] for r in rows}):
        parts += [f"\n## {model}\n", pivot(rows, model)]
        against = verdict(rows, model)
        if against:
            parts += ["\npromptsearch `auto` against the best DSPy optimizer per task and seed "
                      "(and over the seeds, where a task ran with several):\n",
                      against]
    parts += ["\n## Every row\n", markdown_table(rows, DETAIL, {
        c: (lambda r, c=c: f"{_number(r[c]):.3f}") for c in ("test", "test_lo", "test_hi")})]
    md_path.write_text("\n".join(parts))


def write_curves_page(csv_path: Path, html_path: Path) -> None:
    if not csv_path.exists():
        return
    rows = read_rows(csv_path)
    charts = []
    for task, model in sorted({(r["task"], r["model"]) for r in rows}):
        series = []
        for contender in ORDER:
            for seed in sorted({r["seed"] for r in rows}):
                points = [(_number(r["lm_calls"]), _number(r["best_dev"])) for r in rows
                          if (r["task"], r["model"], r["contender"], r["seed"]) ==
                          (task, model, contender, seed)]
                if points:
                    series.append(Series(f"{contender} s{seed}", points))
        charts.append(line_chart(series, f"{task} · {model}", "LM calls spent (dev scoring)",
                                 "best dev score so far"))
    body = "\n".join(f"<figure>{chart}</figure>" for chart in charts)
    html_path.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Budget curves</title>"
        "<style>body{font-family:sans-serif;margin:2em}figure{display:inline-block}</style>"
        f"</head><body><h1>{escape('Best dev score vs LM calls')}</h1>{body}</body></html>")
