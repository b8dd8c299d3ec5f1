"""Every strategy on bundled tasks at one LM-call budget, on the embedded model.

    python -m benchmarks.strategies [--tasks ...] [--strategies ...] [--budget 300]
                                    [--racing | --no-racing]   (default: each strategy's own)
                                [--model M] [--proposer M] [--dev-size N] [--finalists N]

Writes results/strategies.csv (one row per task x strategy x seed x racing, appended as each run
finishes; rows already there are skipped) and results/strategies.md (per-strategy means).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from promptsearch import run
from promptsearch.api import open_store
from promptsearch.task.config import load_task

from .harness import append_row, done_keys, markdown_table, provenance, read_rows

TASKS = Path(__file__).parent / "tasks"
DEFAULT_TASKS = ["sentiment", "singular_to_plural", "larger_animal", "translation_en-fr",
                 "antonyms"]
ALL_TASKS = sorted(path.stem for path in TASKS.glob("*.yaml"))
DEFAULT_STRATEGIES = ["random", "tpe", "ape", "opro", "protegi", "evolution", "auto"]
COLUMNS = ["task", "strategy", "seed", "racing", "budget", "dev_split", "dev", "test", "test_lo",
           "test_hi", "seed_test", "lm_calls", "proposer_calls", "racing_saved", "model_calls",
           "test_calls", "dev_calls_to_winner", "seconds", "winner_origin", "winner_key"]
KEY = ("task", "strategy", "seed", "racing", "budget")
BUDGET = 300  # the table's budget; rows at another one say theirs
CEILING = "best row of each task (any strategy or seed)"


def configured(name: str, strategy: str, budget: int, seed: int, racing: bool | None,
               proposer: str | None = None, model: str | None = None, threads: int = 2,
               dev_size: int | None = None, confirm: int = 0,
               finalists: int | None = None):
    task = load_task(TASKS / f"{name}.yaml")
    config = task.config
    if proposer:
        config = config.model_copy(update={"proposer": proposer})
    if model:
        config = config.model_copy(update={"model": model})
    config = config.model_copy(update={"lm": config.lm.model_copy(update={"threads": threads})})
    if dev_size:
        config = config.model_copy(update={"data": config.data.model_copy(
            update={"dev_size": dev_size})})
    search = config.search.model_copy(update={
        "strategy": strategy, "seed": seed, "racing": racing, "confirm": confirm,
        "finalists": finalists or config.search.finalists,
        "budget": config.search.budget.model_copy(update={"lm_calls": budget, "minutes": 30})})
    return task.model_copy(update={"config": config.model_copy(update={"search": search})})


def calls_to_winner(store, result) -> int:
    """Dev-scoring calls made up to and including the trial that first scored the winner."""
    total = 0
    for candidate in store.list_candidates(result.run_id):
        total += candidate["lm_calls"]
        if candidate["key_id"] == result.lock["key_id"]:
            break
    return total


def row(task, strategy, seed, racing, budget, result, seconds, store) -> dict:
    winner = result.winner
    baseline = result.baseline
    spent = result.lock["spent"]
    return {"task": task.name, "strategy": strategy, "seed": seed, "racing": racing,
            "budget": budget, "dev_split": task.config.data.dev_split,
            "dev": winner["dev"], "test": winner["test"], "test_lo": winner["test_lo"],
            "test_hi": winner["test_hi"], "seed_test": baseline["test"] if baseline else None,
            "lm_calls": spent["lm_calls"], "proposer_calls": spent["proposer_calls"],
            "racing_saved": spent.get("racing_saved", 0), "model_calls": spent["model_calls"],
            "test_calls": spent["test_calls"], "seconds": round(seconds, 1),
            "dev_calls_to_winner": calls_to_winner(store, result),
            "winner_origin": winner["origin"], "winner_key": winner["key_id"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=DEFAULT_TASKS)
    parser.add_argument("--strategies", nargs="*", default=DEFAULT_STRATEGIES)
    parser.add_argument("--budget", type=int, default=BUDGET)
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--racing", action=argparse.BooleanOptionalAction, default=None,
                        help="force racing on or off (default: on for auto, off otherwise)")
    parser.add_argument("--proposer", help="model for the LLM-driven strategies, e.g. "
                                           "local/qwen2.5-coder-1.5b (default: the task's)")
    parser.add_argument("--model", help="task model instead of the task's (e.g. "
                                        "local/qwen2.5-coder-1.5b); rows are labelled with it")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads per model")
    parser.add_argument("--dev-size", type=int, help="dev examples instead of the task's")
    parser.add_argument("--confirm", type=int, default=0,
                        help="search.confirm: held-back examples the top 3 keys answer again")
    parser.add_argument("--finalists", type=int,
                        help="search.finalists: dev leaders scored on test (the winner's test "
                             "score, the table's figure, is the same; 1 saves slow models' time; "
                             "default: the task's)")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    provenance()  # the code's commit, read before the runs (edits meanwhile don't count)
    csv_path = args.out / "strategies.csv"
    done = done_keys(csv_path, KEY)
    store = open_store(args.out / "bench")
    for seed in args.seeds:
        for name in args.tasks:
            for strategy in args.strategies:
                label = _label(strategy, args.proposer, args.model, args.dev_size, args.confirm)
                task = configured(name, strategy, args.budget, seed, args.racing, args.proposer,
                                  args.model, args.threads, args.dev_size, args.confirm,
                                  args.finalists)
                racing = task.config.search.racing_on()
                key = (name, label, str(seed), str(racing), str(args.budget))
                if key in done:
                    continue
                started = time.monotonic()
                result = run(task, store=store, results_dir=args.out / "bench")
                elapsed = time.monotonic() - started
                append_row(csv_path, row(task, label, seed, racing, args.budget, result,
                                         elapsed, store), COLUMNS)
                print(f"{name} {label} racing={racing}: test "
                      f"{result.lock['scores']['test']:.2f} in {elapsed:.0f} s", flush=True)
    write_summary(csv_path, args.out / "strategies.md")


def _label(strategy: str, proposer: str | None, model: str | None, dev_size: int | None,
           confirm: int = 0) -> str:
    """`ape@qwen…` with another proposer; `dspy-mipro [task model qwen…, dev 15]` with another
    task model or dev size; `auto [confirm 30]` with confirmation."""
    label = strategy + (f"@{proposer.split('/')[-1]}" if proposer else "")
    notes = [f"task model {model.split('/')[-1]}"] if model else []
    notes += [f"dev {dev_size}"] if dev_size else []
    notes += [f"confirm {confirm}"] if confirm else []
    return label + (f" [{', '.join(notes)}]" if notes else "")


def _mean(rows_by_task: dict, tasks: list[str]) -> str:
    """The mean test score over `tasks`, or '–' unless the strategy ran on every one of them."""
    if not all(task in rows_by_task for task in tasks):
        return "–"
    return f"{statistics.mean(float(rows_by_task[t]['test']) for t in tasks):.3f}"


def write_summary(csv_path: Path, md_path: Path) -> None:
    rows = read_rows(csv_path)
    tasks = sorted({r["task"] for r in rows})
    table = []
    for group in sorted({_group(r) for r in rows}):
        strategy, racing, budget = group
        label = (strategy + (" +racing" if racing == "True" else "")
                 + ("" if budget == BUDGET else f" · {budget} calls"))
        mine = [r for r in rows if _group(r) == group]
        seeds = sorted({r["seed"] for r in mine}, key=int)
        for seed in seeds:
            by_task = {r["task"]: r for r in mine if r["seed"] == seed}
            table.append(_summary_row(label + ("" if seed == "0" else f" · seed {seed}"),
                                      by_task, tasks))
        if len(seeds) > 1:
            table.append(_summary_row(f"{label} · mean of seeds {' '.join(seeds)}",
                                      _seed_means(mine, seeds), tasks))
    table.append(_ceiling_row(rows, tasks))
    columns = ["strategy", *tasks, "mean, 5 tasks", "mean, all 8", "proposer calls",
               "racing saved", "seconds"]
    header = ("# Strategies at an equal LM-call budget (gemma-3-270m, test score of the winner)\n\n"
              f"`python -m benchmarks.strategies` · the budget is {BUDGET} LM calls unless a row "
              "says otherwise · every row spent the whole budget of LM calls "
              "(task + proposer); proposer calls are listed per task in column order · the five "
              "default tasks were the ones looked at while building the strategies, the other "
              "three were not · rows are seed 0 unless they say otherwise; a `mean of seeds` row "
              "averages each task over the seeds that ran it (on every one of them) · per-row "
              "details (CIs, dev, calls to reach the winner, winner origin) in strategies.csv · "
              "seconds are wall time with one shared call cache: a row that revisits prompts an "
              "earlier row scored runs faster · " + _split_note(rows) + "\n\n")
    md_path.write_text(header + markdown_table(table, columns), encoding="utf-8")


def _group(row: dict) -> tuple[str, str, int]:
    """Rows averaged together: one strategy, racing on or off, one budget (older rows without
    a budget ran at the table's)."""
    return row["strategy"], row["racing"], int(row.get("budget") or BUDGET)


def _summary_row(label: str, by_task: dict, tasks: list[str]) -> dict:
    entry = {"strategy": label}
    for task in tasks:
        entry[task] = f"{float(by_task[task]['test']):.2f}" if task in by_task else "–"
    entry["mean, 5 tasks"] = _mean(by_task, DEFAULT_TASKS)
    entry["mean, all 8"] = _mean(by_task, ALL_TASKS)
    entry["proposer calls"] = " ".join(
        str(by_task[task]["proposer_calls"]) if task in by_task else "–" for task in tasks)
    entry["racing saved"] = sum(int(r["racing_saved"] or 0) for r in by_task.values())
    entry["seconds"] = f"{sum(float(r['seconds']) for r in by_task.values()):.0f}"
    return entry


def _ceiling_row(rows: list[dict], tasks: list[str]) -> dict:
    """Per task, the best test score of any row on the embedded model, whatever strategy and
    seed, at the table's budget: what a strategy could have reached, had it always picked the
    best of what any row found — the room there was to beat `random` in."""
    embedded = [r for r in rows if "task model" not in r["strategy"] and _group(r)[2] == BUDGET]
    best = {task: {"test": max(float(r["test"]) for r in embedded if r["task"] == task),
                   "proposer_calls": "–", "racing_saved": 0, "seconds": 0}
            for task in tasks if any(r["task"] == task for r in embedded)}
    entry = _summary_row(CEILING, best, tasks)
    entry.update({"proposer calls": "–", "racing saved": "–", "seconds": "–"})
    return entry


def _seed_means(rows: list[dict], seeds: list[str]) -> dict:
    """Per task that ran every seed: a row whose numbers are the means over the seeds."""
    means = {}
    for task in sorted({r["task"] for r in rows}):
        runs = [r for r in rows if r["task"] == task]
        if {r["seed"] for r in runs} != set(seeds):
            continue
        means[task] = {
            "test": statistics.mean(float(r["test"]) for r in runs),
            "proposer_calls": f"{statistics.mean(int(r['proposer_calls']) for r in runs):.3g}",
            "racing_saved": round(statistics.mean(int(r["racing_saved"] or 0) for r in runs)),
            "seconds": statistics.mean(float(r["seconds"]) for r in runs)}
    return means


def _split_note(rows: list[dict]) -> str:
    """Which dev split each task's rows used (a task file can change it, e.g. larger_animal's
    `dev_split: unseen`; rows measured before keep the split they ran with)."""
    by_task: dict[str, set] = {}
    for r in rows:
        by_task.setdefault(r["task"], set()).add(r.get("dev_split") or "random")
    other = [f"{task}: {' and '.join(sorted(splits))}" for task, splits in sorted(by_task.items())
             if splits != {"random"}]
    return "dev drawn at random from train" + (f", except {'; '.join(other)}" if other else
                                                 " in every row")


if __name__ == "__main__":
    main()
