"""CLI commands that read results: leaderboard, report, show."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console
from rich.panel import Panel

from promptsearch.api import load_best, open_store
from promptsearch.core.templates import fields_used
from promptsearch.errors import InputError
from promptsearch.report import leaderboard, to_markdown, to_rich_table
from promptsearch.report.html import write_report
from promptsearch.report.leaderboard import by_model
from promptsearch.report.render import format_p


def add_commands(sub, common) -> None:
    board = sub.add_parser("leaderboard", parents=[common], help="all tasks in the store",
                           description="The latest winner of every task x model x strategy.")
    board.add_argument("--task", help="only this task")
    board.add_argument("--model", help="only this model")
    board.add_argument("--format", choices=("table", "md", "csv", "json"), default="table")
    board.add_argument("--by-model", action="store_true",
                       help="models side by side: a row per task x strategy, a column per "
                            "model with its winner's test score [95%% CI]")
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

    show = sub.add_parser("show", parents=[common], help="the winning key of a task",
                          description="Print TASK's winning key (its prompt, scores and run "
                                      "history); a retrieval pool is summarised unless --full.")
    show.add_argument("task", help="task name (or path to a best.json)")
    show.add_argument("--full", action="store_true",
                      help="print the key whole, with every demo of its retrieval pool")
    show.set_defaults(func=cmd_show)


def cmd_leaderboard(args, console: Console) -> int:
    frame = leaderboard(open_store(args.results, args.storage, read_only=True), args.task,
                        args.model)
    if args.by_model:
        frame = by_model(frame, as_text=args.format in ("table", "md"))
    if args.format == "table":
        console.print(to_rich_table(frame, title="promptsearch leaderboard"))
        return 0
    # Machine formats go to stdout as they are: never wrapped or styled, whatever the terminal.
    if args.format == "md":
        text = to_markdown(frame)
    elif args.format == "csv":
        text = frame.to_csv(index=False)
    else:
        text = frame.to_json(orient="records", indent=2) + "\n"
    sys.stdout.write(text)
    return 0


def cmd_show(args, console: Console) -> int:
    best = load_best(args.task, results_dir=args.results, storage=args.storage)
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
    _print_history(console, args, lock)
    key = lock["key"] if args.full else key_summary(lock["key"])
    console.print(json.dumps(key, indent=2, ensure_ascii=False), markup=False, highlight=False,
                  soft_wrap=True)
    if not args.full and lock["key"].get("retrieval"):
        console.print("(the retrieval pool is summarised; --full prints it whole)",
                      highlight=False)
    return 0


def _print_history(console: Console, args, lock: dict) -> None:
    """The run's dev scores by trial, when the store that holds the run is here."""
    try:
        store = open_store(args.results, args.storage, read_only=True)
    except InputError:  # a lock file without its store (e.g. committed to an app's repo)
        return
    history = store.list_candidates(lock.get("run_id", ""))
    if history:
        console.print(f"history: {len(history)} candidates in run {lock['run_id']}; dev score by "
                      "trial: " + " ".join(f"{c['dev_score']:.2f}" if c["dev_score"] is not None
                                          else "–" for c in history), highlight=False,
                      soft_wrap=True)


def key_summary(key: dict) -> dict:
    """The key with its retrieval pool cut to its size, k and first demo."""
    retrieval = key.get("retrieval")
    if not retrieval:
        return key
    pool = retrieval.get("pool") or []
    return {**key, "retrieval": {"k": retrieval.get("k"), "pool_size": len(pool),
                                 "first_demo": pool[0] if pool else None}}


def _fields(key) -> list[str]:
    return sorted(fields_used(key.format) | fields_used(key.instruction)) or ["input"]


def cmd_report(args, console: Console) -> int:
    store = open_store(args.results, args.storage, read_only=True)
    path = write_report(store, Path(args.html or Path(args.results) / "report.html"),
                        args.tasks or None)
    console.print(f"wrote {path}", highlight=False)
    return 0
