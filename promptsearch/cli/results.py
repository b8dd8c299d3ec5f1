"""CLI commands that read results: leaderboard, report, show."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.panel import Panel

from promptsearch.api import load_best, open_store
from promptsearch.core.templates import fields_used
from promptsearch.report import leaderboard, to_markdown, to_rich_table
from promptsearch.report.html import write_report
from promptsearch.report.render import format_p


def add_commands(sub, common) -> None:
    board = sub.add_parser("leaderboard", parents=[common], help="all tasks in the store",
                           description="The latest winner of every task x model x strategy.")
    board.add_argument("--task", help="only this task")
    board.add_argument("--model", help="only this model")
    board.add_argument("--format", choices=("table", "md", "csv", "json"), default="table")
    board.set_defaults(func=cmd_leaderboard)

    report = sub.add_parser("report", parents=[common], help="an offline HTML report",
                            description="Write one self-contained HTML file (no network): the "
                                        "leaderboard and, per task, best dev score against LM "
                                        "calls per strategy, test score against prompt length "
                                        "with the Pareto front, a confusion matrix for label "
                                        "tasks, and the winning key with its diff against the "
                                        "seed.")
    report.add_argument("tasks", nargs="*", metavar="TASK", help="tasks to include (default: "
                                                                 "all)")
    report.add_argument("--html", metavar="FILE", help="output file (default: DIR/report.html)")
    report.set_defaults(func=cmd_report)

    show = sub.add_parser("show", parents=[common], help="the winning key of a task in full",
                          description="Print TASK's lock file key in full and its run history.")
    show.add_argument("task", help="task name (or path to a best.json)")
    show.set_defaults(func=cmd_show)


def cmd_leaderboard(args, console: Console) -> int:
    frame = leaderboard(open_store(args.results, args.storage), args.task, args.model)
    if args.format == "table":
        console.print(to_rich_table(frame, title="promptsearch leaderboard"))
    elif args.format == "md":
        console.print(to_markdown(frame), end="", markup=False, highlight=False)
    elif args.format == "csv":
        console.print(frame.to_csv(index=False), end="", markup=False, highlight=False)
    else:
        console.print(frame.to_json(orient="records", indent=2), markup=False, highlight=False)
    return 0


def cmd_show(args, console: Console) -> int:
    best = load_best(args.task, results_dir=args.results)
    lock = best.lock
    example = {name: f"<{name}>" for name in _fields(best.key)}
    console.print(Panel(best.render(**example), title=f"{lock['task']} · key {lock['key_id']} · "
                        f"{lock['model']}", expand=False), markup=False, highlight=False)
    scores = lock["scores"]
    console.print(f"dev {scores['dev']:.3f} · test {scores['test']:.3f} "
                  f"[{scores['test_ci'][0]:.2f}, {scores['test_ci'][1]:.2f}] · "
                  f"strategy {lock['strategy']} · seed {lock['seed']}", highlight=False)
    if lock.get("baseline"):
        base = lock["baseline"]
        console.print(f"seed prompt: dev {base['scores']['dev']:.3f} · test "
                      f"{base['scores']['test']:.3f} · Δ {base['delta_test']:+.3f} "
                      f"({format_p(base['p_value'])})", highlight=False)
    store = open_store(args.results, args.storage)
    history = [c for c in store.list_candidates(lock.get("run_id", ""))]
    if history:
        console.print(f"history: {len(history)} candidates in run {lock['run_id']}; dev score by "
                      "trial: " + " ".join(f"{c['dev_score']:.2f}" if c["dev_score"] is not None
                                          else "–" for c in history), highlight=False)
    console.print(json.dumps(lock["key"], indent=2, ensure_ascii=False), markup=False,
                  highlight=False)
    return 0


def _fields(key) -> list[str]:
    return sorted(fields_used(key.format) | fields_used(key.instruction)) or ["input"]


def cmd_report(args, console: Console) -> int:
    store = open_store(args.results, args.storage)
    path = write_report(store, Path(args.html or Path(args.results) / "report.html"),
                        args.tasks or None)
    console.print(f"wrote {path}", highlight=False)
    return 0
