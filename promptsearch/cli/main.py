"""The `promptsearch` command: parse arguments, call the library, render with rich. No logic."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from rich.logging import RichHandler
from sqlalchemy.exc import DatabaseError

from promptsearch._version import __version__
from promptsearch.cli import app, judge, plan, results, search
from promptsearch.cli.options import OneLineParser, console_for
from promptsearch.errors import EXIT_INTERRUPTED, PromptsearchError

STORAGE_ENV = "PROMPTSEARCH_STORAGE"
EXAMPLES = """examples:
  promptsearch init data.csv --out task.yaml       write a starter task file
  promptsearch plan task.yaml                      calls, time, cost and what it can tell apart
  promptsearch run task.yaml                       search, print the leaderboard
  promptsearch report --html results/report.html   offline HTML report with plots
  promptsearch promote sentiment 2 --alias production
  promptsearch export sentiment --format python    the winner for an app
  promptsearch verify                              exit 3 if a winner regressed

exit codes: 0 ok, 1 error, 2 bad input (one line: file, field, fix), 3 verify found a
regression, 4 the model cannot answer (nothing listening, DNS, refused key, unknown model, or
calls failing above --max-error-rate): no lock written, results kept, `run --resume` goes on,
130 interrupted.
`promptsearch COMMAND --help` for each command's options.

one search, many processes (any number of workers, on any machine that reaches the database):
  promptsearch run task.yaml --storage postgresql://USER@HOST/DB --workers 0
  promptsearch worker task.yaml --storage postgresql://USER@HOST/DB"""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="promptsearch", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Search prompt templates against a labeled task; keep the best per task.",
        epilog=EXAMPLES)
    parser.add_argument("--version", action="version", version=f"promptsearch {__version__}")
    common = OneLineParser(add_help=False)
    common.add_argument("--results", default="results", metavar="DIR",
                        help="folder for lock files and the default store (default: ./results)")
    common.add_argument("--storage", default=os.environ.get(STORAGE_ENV), metavar="URL",
                        help=f"SQLAlchemy URL of the store (default: ${STORAGE_ENV} or "
                             "sqlite:///DIR/promptsearch.db)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for group in (search, plan, judge, results, app):
        group.add_commands(sub, common)
    return parser


def _log_handler(console) -> logging.Handler:
    """Rich's columns on a terminal; in a log, plain `warning: ...` lines (rich would pad each
    to the unwrapped width)."""
    if console.is_terminal:
        return RichHandler(console=console, show_time=False, show_path=False)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    return handler


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = console_for(stderr=True)
    logging.basicConfig(level=logging.WARNING, format="%(message)s",
                        handlers=[_log_handler(console)])
    for noisy in ("optuna", "dspy", "LiteLLM"):  # their INFO lines would break the progress view
        logging.getLogger(noisy).setLevel(logging.WARNING)

    try:
        return args.func(args, console_for())
    except PromptsearchError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except DatabaseError as exc:  # the database failed under a command: disk, lock, rights
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        console.print(f"[bold red]error:[/] the store failed: {reason} (fix: check the disk and "
                      "the rights on --results / --storage; nothing recorded is lost)",
                      highlight=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        console.print("interrupted; everything recorded so far is in the store")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
