"""Can a stronger writer lift a key above what the space already offers?

    python -m benchmarks.writers [--tasks ...] [--writer local/qwen2.5-coder-1.5b] [--written 10]

benchmarks.selection shows that choosing better among keys drawn like `random`'s adds about
0.025; a bigger gain needs keys that are better than the space's. The proposer strategies try to
write them: they keep the best key's demos, format and label words and change its instruction.
This benchmark asks whether that can work at all, with no search noise in the way.

For each task it takes the best of the uniform keys in results/selection_scores.csv (its
demos, format, selection and label words) and changes only its instruction: to every instruction
of the space (the seeds, the bank, gemma's paraphrases), and to `--written` instructions that the
writer induced from train pairs as APE does. Each key is scored on all test examples, so the two
groups are compared on the same examples with the same configuration; both maxima are picked on
those examples, so the groups are about the same size to give them the same optimism.

Rows go to results/writers_scores.csv (one per task and instruction, as each is scored; a
rerun scores only what is missing), the summary to results/writers.csv and .md.
"""

from __future__ import annotations

import argparse
import random
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from promptsearch.api import open_store
from promptsearch.evaluation.evaluate import Evaluator
from promptsearch.pipeline.prepare import prepare
from promptsearch.search.mutators import requests
from promptsearch.search.mutators.propose import call, clean_instruction
from promptsearch.search.strategies.proposing import shown_text

from .harness import append_row, decimals, done_keys, markdown_table, read_rows, write_rows
from .harness import provenance
from .selection import redrawn, test_scores
from .strategies import configured

# The tasks where the instruction can matter: the others score 0.86-0.97 with any good key, or
# (sum) about 0 with every key.
TASKS = ["antonyms", "larger_animal", "negation", "translation_en-fr"]
WRITER = "local/qwen2.5-coder-1.5b"
PAIRS_SHOWN = 5
TRIES_PER_INSTRUCTION = 3  # writer replies the filter may reject before giving up on one
SCORE_COLUMNS = ["task", "group", "origin", "instruction", "key_id", "test", "scores"]
COLUMNS = ["task", "best_uniform", "space_n", "space_mean", "space_max", "written_n",
           "written_mean", "written_max", "written_above_space_max", "writer"]


def best_uniform(scores_path: Path, name: str) -> dict:
    rows = [row for row in read_rows(scores_path) if row["task"] == name]
    if not rows:
        raise SystemExit(f"{scores_path}: no keys of task '{name}'; run "
                         f"`python -m benchmarks.selection --tasks {name}` first")
    return max(rows, key=lambda row: (float(row["test"]), -int(row["draw"])))


def written(writer, pool, count: int, known: list[str], name: str) -> list[str]:
    """Up to `count` distinct instructions the writer induced from train pairs (APE's request,
    through the same filter the strategies use)."""
    texts: list[str] = []
    pool = list(pool)
    for attempt in range(count * TRIES_PER_INSTRUCTION):
        if len(texts) == count:
            break
        rng = random.Random(f"writers:{name}:{attempt}")
        pairs = [(shown_text(ex.inputs), ex.target)
                 for ex in rng.sample(pool, min(PAIRS_SHOWN, len(pool)))]
        reply = call(writer, None, requests.induce(pairs), rng.randrange(2 ** 31))
        text = clean_instruction(reply, known + texts)
        if text:
            texts.append(text)
    return texts


def score_task(name: str, writer_model: str, count: int, store, scores_path: Path,
               done: set) -> Iterator[dict]:
    prepared = prepare(configured(name, "random", 300, seed=0, racing=False), store)
    best = best_uniform(scores_path.parent / "selection_scores.csv", name)
    draw = int(best["draw"])
    point = redrawn(prepared, {draw: best["key_id"]})[draw].point
    space = prepared.space
    groups = [("space", choice.origin, choice.value) for choice in space.instructions]
    # the writer's instructions come from seeded calls, so a rerun that lacks some asks again and
    # gets the same ones; one that has them all skips loading the writer
    if sum(task == name and group != "space" for task, group, _ in done) < count:
        writer = prepare(configured(name, "random", 300, seed=0, racing=False,
                                    proposer=writer_model), store).proposer
        known = [choice.value for choice in space.instructions]
        groups += [(f"written:{writer_model}", f"ape:{writer_model}", text)
                   for text in written(writer, prepared.dataset.pool, count, known, name)]
    evaluator = Evaluator(prepared.lm, prepared.metric, store, f"writers-{name}",
                          max_tokens=prepared.max_tokens)
    for group, origin, text in groups:
        if (name, group, text) in done:
            continue
        index = space.add_instruction(text, origin)
        key = space.key(replace(point, instruction=space.index_of(text) if index is None
                                else index))
        result = evaluator.score(key, prepared.dataset.test, "test")
        yield {"task": name, "group": group, "origin": origin, "instruction": text,
               "key_id": key.id, **test_scores(result)}


def summary(rows: list[dict], best: dict[str, float]) -> list[dict]:
    """Per task: the space's instructions against the written ones on the best configuration."""
    out = []
    for name in sorted({row["task"] for row in rows}):
        space = [float(r["test"]) for r in rows if r["task"] == name and r["group"] == "space"]
        mine = [r for r in rows if r["task"] == name and r["group"] != "space"]
        texts = [float(r["test"]) for r in mine]
        out.append({
            "task": name, "best_uniform": best[name], "space_n": len(space),
            "space_mean": statistics.fmean(space), "space_max": max(space),
            "written_n": len(texts),
            "written_mean": statistics.fmean(texts) if texts else "",
            "written_max": max(texts) if texts else "",
            "written_above_space_max": sum(t > max(space) for t in texts),
            "writer": mine[0]["group"].split(":", 1)[1] if mine else ""})
    return out + mean_row(out)


def mean_row(lines: list[dict]) -> list[dict]:
    """The mean over the tasks, when every task has written instructions."""
    if not lines or any(line["written_n"] == 0 for line in lines):
        return []
    numeric = ("best_uniform", "space_mean", "space_max", "written_mean", "written_max")
    row = {column: statistics.fmean(line[column] for line in lines) for column in numeric}
    row.update({"space_n": sum(line["space_n"] for line in lines),
                "written_n": sum(line["written_n"] for line in lines),
                "written_above_space_max": sum(line["written_above_space_max"] for line in lines),
                "task": f"mean of {len(lines)} tasks (counts summed)",
                "writer": lines[0]["writer"]})
    return [row]


def markdown(summary_rows: list[dict]) -> str:
    columns = ["task", "best_uniform", "space_n", "space_mean", "space_max", "written_n",
               "written_mean", "written_max", "written_above_space_max"]
    formats = {c: decimals(c) for c in ("best_uniform", "space_mean", "space_max",
                                      "written_mean", "written_max")}
    writers = sorted({row["writer"] for row in summary_rows if row["writer"]})
    return ("# Writing better instructions than the space has (gemma-3-270m task model)\n\n"
            "`python -m benchmarks.writers` · per task, the best uniform key of "
            "benchmarks.selection keeps its demos, format and label words and takes each "
            "instruction of the space (`space_*`: seeds, bank, gemma's paraphrases) or one "
            f"written by {', '.join(writers) or 'the writer'} from train pairs as APE does "
            "(`written_*`); every key is scored on all test examples; both maxima are picked "
            "on those examples\n\n" + markdown_table(summary_rows, columns, formats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=TASKS)
    parser.add_argument("--writer", default=WRITER)
    parser.add_argument("--written", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    provenance()  # the code's commit, read before the runs (edits meanwhile don't count)
    scores_path = args.out / "writers_scores.csv"
    store = open_store(args.out / "bench")
    for name in args.tasks:
        done = done_keys(scores_path, ("task", "group", "instruction"))
        for row in score_task(name, args.writer, args.written, store, scores_path, done):
            append_row(scores_path, row, SCORE_COLUMNS)
        print(f"{name}: scored", flush=True)
    if not scores_path.exists():
        parser.error(f"{scores_path} does not exist yet: name tasks to score with --tasks")
    selection = args.out / "selection_scores.csv"
    rows = read_rows(scores_path)
    best = {name: float(best_uniform(selection, name)["test"])
            for name in {row["task"] for row in rows}}
    table = summary(rows, best)
    write_rows(args.out / "writers.csv", table, COLUMNS)
    (args.out / "writers.md").write_text(markdown(table), encoding="utf-8")


if __name__ == "__main__":
    main()
