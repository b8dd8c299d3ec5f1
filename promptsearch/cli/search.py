"""CLI commands that search: run, worker, validate."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from promptsearch.api import open_store, run_prepared
from promptsearch.cli.options import (
    LM_CALLS,
    MAX_ERROR_RATE,
    THREADS,
    bounded,
    console_for,
    with_overrides,
)
from promptsearch.cli.plan import existing_store, plan_paragraph
from promptsearch.cli.progress import ProgressObserver, phase_lines, progress_display
from promptsearch.pipeline.plan import make_plan, static_warnings
from promptsearch.pipeline.prepare import prepare
from promptsearch.pipeline.workers import coordinate, work
from promptsearch.report import leaderboard, run_leaderboard, to_markdown, to_rich_table
from promptsearch.search.registry import STRATEGIES
from promptsearch.storage import versions
from promptsearch.storage.store import default_url
from promptsearch.task.config import load_task


def add_commands(sub, common) -> None:
    run = sub.add_parser("run", parents=[common], help="search a task, then print its leaderboard",
                         description="Search the prompt space of TASK within its budget, score "
                                     "the finalists on test, write DIR/<task>/best.json.")
    run.add_argument("task", help="path to task.yaml")
    run.add_argument("--resume", action="store_true",
                     help="continue the latest run of this task config and seed")
    run.add_argument("--strategy", choices=STRATEGIES,
                     help="override search.strategy")
    run.add_argument("--lm-calls", type=LM_CALLS, metavar="N",
                     help="override search.budget.lm_calls")
    run.add_argument("--threads", type=THREADS, metavar="N", help="CPU threads for local models")
    run.add_argument("--max-error-rate", type=MAX_ERROR_RATE, metavar="R",
                     help="stop (exit 4, results kept, no lock written) once this share of dev "
                          "calls has failed after retries (default: search.max_error_rate, 0.5)")
    run.add_argument("--quiet", action="store_true", help="no plan, no progress display")
    run.add_argument("--promote", choices=("significant", "always", "never"),
                     default="significant",
                     help="when the winner becomes the task's new version (and best.json): "
                          "significant (default) if it beats the latest version on the same "
                          "test examples by a one-sided paired test at 0.05; always; never. A "
                          "task's first run, or changed data, always records one")
    run.add_argument("--workers", type=bounded(int, ge=0, le=256), metavar="N",
                     help="share the search with worker processes: start N of them here (0: "
                          "start none, `promptsearch worker` joins from anywhere), wait for the "
                          "budget to be spent, then score the finalists and write the lock")
    run.add_argument("--run", metavar="RUN_ID", help="with --workers: the shared run to join")
    run.set_defaults(func=cmd_run)
    _worker_command(sub, common)

    validate = sub.add_parser("validate", parents=[common], help="check a task file and its data",
                              description="Check TASK (schema, data, templates, metric) "
                                          "without calling any model.")
    validate.add_argument("task", help="path to task.yaml")
    validate.set_defaults(func=cmd_validate)


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
    worker.add_argument("--lm-calls", type=LM_CALLS, metavar="N",
                        help="override search.budget.lm_calls")
    worker.add_argument("--max-error-rate", type=MAX_ERROR_RATE, metavar="R",
                        help="this worker stops once this share of its calls fails")
    worker.add_argument("--threads", type=THREADS, metavar="N", help="CPU threads for local models")
    worker.add_argument("--heartbeat", type=bounded(float, gt=0, le=3600), default=5.0, metavar="S",
                        help="seconds between heartbeats; a worker 3 beats late is dead and its "
                             "key is finished by another (default: 5)")
    worker.add_argument("--quiet", action="store_true", help="no progress display")
    worker.set_defaults(func=cmd_worker)


def cmd_run(args, console: Console) -> int:
    task = with_overrides(load_task(args.task), args)
    prepared = prepare(task, None, args.threads)  # all input checked before the store is touched
    errors = console_for(stderr=True)
    if not args.quiet:
        _announce(errors, prepared, args)
    store = open_store(args.results, args.storage)
    with progress_display("", errors, args.quiet, budget_bar=True) as progress:
        observer = ProgressObserver(progress, task.config.search.budget.lm_calls,
                                    lines=phase_lines(errors, args.quiet))
        if args.workers is None:
            result = run_prepared(prepared, store, args.results, resume=args.resume,
                                  observer=observer, promote=args.promote)
        else:
            result = _coordinate(prepared, store, args, observer)
        observer.on_phase("done")
    _print_run(console, task.name, store, result)
    _write_markdown(store, Path(args.results))
    return 0


def _announce(errors: Console, prepared, args) -> None:
    """The plan in a paragraph, and its warnings, before the first call (no probe: the run
    itself is about to measure the model)."""
    plan = make_plan(prepared, existing_store(args.results, args.storage), probe=False)
    errors.print(plan_paragraph(plan), highlight=False, soft_wrap=True)
    for warning in plan.warnings:
        errors.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


def _coordinate(prepared, store, args, observer):
    """`run --workers N`: this process coordinates a shared run (and starts N workers)."""
    storage = args.storage or default_url(Path(args.results))
    prepared.lm.cache = prepared.proposer.cache = store
    worker_args = (args.task, "--results", args.results, "--storage", storage,
                   *_override_args(args))
    return coordinate(prepared, store, Path(args.results), run_id=args.run, observer=observer,
                      workers=args.workers, worker_args=worker_args, promote=args.promote)


def _override_args(args) -> list[str]:
    """The command-line overrides a spawned worker must share with its coordinator."""
    pairs = (("--strategy", args.strategy), ("--lm-calls", args.lm_calls),
             ("--max-error-rate", args.max_error_rate), ("--threads", args.threads))
    return [item for flag, value in pairs if value is not None for item in (flag, str(value))]


def cmd_worker(args, console: Console) -> int:
    task = with_overrides(load_task(args.task), args)
    prepared = prepare(task, None, args.threads)  # all input checked before the store is touched
    store = open_store(args.results, args.storage)
    prepared.lm.cache = prepared.proposer.cache = store
    errors = console_for(stderr=True)
    with progress_display("worker", errors, args.quiet, budget_bar=False) as progress:
        observer = ProgressObserver(progress, None, lines=phase_lines(errors, args.quiet))
        result = work(prepared, store, run_id=args.run, heartbeat_s=args.heartbeat,
                      observer=observer)
    console.print(f"worker {result.worker_id or '-'} of run {result.run_id}: {result.trials} "
                  f"candidates, {result.lm_calls} LM calls; {result.stopped}", highlight=False)
    return 0


def _print_run(console: Console, name: str, store, result) -> None:
    frame = run_leaderboard(store, result.run_id)
    console.print(to_rich_table(frame, title=f"{name} · run {result.run_id} · {result.stopped}",
                                hide=("origin",)))
    spent = result.lock["spent"]
    console.print(
        f"search: {spent['lm_calls']} LM calls ({spent['proposer_calls']} proposer"
        + (f", {spent['judge_calls']} judge" if spent.get("judge_calls") else "") + "), "
        f"{spent['model_calls']} reached the model, {spent['test_calls']} test calls, "
        f"{spent['tokens']} tokens, {spent['seconds']:.0f} s", highlight=False)
    if spent.get("errors"):
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(spent["errors"].items()))
        console.print(f"failed calls (after retries): {sum(spent['errors'].values())} ({kinds}); "
                      f"{spent['error_retry_calls']} asked again after the search; "
                      f"{spent['incomplete_keys']} keys still short of answers, never ranked",
                      highlight=False)
    if result.version is not None:
        console.print(f"winner {result.lock['key_id']}: version {result.version} of {name} → "
                      f"{result.lock_path} ({result.promotion})", highlight=False)
    else:
        latest = versions.latest_for_model(store, name, result.lock["model"])
        console.print(f"winner {result.lock['key_id']} (test {result.lock['scores']['test']:.3f})"
                      f" is not a new version; version {latest['version']} (test "
                      f"{latest['scores']['test']:.3f}) stays: {result.promotion}; lock file "
                      "unchanged", highlight=False)


def _write_markdown(store, results: Path) -> None:
    frame = leaderboard(store)
    if not frame.empty:  # the folder may not exist yet: with --storage, only locks make it
        results.mkdir(parents=True, exist_ok=True)
        (results / "leaderboard.md").write_text("# promptsearch leaderboard\n\n"
                                                + to_markdown(frame), encoding="utf-8")


def cmd_validate(args, console: Console) -> int:
    task = load_task(args.task)
    prepared = prepare(task, store=None)
    data = prepared.dataset
    kind = f"label task ({', '.join(data.labels)})" if data.labels else "generation task"
    if data.fields:
        kind = "structured task (JSON: " + ", ".join(f"{n} {t}" for n, t in data.fields) + ")"
    console.print(f"{args.task}: ok — {task.name}: {kind}; {len(data.pool)} demo pool, "
                  f"{len(data.dev)} dev, {len(data.test)} test; model {task.config.model_label()} "
                  f"({prepared.style}-style prompts); metric {prepared.metric.name}; "
                  f"{len(prepared.space.instructions)} instructions, "
                  f"{len(prepared.space.formats)} formats", highlight=False, soft_wrap=True)
    for warning in static_warnings(prepared):
        console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    return 0
