"""Can a small local model judge? judge-check on bundled tasks whose exact answers are known.

    python -m benchmarks.judge [--tasks translation_en-fr antonyms] [--examples 30] [--out results]

For each task and each judge (gemma-3-270m, Qwen2.5-Coder-1.5B), the task's metric is replaced
by `metric: {judge: {model: JUDGE, scale: pass_fail, reference: true}}` and judge-check grades,
on the first dev examples, the task model's (gemma-3-270m) answers with the seed prompt, the
reference answers and other examples' references. Writes results/judge.csv row by row (a row
already there is skipped) and results/judge.md from the CSV alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from promptsearch.api import open_store
from promptsearch.pipeline.judge_check import check_judge
from promptsearch.pipeline.prepare import prepare
from promptsearch.task.config import FieldMetrics, JudgeSpec, load_task

from .harness import append_row, commits_of, done_keys, provenance, read_rows

TASKS = Path(__file__).parent / "tasks"
JUDGES = ("local/gemma-3-270m", "local/qwen2.5-coder-1.5b")
COLUMNS = ["task", "judge", "examples", "subset", "n", "agreement", "agreement_lo",
           "agreement_hi", "kappa", "true_fail", "false_pass", "false_fail", "true_pass",
           "judge_calls", "judge_id"]


def judged(name: str, judge: str):
    task = load_task(TASKS / f"{name}.yaml")
    metric = FieldMetrics(judge=JudgeSpec(model=judge))
    return task.model_copy(update={"config": task.config.model_copy(update={"metric": metric})})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=["translation_en-fr", "antonyms"])
    parser.add_argument("--judges", nargs="*", default=list(JUDGES))
    parser.add_argument("--examples", type=int, default=30)
    parser.add_argument("--out", default="results", type=Path)
    args = parser.parse_args()
    provenance()  # the code's commit, read before the runs (edits meanwhile don't count)
    csv_path = args.out / "judge.csv"
    done = done_keys(csv_path, ("task", "judge", "examples"))
    store = open_store(args.out / "bench")
    for name in args.tasks:
        for judge in args.judges:
            if (name, judge, str(args.examples)) in done:
                continue
            prepared = prepare(judged(name, judge), store)
            report = check_judge(prepared, args.examples)
            for agreement in (report.overall, report.on_model_answers):
                (tn, fp), (fn, tp) = agreement.confusion or [[0, 0], [0, 0]]
                append_row(csv_path, {
                    "task": name, "judge": judge, "examples": args.examples,
                    "subset": agreement.subset, "n": agreement.n,
                    "agreement": agreement.agreement, "agreement_lo": agreement.low,
                    "agreement_hi": agreement.high, "kappa": agreement.kappa,
                    "true_fail": tn, "false_pass": fp, "false_fail": fn, "true_pass": tp,
                    "judge_calls": report.judge_calls,
                    "judge_id": prepared.judge.identity()}, COLUMNS)
            print(f"{name} judged by {judge}: kappa {report.overall.kappa}", flush=True)
    (args.out / "judge.md").write_text(render(csv_path), encoding="utf-8")


def render(csv_path: Path) -> str:
    """judge.md, from judge.csv alone."""
    rows = read_rows(csv_path)
    commits = commits_of(rows)
    lines = ["# Judges against exact answers (`promptsearch judge-check`)", "",
             "`python -m benchmarks.judge` · pass/fail judge shown the reference answer · on "
             "each task's first dev examples: the task model's (gemma-3-270m) answers with the "
             "seed prompt, the reference answers (right) and other examples' references "
             "(wrong) · truth by exact match · agreement with Wilson's 95% interval · Cohen's "
             "kappa (scikit-learn): 0 is chance, 1 full agreement; undefined when the truth or "
             "the verdicts are all one kind · false pass: a wrong answer the judge passed · "
             f"rows made at commit {commits}", "",
             "| task | judge | answers | n | agreement [CI] | kappa | false pass | false fail "
             "| judge calls |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        kappa = "undefined" if r["kappa"] == "" else f"{float(r['kappa']):.2f}"
        lines.append(f"| {r['task']} | {r['judge'].removeprefix('local/')} | {r['subset']} | "
                     f"{r['n']} | {float(r['agreement']):.2f} [{float(r['agreement_lo']):.2f}, "
                     f"{float(r['agreement_hi']):.2f}] | {kappa} | {r['false_pass']} | "
                     f"{r['false_fail']} | {r['judge_calls']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
