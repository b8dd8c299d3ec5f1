"""How much can any search gain over random search when it chooses its winner on a small dev set?

    python -m benchmarks.selection [--tasks ...] [--keys 32] [--splits 2000]

A search's winner is the key with the best dev score, and a dev score on 30 examples is noisy:
the key that looks best is often not the best. This benchmark measures that limit directly, with
no strategy involved. For each task it draws `--keys` keys uniformly from the component space
(the distribution `random` draws from, paraphrased seed instructions included) and scores every
key on every test example once. Then, many times over, it splits the test examples at random into
a "dev" part of n examples and a held-out rest, and asks: choosing by the dev part, what
held-out score does a search get that has scored N keys?

- N = 10 is `random` at 300 LM calls with dev 30 (about ten keys fit in the budget);
- N = all keys is a search that scored every sampled key: the best any selection on that dev set
  can do within this sample, however clever the strategy that proposed the keys;
- "best key" is the key with the highest score on all test examples (an optimistic ceiling: it is
  itself picked on those examples).

Per-example scores go to results/selection_scores.csv (one row per task and key, written as each
key is scored; a rerun scores only the draws a task lacks), the simulation to
results/selection.csv and .md. A failed call counts as 0.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from collections import Counter
from pathlib import Path
from typing import Iterator, Sequence

from promptsearch.api import open_store
from promptsearch.evaluation.evaluate import Evaluator
from promptsearch.pipeline.prepare import prepare
from promptsearch.search.base import Candidate, Context
from promptsearch.search.components import add_paraphrases
from promptsearch.search.strategies.random import RandomStrategy

from .harness import append_row, done_keys, markdown_table, provenance, read_rows, write_rows
from .strategies import configured

TASKS = ["antonyms", "first_word_letter", "larger_animal", "negation", "sentiment",
         "singular_to_plural", "translation_en-fr"]
DEV_SIZES = (15, 30, 60)
SEARCHED = (1, 5, 10, 20, 32)  # keys scored by the search; "all" is added per task
SCORE_COLUMNS = ["task", "draw", "key_id", "origin", "test", "scores"]
COLUMNS = ["task", "dev_size", "keys_scored", "held_out", "gain_over_random_10", "splits"]


def uniform_draws(prepared, seed: int, count: int) -> list:
    """`count` distinct candidates in the order `random` draws them with this seed, from its
    space: the seed instructions, the bank and the proposer's paraphrases of the seeds."""
    context = Context(space=prepared.space, seed=seed, proposer=prepared.proposer)
    strategy = RandomStrategy(context)
    add_paraphrases(context)
    drawn: dict[str, Candidate] = {}
    for _ in range(count * 20):  # small spaces repeat draws; stop well before looping forever
        candidate = strategy.ask()
        drawn.setdefault(candidate.key.id, candidate)
        if len(drawn) == count:
            break
    return list(drawn.values())


def redrawn(prepared, key_ids: dict[int, str]) -> dict[int, Candidate]:
    """The draws that selection_scores.csv holds (draw -> key id), drawn again with their
    components. A paraphrase may come out in other words on another machine (llama.cpp
    sampling), which changes the key but not its components; any other mismatch means the
    space itself changed since the keys were scored."""
    drawn = uniform_draws(prepared, seed=0, count=max(key_ids) + 1)
    for draw, key_id in key_ids.items():
        candidate = drawn[draw]
        if candidate.key.id != key_id and not candidate.origin.startswith("paraphrase"):
            raise SystemExit(f"draw {draw} of {prepared.task.name} is key {candidate.key.id} "
                             f"now, not {key_id}: the space changed; rerun benchmarks.selection")
    return {draw: drawn[draw] for draw in key_ids}


def score_task(name: str, count: int, store, first: int = 0) -> Iterator[dict]:
    """The rows of draws `first` to `count` - 1, one as each key is scored: the draws come in a
    fixed order, so a larger `--keys` extends a task's sample instead of replacing it."""
    task = configured(name, "random", 300, seed=0, racing=False)
    prepared = prepare(task, store)
    candidates = uniform_draws(prepared, seed=0, count=count)
    evaluator = Evaluator(prepared.lm, prepared.metric, store, f"selection-{name}",
                          max_tokens=prepared.max_tokens)
    for draw, candidate in enumerate(candidates[first:], start=first):
        result = evaluator.score(candidate.key, prepared.dataset.test, "test")
        yield {"task": name, "draw": draw, "key_id": candidate.key.id, "origin": candidate.origin,
               **test_scores(result)}


def test_scores(result) -> dict:
    """A key's test mean and per-example scores as the CSVs keep them: a failed call counts as
    0, as it would for a user of the key."""
    per_example = [0.0 if s is None else round(s, 4) for s in result.scores]
    return {"test": statistics.fmean(per_example), "scores": json.dumps(per_example)}


def held_out_of_choice(matrix: Sequence[Sequence[float]], dev_size: int, searched: int,
                       splits: int, seed: int = 0) -> float:
    """Mean held-out score of the key with the best dev score among `searched` keys picked at
    random, over `splits` random dev/held-out splits of the examples (ties broken at random)."""
    rng = random.Random(seed)
    examples = len(matrix[0])
    if not 0 < dev_size < examples:
        raise ValueError(f"dev_size must be between 1 and {examples - 1}")
    total = 0.0
    for _ in range(splits):
        order = list(range(examples))
        rng.shuffle(order)
        dev, held = order[:dev_size], order[dev_size:]
        chosen = rng.sample(range(len(matrix)), min(searched, len(matrix)))
        best = max(chosen, key=lambda k: (sum(matrix[k][i] for i in dev), rng.random()))
        total += sum(matrix[best][i] for i in held) / len(held)
    return total / splits


def simulate(name: str, matrix: list[list[float]], splits: int) -> list[dict]:
    rows = []
    for dev_size in DEV_SIZES:
        if dev_size >= len(matrix[0]):
            continue
        levels = [n for n in SEARCHED if n < len(matrix)] + [len(matrix)]
        held = {n: held_out_of_choice(matrix, dev_size, n, splits) for n in levels}
        base = held.get(10)  # absent only when fewer than 10 keys were drawn
        for n, value in held.items():
            rows.append({"task": name, "dev_size": dev_size, "keys_scored": n, "held_out": value,
                         "gain_over_random_10": "" if base is None else value - base,
                         "splits": splits})
    best = max(statistics.fmean(row) for row in matrix)
    rows.append({"task": name, "dev_size": "", "keys_scored": "best key", "held_out": best,
                 "splits": ""})
    return rows


def matrices(scores_path: Path) -> dict[str, list[list[float]]]:
    by_task: dict[str, list[list[float]]] = {}
    for row in read_rows(scores_path):
        by_task.setdefault(row["task"], []).append(json.loads(row["scores"]))
    return by_task


def mean_rows(rows: list[dict]) -> list[dict]:
    """Per (dev size, keys scored): the mean over the tasks that all have that cell."""
    tasks = sorted({r["task"] for r in rows})
    cells: dict[tuple, list[dict]] = {}
    for row in rows:
        if row["dev_size"] != "":
            cells.setdefault((row["dev_size"], row["keys_scored"]), []).append(row)
    label = f"mean of {len(tasks)} tasks"
    means = [{"task": label, "dev_size": dev_size, "keys_scored": n,
              "held_out": statistics.fmean(r["held_out"] for r in mine),
              "gain_over_random_10": mean_or_blank([r["gain_over_random_10"] for r in mine]),
              "splits": mine[0]["splits"]}
             for (dev_size, n), mine in sorted(cells.items()) if len(mine) == len(tasks)]
    best = [r["held_out"] for r in rows if r["keys_scored"] == "best key"]
    return means + [{"task": label, "dev_size": "", "keys_scored": "best key",
                     "held_out": statistics.fmean(best), "splits": ""}] if best else means


def mean_or_blank(values: list) -> object:
    return "" if "" in values else statistics.fmean(values)


def pivot(rows: list[dict]) -> str:
    """One line per task and dev size: held-out score by keys scored, and the gain of scoring
    every key over scoring ten."""
    best = {r["task"]: r["held_out"] for r in rows if r["keys_scored"] == "best key"}
    drawn: dict[str, int] = {}
    for row in rows:
        if row["dev_size"] != "":
            drawn[row["task"]] = max(drawn.get(row["task"], 0), row["keys_scored"])
    lines: dict[tuple, dict] = {}
    for row in rows:
        if row["dev_size"] == "":
            continue
        line = lines.setdefault((row["task"], row["dev_size"]),
                                {"task": row["task"], "dev": row["dev_size"]})
        label = "all" if row["keys_scored"] == drawn[row["task"]] else f"N={row['keys_scored']}"
        if label == "all":
            line["keys"] = row["keys_scored"]
            gain = row["gain_over_random_10"]
            line["all - N=10"] = "" if gain == "" else f"{gain:+.3f}"
        line[label] = f"{row['held_out']:.3f}"
        line["best key"] = f"{best[row['task']]:.3f}" if row["task"] in best else ""
    columns = ["task", "dev"] + [f"N={n}" for n in SEARCHED] + ["all", "keys", "all - N=10",
                                                                  "best key"]
    return markdown_table(list(lines.values()), columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=TASKS)
    parser.add_argument("--keys", type=int, default=32)
    parser.add_argument("--splits", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    provenance()  # the code's commit, read before the runs (edits meanwhile don't count)
    scores_path = args.out / "selection_scores.csv"
    if not args.tasks and not scores_path.exists():
        parser.error(f"{scores_path} does not exist yet: name tasks to score with --tasks")
    drawn = Counter(task for (task, _) in done_keys(scores_path, ("task", "draw")))
    store = open_store(args.out / "bench")
    for name in args.tasks:
        if drawn[name] < args.keys:
            for row in score_task(name, args.keys, store, first=drawn[name]):
                append_row(scores_path, row, SCORE_COLUMNS)
            print(f"{name}: scored", flush=True)
    rows = [row for name, matrix in sorted(matrices(scores_path).items())
            for row in simulate(name, matrix, args.splits)]
    rows += mean_rows(rows)
    write_rows(args.out / "selection.csv", rows, COLUMNS)
    (args.out / "selection.md").write_text(
        "# Choosing the winner on a small dev set (gemma-3-270m, uniform draws, test examples)\n\n"
        "`python -m benchmarks.selection` · each task's keys are drawn uniformly from its "
        "component space and scored once on all its test examples; each cell is the mean "
        "held-out score, over random splits of those examples into dev (`dev` of them) and "
        "held-out (the rest), of the key with the best dev score among N keys a search scored. "
        "N=10 is `random` at 300 LM calls with dev 30; `all` is a search that scored every "
        "sampled key, so `all - N=10` bounds what choosing better among such keys can add; "
        "`best key` is the highest score on all test examples (optimistic: picked on them)\n\n"
        + pivot(rows), encoding="utf-8")


if __name__ == "__main__":
    main()
