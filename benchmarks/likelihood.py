"""Label answers generated or read from likelihoods, on the bundled label tasks (gemma-3-270m).

    python -m benchmarks.likelihood [--tasks sentiment word_in_context] [--out results]

Each task is searched three ways with the same budget and seed (tpe, 400 calls, the task's dev
set, 5 finalists): answers generated and ranked by the metric (`generate`), read as the most
likely label and ranked by the metric (`likelihood`), and read as the most likely label and
ranked on dev by the correct label's probability (`likelihood+probability`). A row says the
winner's test accuracy, its unparseable share, whether the dev winner was the best of the
finalists on test, and the rank correlation of dev and test scores over the finalists. Speed is
measured apart, with no cache: the seed prompt and a 4-demo key answering the first 50 test
examples, in examples per second. Writes results/likelihood.csv row by row (a row already
there is skipped) and results/likelihood.md from the CSV alone.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from scipy.stats import spearmanr

from promptsearch.api import open_store, run
from promptsearch.evaluation.evaluate import ask
from promptsearch.lm.client import LM
from promptsearch.pipeline.prepare import prepare, run_id_prefix
from promptsearch.search.space import Point

from .harness import append_row, commits_of, done_keys, provenance, read_rows
from .strategies import configured

MODES = {"generate": ("generate", "metric"), "likelihood": ("likelihood", "metric"),
         "likelihood+probability": ("likelihood", "probability")}
SPEED_EXAMPLES = 50
COLUMNS = ["task", "mode", "config", "seed_test", "seed_unparseable", "winner_test",
           "winner_lo", "winner_hi", "winner_unparseable", "test_examples",
           "dev_winner_best_on_test", "dev_test_spearman", "finalists", "lm_calls", "seconds",
           "examples_per_second", "winner_key", "model_id"]


def configured_task(name: str, mode: str, budget: int):
    task = configured(name, "tpe", budget, 0, None, finalists=5)
    answer, dev_score = MODES[mode]
    config = task.config
    prompt = config.prompt.model_copy(update={"answer": answer, "style": "completion"})
    search = config.search.model_copy(update={"dev_score": dev_score})
    return task.model_copy(update={"config": config.model_copy(
        update={"prompt": prompt, "search": search})})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=["sentiment", "word_in_context"])
    parser.add_argument("--budget", type=int, default=400)
    parser.add_argument("--out", default="results", type=Path)
    parser.add_argument("--store", type=Path, help="the runs' store and call cache (default: "
                                                   "OUT/bench; a new folder times every call)")
    args = parser.parse_args()
    provenance()  # the code's commit, read before the runs (edits meanwhile don't count)
    csv_path = args.out / "likelihood.csv"
    done = done_keys(csv_path, ("task", "mode", "config"))
    store = open_store(args.store or args.out / "bench")
    for name in args.tasks:
        for mode in MODES:
            task = configured_task(name, mode, args.budget)
            prepared = prepare(task, store)
            config = run_id_prefix(task, prepared.dataset.hash)
            if (name, mode, config) in done:
                continue
            started = time.monotonic()
            result = run(task, store=store, results_dir=args.store or args.out / "bench",
                         promote="always")
            row = {"task": name, "mode": mode, "config": config,
                   **_search_row(store, result, time.monotonic() - started),
                   "examples_per_second": examples_per_second(prepared),
                   "model_id": prepared.lm.identity()}
            append_row(csv_path, row, COLUMNS)
            print(f"{name} {mode}: test {row['winner_test']:.2f}, "
                  f"{row['examples_per_second']:.1f} examples/s", flush=True)
    (args.out / "likelihood.md").write_text(render(csv_path), encoding="utf-8")


def _search_row(store, result, seconds: float) -> dict:
    rows, winner, seed = result.finalists, result.winner, result.baseline
    answers = store.get_evaluations(result.run_id, winner["key_id"], "test").values()
    seeds = store.get_evaluations(result.run_id, seed["key_id"], "test").values()
    correlation = spearmanr([r["dev"] for r in rows], [r["test"] for r in rows]).statistic
    return {"seed_test": seed["test"], "seed_unparseable": _unparseable(seeds),
            "winner_test": winner["test"],
            "winner_lo": winner["test_lo"], "winner_hi": winner["test_hi"],
            "winner_unparseable": _unparseable(answers), "test_examples": len(answers),
            "dev_winner_best_on_test": winner["test"] >= max(r["test"] for r in rows),
            "dev_test_spearman": "" if math.isnan(correlation) else round(correlation, 3),
            "finalists": len(rows), "lm_calls": result.lock["spent"]["lm_calls"],
            "seconds": round(seconds, 1), "winner_key": result.lock["key_id"]}


def _unparseable(answers) -> int:
    return sum(a["error"] is None and a["prediction"] is None for a in answers)


def examples_per_second(prepared) -> float:
    """The seed prompt and a 4-demo key on the first test examples, one call at a time, with
    no cache (the weights loaded first: loading is not answering)."""
    lm = LM(prepared.lm.model, threads=prepared.lm.threads)
    lm.warm()
    keys = [prepared.seed_key(), prepared.space.key(Point(0, 0, 4, "random", 0, 0))]
    examples = prepared.dataset.test[:SPEED_EXAMPLES]
    started = time.monotonic()
    for key in keys:
        for example in examples:
            ask(lm, key, example.inputs, prepared.max_tokens)
    return round(len(keys) * len(examples) / (time.monotonic() - started), 2)


def render(csv_path: Path) -> str:
    """likelihood.md, from likelihood.csv alone."""
    rows = read_rows(csv_path)
    commits = commits_of(rows)
    lines = ["# Label answers: generated or the most likely label (gemma-3-270m, test set)", "",
             "`python -m benchmarks.likelihood` · tpe, 400 search calls, the task's dev set, "
             "seed 0, 5 finalists + the seed prompt on test · generate: answers generated, "
             "keys ranked on dev by accuracy · likelihood: the most likely label word (each "
             "scored in full), ranked by accuracy · likelihood+probability: ranked on dev by "
             "the correct label's probability · accuracy with Wilson's 95% interval · dev "
             "winner best on test: among the finalists · Spearman: dev vs test score over the "
             "finalists · examples/s: seed prompt and a 4-demo key, 50 test examples each, no "
             "cache · seconds: the search's wall time, in one store, so likelihood+probability "
             "reuses the likelihood search's cached calls · rows made at commit "
             f"{commits}", "",
             "| task | answers | seed test (unparseable) | winner test [CI] | "
             "unparseable (winner) | "
             "dev winner best on test | Spearman dev–test | examples/s | search calls | "
             "seconds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        spearman = r["dev_test_spearman"] or "–"
        lines.append(
            f"| {r['task']} | {r['mode']} | {float(r['seed_test']):.2f} "
            f"({r['seed_unparseable']}/{r['test_examples']}) | "
            f"{float(r['winner_test']):.2f} [{float(r['winner_lo']):.2f}, "
            f"{float(r['winner_hi']):.2f}] | {r['winner_unparseable']}/{r['test_examples']} | "
            f"{'yes' if r['dev_winner_best_on_test'] == 'True' else 'no'} | {spearman} | "
            f"{float(r['examples_per_second']):.1f} | {r['lm_calls']} | "
            f"{float(r['seconds']):.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
