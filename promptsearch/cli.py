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
EXAMPLES = """examples:
  promptsearch init data.csv --out task.yaml       write a starter task file
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
    parser = argparse.ArgumentParser(
        prog="promptsearch", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Search prompt templates against a labeled task; keep the best per task.",
        epilog=EXAMPLES)
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
    run.add_argument("--max-error-rate", type=float, metavar="R",
                     help="stop (exit 4, results kept, no lock written) once this share of dev "
                          "calls has failed after retries (default: search.max_error_rate, 0.5)")
    run.add_argument("--quiet", action="store_true", help="no progress display")
    run.add_argument("--promote", choices=("significant", "always", "never"),
                     default="significant",
                     help="when the winner becomes the task's new version (and best.json): "
                          "significant (default) if it beats the latest version on the same "
                          "test examples by a one-sided paired test at 0.05; always; never. A "
                          "task's first run, or changed data, always records one")
    run.add_argument("--workers", type=int, metavar="N",
                     help="share the search with worker processes: start N of them here (0: "
                          "start none, `promptsearch worker` joins from anywhere), wait for the "
                          "budget to be spent, then score the finalists and write the lock")
    run.add_argument("--run", metavar="RUN_ID", help="with --workers: the shared run to join")
    _worker_command(sub, common)

    validate = sub.add_parser("validate", parents=[common], help="check a task file and its data",
                              description="Check TASK (schema, data, templates, metric) "
                                          "without calling any model.")
    validate.add_argument("task", help="path to task.yaml")

    board = sub.add_parser("leaderboard", parents=[common], help="all tasks in the store",
                           description="The latest winner of every task x model x strategy.")
    board.add_argument("--task", help="only this task")
    board.add_argument("--model", help="only this model")
    board.add_argument("--format", choices=("table", "md", "csv", "json"), default="table")

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

    show = sub.add_parser("show", parents=[common], help="the winning key of a task in full",
                          description="Print TASK's lock file key in full and its run history.")
    show.add_argument("task", help="task name (or path to a best.json)")
    _app_commands(sub, common)
    return parser


def _worker_command(sub, common) -> None:
    worker = sub.add_parser(
        "worker", parents=[common], help="join a shared search (many processes, one run)",
        description="Join the search of `promptsearch run TASK --workers 0` on the same store "
                    "(PostgreSQL for several machines), or start it if this worker comes "
                    "first: ask for candidates, score them, share results and the call cache, "
                    "until the run's budget is spent.")
    worker.add_argument("task", help="path to task.yaml (the coordinator's, with its overrides)")
    worker.add_argument("--run", metavar="RUN_ID",
                        help="the run to join (default: the latest unfinished run of this task "
                             "config and seed, else a new one)")
    worker.add_argument("--strategy", choices=STRATEGIES, help="override search.strategy")
    worker.add_argument("--lm-calls", type=int, metavar="N",
                        help="override search.budget.lm_calls")
    worker.add_argument("--max-error-rate", type=float, metavar="R",
                        help="this worker stops once this share of its calls fails")
    worker.add_argument("--threads", type=int, metavar="N", help="CPU threads for local models")
    worker.add_argument("--heartbeat", type=float, default=5.0, metavar="S",
                        help="seconds between heartbeats; a worker 3 beats late is dead and its "
                             "key is finished by another (default: 5)")
    worker.add_argument("--quiet", action="store_true", help="no progress display")


def _app_commands(sub, common) -> None:
    listing = sub.add_parser("versions", parents=[common], help="a task's versions and aliases",
                             description="Every recorded version of TASK's best key (a run "
                                         "that beat the latest version on test adds one), with "
                                         "its aliases.")
    listing.add_argument("task", help="task name")

    promote = sub.add_parser("promote", parents=[common], help="point an alias at a version",
                             description="Point ALIAS (e.g. production) at VERSION of TASK; "
                                         "apps then load it with load_best(\"TASK@ALIAS\").")
    promote.add_argument("task", help="task name")
    promote.add_argument("version", help="version number, an existing alias, or latest")
    promote.add_argument("--alias", required=True, help="the alias to set, e.g. production")

    verify = sub.add_parser("verify", parents=[common], help="re-check winners on their test "
                                                             "sets (for an app's CI)",
                            description="Re-score each task's winner (its lock file) on its test "
                                        "set with the current model and compare it, example by "
                                        "example, with the answers the lock recorded. Exit 3 if "
                                        "any winner's drop is significant (one-sided paired "
                                        "test) or above --tolerance, else 0.")
    verify.add_argument("tasks", nargs="*", metavar="TASK",
                        help="task names or lock file paths (default: every DIR/*/best.json)")
    verify.add_argument("--cached", action="store_true",
                        help="allow answers from the call cache (default: call the model)")
    verify.add_argument("--threads", type=int, metavar="N", help="CPU threads for local models")
    verify.add_argument("--alpha", type=float, default=0.05, metavar="A",
                        help="significance level of the one-sided paired test (default: 0.05)")
    verify.add_argument("--tolerance", type=float, metavar="T",
                        help="also fail when the drop in score exceeds T, e.g. 0.05 (default: "
                             "only a significant drop fails)")

    evaluate = sub.add_parser("eval", parents=[common], help="score given prompts, side by side",
                              description="Score prompts on TASK's test (or dev) examples "
                                          "without searching, side by side with 95 percent CIs. "
                                          "A prompt naming an input field ({{ input }}) is a "
                                          "whole template; other text is an instruction in the "
                                          "task's default format.")
    evaluate.add_argument("task", help="path to task.yaml")
    evaluate.add_argument("--prompt", action="append", metavar="TEXT",
                          help="a prompt to score (repeat for more)")
    evaluate.add_argument("--key", action="append", metavar="REF",
                          help="a stored key: best.json path, TASK, TASK@VERSION or TASK@ALIAS")
    evaluate.add_argument("--split", choices=("test", "dev"), default="test")
    evaluate.add_argument("--show", type=int, default=0, metavar="N",
                          help="also print the answers to the first N examples")
    evaluate.add_argument("--threads", type=int, metavar="N", help="CPU threads for local models")

    export = sub.add_parser("export", parents=[common], help="the winner as json, python or dspy",
                            description="Write TASK's winning key for an app: json (the lock "
                                        "file), python (a module with the template as constants "
                                        "and render()/parse(), no promptsearch needed) or dspy "
                                        "(a DSPy program's JSON state that renders the key "
                                        "verbatim).")
    export.add_argument("task", help="TASK, TASK@VERSION, TASK@ALIAS or a best.json path")
    export.add_argument("--format", choices=("json", "python", "dspy"), default="json")
    export.add_argument("--out", metavar="FILE", help="output file (default: TASK.json, "
                                                      "TASK_prompt.py or TASK_dspy.json)")

    init = sub.add_parser("init", help="write a starter task.yaml from a dataset",
                          description="Guess the input and target columns, the label set and a "
                                      "metric from DATAFILE and write a task file that validate "
                                      "accepts and run runs.")
    init.add_argument("datafile", help="a .jsonl, .json, .csv, .tsv or .parquet file")
    init.add_argument("--out", default="task.yaml", help="where to write (default: task.yaml)")
    init.add_argument("--name", help="task name (default: from the file name)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")


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
