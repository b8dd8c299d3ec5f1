"""The `promptsearch` command: parse arguments, call the library, render with rich. No logic."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from rich.console import Console
from rich.logging import RichHandler

from . import __version__
from .config import STRATEGIES
from .errors import EXIT_INTERRUPTED, PromptsearchError

STORAGE_ENV = "PROMPTSEARCH_STORAGE"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="promptsearch",
        description="Search prompt templates against a labeled task; keep the best per task.")
    parser.add_argument("--version", action="version", version=f"promptsearch {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--results", default="results", metavar="DIR",
                        help="folder for lock files and the default store (default: ./results)")
    common.add_argument("--storage", default=os.environ.get(STORAGE_ENV), metavar="URL",
                        help=f"SQLAlchemy URL of the store (default: ${STORAGE_ENV} or "
                             "sqlite:///DIR/promptsearch.db)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="search a task, then print its leaderboard",
                         description="Search the prompt space of TASK within its budget, score "
                                     "the finalists on test, write DIR/<task>/best.json.")
    run.add_argument("task", help="path to task.yaml")
    run.add_argument("--resume", action="store_true",
                     help="continue the latest run of this task config and seed")
    run.add_argument("--strategy", choices=STRATEGIES,
                     help="override search.strategy")
    run.add_argument("--lm-calls", type=int, metavar="N", help="override search.budget.lm_calls")
    run.add_argument("--threads", type=int, metavar="N", help="CPU threads for local models")
    run.add_argument("--quiet", action="store_true", help="no progress display")

    validate = sub.add_parser("validate", parents=[common], help="check a task file and its data",
                              description="Check TASK (schema, data, templates, metric) "
                                          "without calling any model.")
    validate.add_argument("task", help="path to task.yaml")

    board = sub.add_parser("leaderboard", parents=[common], help="all tasks in the store",
                           description="The latest winner of every task x model x strategy.")
    board.add_argument("--task", help="only this task")
    board.add_argument("--model", help="only this model")
    board.add_argument("--format", choices=("table", "md", "csv", "json"), default="table")

    show = sub.add_parser("show", parents=[common], help="the winning key of a task in full",
                          description="Print TASK's lock file key in full and its run history.")
    show.add_argument("task", help="task name (or path to a best.json)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(stderr=True)
    logging.basicConfig(level=logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=console, show_time=False, show_path=False)])
    from . import commands  # imported late: argument errors and --help stay instant

    for noisy in ("optuna", "dspy", "LiteLLM"):  # their INFO lines would break the progress view
        logging.getLogger(noisy).setLevel(logging.WARNING)

    try:
        return getattr(commands, f"cmd_{args.command}")(args, Console())
    except PromptsearchError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        console.print("interrupted; everything recorded so far is in the store")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
