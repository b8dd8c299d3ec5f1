"""compare.md (test score per task × contender, per model, then every row) and curves.html
(best dev score vs LM calls, one chart per task and model) from the compare benchmark's CSVs."""

from __future__ import annotations

import statistics
from collections import defaultdict
from html import escape
from pathlib import Path

from promptsearch.report.svg import Series, line_chart

from .compare_curve import calls_to_match, mean_curve, test_at
from .compare_paired import ROW_KEY, Scores, paired, read_scores
from .harness import commits_of, markdown_table, read_rows

Curves = dict[tuple[str, str], list[tuple[float, float]]]  # (task, seed) -> auto's test curve
PAIRED = "auto − it, paired"

ORDER = ["seed-prompt", "promptsearch-auto", "promptsearch-tpe", "dspy-mipro", "dspy-copro",
         "dspy-bootstrap", "dspy-gepa"]
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


def verdict(rows: list[dict], model: str, curves: Curves | None = None) -> str:
    """Per task and seed: promptsearch `auto` against the best DSPy optimizer of the same seed
    (highest test score, fewest calls among ties), so every line compares one run with one;
    with `auto`'s test curves, also after how many calls it first matched that optimizer."""
    return markdown_table_of(verdict_lines(rows, model, curves or {}))


def markdown_table_of(lines: list[dict]) -> str:
    if not lines:
        return ""
    return markdown_table(sorted(lines, key=lambda line: (line["task"], line["seed"])),
                          list(lines[0]))


def verdict_lines(rows: list[dict], model: str, curves: Curves,
                  scores: Scores | None = None) -> list[dict]:
    """The verdict's lines; with per-example test scores (compare_paired.read_scores), each
    line also gives `auto` minus that optimizer, paired on the same test examples."""
    lines = []
    mine = [r for r in rows if r["model"] == model]
    for task, seed in sorted({(r["task"], r["seed"]) for r in mine}):
        same = [r for r in mine if (r["task"], r["seed"]) == (task, seed)]
        dspy = [r for r in same if r["contender"].startswith("dspy-")]
        auto = [r for r in same if r["contender"] == "promptsearch-auto"]
        if not dspy or not auto:
            continue
        best = best_dspy(dspy)
        lines.append(_with_paired(_line(task, seed, best, auto[0], curves.get((task, seed))),
                                  scores, same, [seed], best["contender"]))
    return lines + seed_means(mine, curves, scores)


def _with_paired(line: dict, scores: Scores | None, rows: list[dict], seeds: list[str],
                 contender: str) -> dict:
    """The line with `auto` minus `contender` paired over these seeds' test examples (pooled),
    when per-example scores were given ("–" where some row has none)."""
    if scores is None:
        return line

    def key(name: str, seed: str) -> tuple:
        row = next(r for r in rows if (r["task"], r["contender"], r["seed"]) ==
                   (line["task"], name, seed))
        return tuple(row[column] for column in ROW_KEY)

    pairs = [(key("promptsearch-auto", seed), key(contender, seed)) for seed in seeds]
    return {**line, PAIRED: paired(scores, pairs) or "–"}


def _line(task: str, seed: str, best: dict, auto: dict, curve=None) -> dict:
    stopped = best["note"].split(":")[0] if best["note"] else ""
    target, calls = _number(best["test"]), _number(best["lm_calls"])
    line = {"task": task, "seed": seed,
            "best DSPy": best["contender"] + (f" (stopped: {stopped})" if stopped else ""),
            "its test (calls)": f"{target:.2f} ({calls:.0f})",
            "auto test (calls)": f"{_number(auto['test']):.2f} ({_number(auto['lm_calls']):.0f})",
            "auto test ≥": _yes(_number(auto["test"]) >= target),
            "auto calls ≤": _yes(_number(auto["lm_calls"]) <= calls)}
    if curve:
        at = test_at(curve, calls)
        matched = calls_to_match(curve, target)
        line["auto test at its calls"] = "–" if at is None else f"{at:.2f}"
        line["auto first ≥ its test at"] = ("never" if matched is None else
                                            f"{matched:.0f} calls ({matched / calls:.2f}×)")
        line["≤ ⅓ its calls"] = _yes(matched is not None and matched <= calls / 3)
    return line


def seed_means(rows: list[dict], curves: Curves | None = None,
               scores: Scores | None = None) -> list[dict]:
    """Per task run with several seeds: `auto`'s mean against the DSPy optimizer with the best
    mean (test score and calls averaged over the seeds), and `auto`'s curve averaged over them."""
    lines, curves = [], curves or {}
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
        seed_curves = [curves[(task, seed)] for seed in seeds if (task, seed) in curves]
        curve = mean_curve(seed_curves) if len(seed_curves) == len(seeds) else None
        if dspy and auto:
            best = best_dspy(dspy)
            line = _line(task, f"mean of {len(seeds)}", best, auto, curve)
            lines.append(_with_paired(line, scores, rows, seeds, best["contender"]))
    return lines


def auto_curves(curve_rows: list[dict], model: str) -> Curves:
    """`auto`'s test curve per task and seed, from the rows of curves.csv that have a test."""
    curves: Curves = defaultdict(list)
    for row in curve_rows:
        if (row["model"], row["contender"]) == (model, "promptsearch-auto") and row.get("test"):
            curves[(row["task"], row["seed"])].append((_number(row["lm_calls"]),
                                                       _number(row["test"])))
    return {place: sorted(points, key=lambda point: point[0]) for place, points in curves.items()}


def goal(lines: list[dict]) -> str:
    """The comparison's goal, counted over the lines averaged over seeds (or the single seed's
    line of a task run once)."""
    chosen = [line for line in lines if line["seed"].startswith("mean of")]
    chosen += [line for line in lines if not any(
        other["task"] == line["task"] for other in chosen) and not line["seed"].startswith("mean")]
    if not chosen:
        return ""
    at_least = [line for line in chosen if line["auto test ≥"] == "yes"]
    # the goal's "a third of the calls" counts only where the final score holds too: a curve
    # that passed the peer early and then fell below it is not a win
    third = sum(line.get("≤ ⅓ its calls") == "yes" for line in at_least)
    tasks = f"{len(chosen)} task" + ("s" if len(chosen) != 1 else "")
    return (f"\nOver {tasks} (seed means): `auto`'s final test score ≥ the best DSPy "
            f"optimizer's on {len(at_least)}; on {third} of those, its test curve had reached "
            "that optimizer's final test score within a third of that optimizer's calls.\n")


def render(csv_path: Path) -> str:
    """compare.md from compare.csv (and curves.csv beside it, for `auto`'s test curves)."""
    rows = read_rows(csv_path)
    curves_path = csv_path.with_name("curves.csv")
    curve_rows = read_rows(curves_path) if curves_path.exists() else []
    scores_path = csv_path.with_name("test_scores.csv")
    scores = read_scores(read_rows(scores_path)) if scores_path.exists() else None
    parts = ["# promptsearch vs DSPy optimizers under one LM-call cap\n",
             f"`python -m benchmarks.compare` at {commits_of(rows)} · test score of each "
             "contender's final prompt (95% bootstrap CI in compare.csv), LM calls it spent "
             "searching (task + proposer, test scoring excluded for all), and answers on test "
             "that could not be parsed. DSPy contenders answer the test set in DSPy's own "
             "format, as a DSPy user's program would, and stop on their own schedules under "
             "the cap. `dev_split` says how dev was drawn from train: `unseen` = dev inputs use "
             "no word of the demo pool, `random` otherwise. Budget curves: curves.html; "
             "`auto`'s test curve (the test score of its best-dev key after each candidate, "
             "all proposer calls counted from the start) says after how many calls it first "
             "matched the best DSPy optimizer's final test score. With 100 test examples a "
             "score's 95% interval is about ±0.1: a difference of a few points is not one "
             "this table can tell apart. `auto − it, paired` pairs the two prompts' answers "
             "on the same test examples (test_scores.csv; the seeds' examples pooled for a "
             "mean): the difference in the task's metric, its paired 95% BCa interval and a "
             "two-sided permutation p-value, which tell apart smaller differences than the "
             "two separate intervals; `–` where a row predates per-example scores.\n"]
    for model in sorted({r["model"] for r in rows}):
        parts += [f"\n## {model}\n", pivot(rows, model)]
        lines = verdict_lines(rows, model, auto_curves(curve_rows, model), scores)
        if lines:
            parts += ["\npromptsearch `auto` against the best DSPy optimizer per task and seed "
                      "(and over the seeds, where a task ran with several):\n",
                      markdown_table_of(lines), goal(lines)]
    parts += ["\n## Every row\n", markdown_table(rows, DETAIL, {
        c: (lambda r, c=c: f"{_number(r[c]):.3f}") for c in ("test", "test_lo", "test_hi")})]
    return "\n".join(parts)


def write_summary(csv_path: Path, md_path: Path) -> None:
    md_path.write_text(render(csv_path), encoding="utf-8")


def write_curves_page(csv_path: Path, html_path: Path) -> None:
    if not csv_path.exists():
        return
    rows = read_rows(csv_path)
    compare_path = csv_path.with_name("compare.csv")
    finals = read_rows(compare_path) if compare_path.exists() else []
    charts = []
    for task, model in sorted({(r["task"], r["model"]) for r in rows}):
        mine = [r for r in rows if (r["task"], r["model"]) == (task, model)]
        charts.append(line_chart(_series(mine, "best_dev"), f"{task} · {model}",
                                 "search calls", "best dev score so far"))
        tested = _series(mine, "test")
        if tested:
            marks = [Series(f"{r['contender']} s{r['seed']} (final)",
                            [(_number(r["lm_calls"]), _number(r["test"]))]) for r in finals
                     if (r["task"], r["model"]) == (task, model)
                     and r["contender"].startswith("dspy-")]
            charts.append(line_chart(tested, f"{task} · {model} · test", "search calls",
                                     "test score of the best-dev key", marks=marks))
    body = "\n".join(f"<figure>{chart}</figure>" for chart in charts)
    html_path.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Budget curves</title>"
        "<style>body{font-family:sans-serif;margin:2em}figure{display:inline-block}</style>"
        f"</head><body><h1>{escape('Best score vs search calls')}</h1>{body}</body></html>")


def _series(rows: list[dict], column: str) -> list[Series]:
    """One step line per contender and seed, through the rows that have `column`."""
    series = []
    for contender in ORDER:
        for seed in sorted({r["seed"] for r in rows}):
            points = [(_number(r["lm_calls"]), _number(r[column])) for r in rows
                      if (r["contender"], r["seed"]) == (contender, seed) and r.get(column)]
            if points:
                series.append(Series(f"{contender} s{seed}", points))
    return series
