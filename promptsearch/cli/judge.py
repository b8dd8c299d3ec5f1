"""`promptsearch judge-check`: does the task's LLM judge agree with exact answers?"""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.table import Table

from promptsearch.api import open_store
from promptsearch.cli.options import bounded, model_option, with_model
from promptsearch.errors import EXIT_REGRESSION
from promptsearch.pipeline.judge_check import JudgeReport, check_judge, trust_text
from promptsearch.pipeline.prepare import prepare
from promptsearch.task.config import load_task


def add_commands(sub, common) -> None:
    check = sub.add_parser(
        "judge-check", parents=[common], help="does the task's LLM judge agree with exact "
                                              "answers?",
        description="Grade answers whose truth exact match decides (the task model's own "
                    "answers with the seed prompt, the reference answers, and other examples' "
                    "references) with the task's metric.judge, on dev examples; print the "
                    "agreement with its 95% interval and Cohen's kappa. Calls are cached in "
                    "the store.")
    check.add_argument("task", help="path to task.yaml (its metric must be a judge)")
    check.add_argument("--examples", type=bounded(int, ge=1), default=30, metavar="N",
                       help="dev examples to grade (3 answers each; default 30)")
    check.add_argument("--model", type=model_option, help="the task model whose answers are graded "
                                       "(default: the task's)")
    check.add_argument("--min-kappa", type=bounded(float, ge=-1, le=1), metavar="K",
                       help=f"exit {EXIT_REGRESSION} when kappa on the model's answers is below K "
                            "(or undefined): a CI gate")
    check.add_argument("--format", choices=("table", "json"), default="table")
    check.set_defaults(func=cmd_judge_check)


def cmd_judge_check(args, console: Console) -> int:
    task = with_model(load_task(args.task), args.model)
    prepared = prepare(task, open_store(args.results, args.storage))
    report = check_judge(prepared, args.examples)
    if args.format == "json":
        sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
    else:
        print_report(console, report)
    kappa = report.on_model_answers.kappa
    if args.min_kappa is not None and (kappa is None or kappa < args.min_kappa):
        return EXIT_REGRESSION
    return 0


def print_report(console: Console, report: JudgeReport) -> None:
    table = Table(title=f"{report.judge} · {report.examples} dev examples · "
                        f"{report.judge_calls} judge calls")
    for name in ("answers", "n", "agreement [95% CI]", "Cohen's kappa",
                 "judge passed wrong", "judge failed right"):
        table.add_column(name, justify="left" if name == "answers" else "right")
    for agreement in (report.overall, report.on_model_answers):
        (_, false_pass), (false_fail, _) = agreement.confusion or [[0, 0], [0, 0]]
        kappa = "undefined" if agreement.kappa is None else f"{agreement.kappa:.2f}"
        table.add_row(agreement.subset, str(agreement.n),
                      f"{agreement.agreement:.2f} [{agreement.low:.2f}, {agreement.high:.2f}]",
                      kappa, str(false_pass), str(false_fail))
    console.print(table)
    console.print(f"on the model's answers: {trust_text(report.on_model_answers.kappa)}",
                  highlight=False)
    wrong = [g for g in report.graded if g.passed != g.correct][:5]
    for g in wrong:
        truth = "right" if g.correct else "wrong"
        console.print(f"  disagrees: {g.kind} {g.answer!r} is {truth}; judge: {g.verdict}",
                      highlight=False, soft_wrap=True)
