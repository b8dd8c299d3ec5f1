"""How the winner changes with the metric: one task searched once per metric (same data, model,
budget and seed), then each winner and the seed prompt scored on test under every metric.

    python -m benchmarks.metric_change [--out results]

By default the bundled English-to-French word translation, searched by exact match
(translation_en-fr) and by chrF (variants/translation_en-fr_chrf). Writes
results/metric_change.csv row by row (a task file already there with the same config hash is
skipped) and results/metric_change.md from the CSV alone. The test answers come from the
searches' call cache: scoring a key under another metric makes no model call.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Optional

from promptsearch.api import open_store, run
from promptsearch.core.key import PromptKey
from promptsearch.core.metrics import get_metric
from promptsearch.core.stats import Answers, compare, score_interval
from promptsearch.evaluation.evaluate import Evaluator, paired_answers
from promptsearch.pipeline.prepare import prepare, run_id_prefix
from promptsearch.task.config import load_task

from .harness import append_row, commits_of, done_keys, provenance, read_rows

TASKS = Path(__file__).parent / "tasks"
# Task files: the bundled tasks, and in variants/ the same data under another metric (kept out
# of the bundled list so that benchmarks over "all tasks" count each dataset once).
DEFAULT_TASKS = ("translation_en-fr", "variants/translation_en-fr_chrf")
METRICS = ("exact_match", "chrf")
COLUMNS = ["task", "searched_by", "config", "key", "key_id", "instruction", "demos",
           *[f"{m}{part}" for m in METRICS for part in ("", "_lo", "_hi", "_delta", "_p")],
           "lm_calls", "seconds", "model_id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=list(DEFAULT_TASKS))
    parser.add_argument("--out", default="results", type=Path)
    args = parser.parse_args()
    provenance()  # the code's commit, read before the runs (edits meanwhile don't count)
    csv_path = args.out / "metric_change.csv"
    done = done_keys(csv_path, ("task", "config"))
    store = open_store(args.out / "bench")
    for name in args.tasks:
        task = load_task(TASKS / f"{name}.yaml")
        prepared = prepare(task, store)
        config = run_id_prefix(task, prepared.dataset.hash)
        if (name, config) in done:
            continue
        started = time.monotonic()
        result = run(task, store=store, results_dir=args.out / "bench", promote="always")
        seconds = time.monotonic() - started
        for row in rows_of(prepared, store, result):
            append_row(csv_path, {**row, "task": name, "config": config, "seconds":
                                  round(seconds, 1), "model_id": prepared.lm.identity(),
                                  "lm_calls": result.lock["spent"]["lm_calls"]}, COLUMNS)
        print(f"{name}: done in {seconds:.0f} s", flush=True)
    (args.out / "metric_change.md").write_text(render(csv_path), encoding="utf-8")


def rows_of(prepared, store, result) -> list[dict]:
    """The winner and the seed prompt, each scored under every metric on the same answers."""
    winner = PromptKey.from_dict(result.lock["key"])
    seed = PromptKey.from_dict(result.lock["baseline"]["key"])
    evaluator = Evaluator(prepared.lm, prepared.metric, store, result.run_id,
                          max_tokens=prepared.max_tokens)
    test = prepared.dataset.test
    scored = {key.id: evaluator.score(key, test, "test") for key in (winner, seed)}
    paired = paired_answers(scored[winner.id], scored[seed.id])
    rows = []
    for label, key in (("winner", winner), ("seed", seed)):
        row = {"searched_by": prepared.task.config.metric, "key": label, "key_id": key.id,
               "instruction": key.instruction, "demos": len(key.demos) or (
                   f"{key.retrieval.k} retrieved" if key.retrieval else 0)}
        for name in METRICS:
            row.update(_scored(name, scored[key.id].answers(),
                               paired if label == "winner" else None))
        rows.append(row)
    return rows


def _scored(name: str, mine: Answers, paired: Optional[tuple[Answers, Answers]]) -> dict:
    """Score and 95% interval under metric `name`, recomputed from the recorded answers; with
    `paired` (the winner's and the seed's answers on the examples both answered), the paired
    difference from the seed prompt and its one-sided p-value."""
    metric = get_metric(name)
    rescored = _rescore(metric, mine)
    low, high = score_interval(metric, rescored)
    row = {name: metric.aggregate(rescored.predictions, rescored.targets, rescored.scores),
           f"{name}_lo": low, f"{name}_hi": high, f"{name}_delta": "", f"{name}_p": ""}
    if paired is not None:
        versus = compare(metric, *(_rescore(metric, side) for side in paired),
                         alternative="greater")
        row.update({f"{name}_delta": versus.delta, f"{name}_p": versus.p_value})
    return row


def _rescore(metric, answers: Answers) -> Answers:
    return Answers(answers.predictions, answers.targets,
                   [metric.score(p, t) for p, t in zip(answers.predictions, answers.targets)])


def render(csv_path: Path) -> str:
    """metric_change.md, from metric_change.csv alone."""
    rows = read_rows(csv_path)
    commits = commits_of(rows)
    lines = ["# The winner when the metric changes (gemma-3-270m, test set)", "",
             "`python -m benchmarks.metric_change` · the same task searched by each metric "
             "(tpe, 800 LM calls, dev_size 30, seed 0), then the winner and the seed prompt "
             "scored on the 100 test examples under both metrics, from the same answers · "
             "95% intervals with each metric (Wilson for exact match, BCa over resampled "
             "examples for chrF, a corpus score) · Δ: winner − seed on the same examples, "
             "one-sided paired permutation p · "
             f"rows made at commit {commits}", "",
             "| searched by | key | key id | instruction | demos | exact match [CI] | Δ (p) | "
             "chrF [CI] | Δ (p) | search calls | seconds |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['searched_by']} | {r['key']} | {r['key_id']} | "
                     f"{r['instruction'] or '(none)'} | {r['demos']} | "
                     + " | ".join(_cells(r, m) for m in METRICS)
                     + f" | {r['lm_calls']} | {float(r['seconds']):.0f} |")
    winners = {r["searched_by"]: r["key_id"] for r in rows if r["key"] == "winner"}
    if len(winners) == len(METRICS):
        same = len(set(winners.values())) == 1
        lines += ["", "The two searches " + ("found the same winner." if same else
                                             "found different winners.")]
    return "\n".join(lines) + "\n"


def _cells(row: dict, metric: str) -> str:
    score = (f"{float(row[metric]):.2f} [{float(row[metric + '_lo']):.2f}, "
             f"{float(row[metric + '_hi']):.2f}]")
    if row[metric + "_delta"] == "":
        return f"{score} | –"
    p_value = float(row[metric + "_p"])
    shown = "p<0.001" if p_value < 0.001 else f"p={p_value:.3f}"
    return f"{score} | {float(row[metric + '_delta']):+.2f} ({shown})"


if __name__ == "__main__":
    main()
