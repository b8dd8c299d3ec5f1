"""promptsearch vs DSPy's optimizers: same model, split, metric and LM-call budget.

    python -m benchmarks.compare [--model local/gemma-3-270m] [--tasks ...] [--budget 300]
                                 [--contenders ...] [--seeds 0 1] [--dev-size N]

Contenders: the task's seed prompt (no search), promptsearch `auto` and `tpe`, and DSPy's MIPROv2
(auto="light"), COPRO, BootstrapFewShotWithRandomSearch and GEPA (its reflection model the task
model, as a user without a bigger model runs it) through DSPy's own API and format
(benchmarks/compare_dspy.py). Task and proposer (or reflection) calls count together; test
scoring is outside the budget for everyone. Every contender has the same cap: GEPA's light
preset plans more calls than a few hundred, so it is ended while one more of its iterations
fits and returns the best program it has (the row's note says so). Appends one row per task ×
model × contender × seed to results/benchmarks/compare.csv as each finishes (rows already
there are skipped, so a stopped benchmark resumes), the budget curves to curves.csv (best dev
score after each candidate and, for promptsearch, its best-dev key's test score:
benchmarks/compare_curve.py), then rewrites compare.md and curves.html (charts per task and
model).

With --match-dspy, the DSPy contenders of a task run first and each promptsearch contender's
budget is cut to the calls the best of them actually used (highest test score; the fewest calls
among ties), since DSPy's optimizers stop on their own schedules, usually short of the cap.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from promptsearch import run
from promptsearch.api import open_store
from promptsearch.core.stats import score_interval
from promptsearch.pipeline.prepare import evaluator_for, prepare, task_metric
from promptsearch.task.data import load_dataset

from .compare_curve import test_curve
from .compare_dspy import run_dspy
from .compare_paired import SCORE_COLUMNS, append_scores
from .compare_report import best_dspy, write_curves_page, write_summary
from .harness import append_row, done_keys, provenance, read_rows, write_rows
from .strategies import configured

CONTENDERS = ["seed-prompt", "promptsearch-auto", "promptsearch-tpe", "dspy-mipro",
              "dspy-copro", "dspy-bootstrap", "dspy-gepa"]
COLUMNS = ["task", "model", "contender", "seed", "budget", "dev_size", "dev_split", "test",
           "test_lo", "test_hi", "lm_calls", "proposer_calls", "tokens", "seconds",
           "parse_failures", "search_parse_failures", "test_examples", "note"]
KEY = ("task", "model", "contender", "seed", "budget")
CURVE_COLUMNS = ["task", "model", "contender", "seed", "budget", "lm_calls", "best_dev", "test"]
DEFAULT_TASKS = ["sentiment", "singular_to_plural", "larger_animal", "translation_en-fr",
                 "antonyms"]


def run_contender(task, contender: str, store, results: Path,
                  threads: int) -> tuple[dict, list, dict]:
    """The contender's compare row, its budget curve and its final prompt's test score per
    example id."""
    if contender == "seed-prompt":
        fields, by_example = score_seed(task, store, threads)
        return fields, [], by_example
    if contender.startswith("dspy-"):
        fields, points, by_example = run_dspy(task, contender.removeprefix("dspy-"),
                                              _budget(task), threads)
        return fields, [(calls, best, None) for calls, best in points], by_example
    started = time.monotonic()
    result = run(task, store=store, results_dir=results, threads=threads)
    fields = _search_row(result, store, time.monotonic() - started)
    return fields, test_curve(task, store, result, threads), winner_scores(store, result)


def winner_scores(store, result) -> dict:
    """The winner's recorded test answers' scores (None for an LM error), by example id."""
    winner = result.winner
    recorded = store.get_evaluations(result.run_id, winner["key_id"], "test")
    return {example_id: None if row["error"] is not None else row["score"]
            for example_id, row in recorded.items()}


def score_seed(task, store, threads: int) -> tuple[dict, dict]:
    """The task's first seed prompt as written, no demos: what a user starts from."""
    prepared = prepare(task, None, threads)
    prepared.lm.cache = store
    key = prepared.space.key(prepared.space.baselines()[0])
    evaluator = evaluator_for(prepared, store, f"compare-seed-{task.name}")
    started = time.monotonic()
    test = evaluator.score(key, prepared.dataset.test, "test")
    low, high = score_interval(prepared.metric, test.answers())
    fields = {"test": test.score, "test_lo": low, "test_hi": high, "lm_calls": 0,
              "proposer_calls": 0, "tokens": 0, "seconds": round(time.monotonic() - started, 1),
              "parse_failures": test.unparseable, "search_parse_failures": 0,
              "note": "no search; seconds = test scoring"}
    return fields, dict(zip(test.example_ids, test.scores))


def _search_row(result, store, seconds: float) -> dict:
    winner = result.winner
    dev_row = next(c for c in store.ranked_candidates(result.run_id)
                   if c["key_id"] == winner["key_id"])
    spent = result.lock["spent"]
    return {"test": winner["test"], "test_lo": winner["test_lo"], "test_hi": winner["test_hi"],
            "lm_calls": spent["lm_calls"], "proposer_calls": spent["proposer_calls"],
            "tokens": spent["tokens"], "seconds": round(seconds, 1),
            "parse_failures": winner["unparseable"] - dev_row["unparseable"],
            "search_parse_failures": spent.get("parse_failures", 0),
            "note": f"winner from {winner['origin']}" + _confirmed(result.lock)}


def _confirmed(lock: dict) -> str:
    held_back = lock["scores"].get("confirm_examples") or 0
    return f"; leaders re-scored on {held_back} held-back train examples" if held_back else ""


def _budget(task) -> int:
    return task.config.search.budget.lm_calls


def matched_budget(rows: list[dict], common: dict) -> tuple[int, str] | None:
    """(calls, contender) of the best finished DSPy row for this task × model × seed × cap."""
    mine = [r for r in rows if r["contender"].startswith("dspy-")
            and all(str(r[k]) == str(v) for k, v in common.items() if k != "contender")]
    if not mine:
        return None
    best = best_dspy(mine)
    return int(best["lm_calls"]), best["contender"]


def contender_order(contenders: list[str], match_dspy: bool) -> list[str]:
    if not match_dspy:
        return contenders
    return sorted(contenders, key=lambda c: (c.startswith("promptsearch-"),
                                             not c.startswith("seed")))


def _task_for(name: str, contender: str, args, seed: int, budget: int):
    strategy = contender.removeprefix("promptsearch-") if contender.startswith("promptsearch-") \
        else "random"
    task = configured(name, strategy, budget, seed, None, model=args.model,
                      threads=args.threads, dev_size=args.dev_size)
    if not args.test_size:
        return task
    data = task.config.data.model_copy(update={"test_size": args.test_size})
    return task.model_copy(update={"config": task.config.model_copy(update={"data": data})})


def _contender_budget(args, csv_path: Path, common: dict) -> tuple[int, str]:
    """The budget this contender runs with, and a note saying why when it is not the cap."""
    if not (args.match_dspy and common["contender"].startswith("promptsearch-")):
        return args.budget, ""
    matched = matched_budget(read_rows(csv_path) if csv_path.exists() else [], common)
    if matched is None:
        return args.budget, ""
    calls, contender = matched
    budget = min(args.budget, calls)
    return budget, f"budget {budget}: the calls {contender} used"


def drop_unfinished(path: Path, common: dict, columns: list[str]) -> None:
    """Forget the curve or score rows of a contender without a compare row (a benchmark killed
    between its appends), so that its rerun does not write them twice."""
    if not path.exists():
        return
    rows = read_rows(path)
    kept = [row for row in rows if any(row[k] != str(v) for k, v in common.items())]
    if len(kept) < len(rows):
        write_rows(path, kept, columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local/gemma-3-270m")
    parser.add_argument("--tasks", nargs="*", default=DEFAULT_TASKS)
    parser.add_argument("--contenders", nargs="*", choices=CONTENDERS, default=CONTENDERS)
    parser.add_argument("--budget", type=int, default=300, help="LM calls per contender (≤ 400)")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--dev-size", type=int, help="dev examples instead of the task's")
    parser.add_argument("--test-size", type=int, help="cap on test examples (smoke runs)")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    parser.add_argument("--match-dspy", action="store_true",
                        help="give promptsearch the calls the best DSPy contender used")
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    args = parser.parse_args()
    provenance()  # the code's commit, read before the runs (edits meanwhile don't count)
    csv_path, curves_path = args.out / "compare.csv", args.out / "curves.csv"
    scores_path = args.out / "test_scores.csv"
    done = done_keys(csv_path, KEY)
    store = open_store(args.out / "store")
    model = args.model.removeprefix("local/")
    for seed in args.seeds:
        for name in args.tasks:
            for contender in contender_order(args.contenders, args.match_dspy):
                if (name, model, contender, str(seed), str(args.budget)) in done:
                    continue
                common = {"task": name, "model": model, "contender": contender, "seed": seed,
                          "budget": args.budget}
                for path, columns in ((curves_path, CURVE_COLUMNS), (scores_path, SCORE_COLUMNS)):
                    drop_unfinished(path, common, columns)
                budget, note = _contender_budget(args, csv_path, common)
                task = _task_for(name, contender, args, seed, budget)
                fields, points, by_example = run_contender(task, contender, store,
                                                           args.out / "runs", args.threads)
                if note:
                    fields["note"] = "; ".join(filter(None, [fields.get("note"), note]))
                for calls, best, test in points:
                    append_row(curves_path, {**common, "lm_calls": calls, "best_dev": best,
                                             "test": test}, CURVE_COLUMNS)
                dataset = load_dataset(task)
                append_scores(scores_path, common, task_metric(task, dataset),
                              [example.id for example in dataset.test], by_example)
                append_row(csv_path, {**common, "dev_size": len(dataset.dev),
                                      "dev_split": task.config.data.dev_split,
                                      "test_examples": len(dataset.test), **fields}, COLUMNS)
                print(f"{name} {model} {contender} seed {seed}: test {fields['test']:.3f}, "
                      f"{fields['lm_calls']} calls, {fields['seconds']} s", flush=True)
    write_summary(csv_path, args.out / "compare.md")
    write_curves_page(curves_path, args.out / "curves.html")


if __name__ == "__main__":
    main()
