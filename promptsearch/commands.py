"""What each CLI command does: call the library, render the result. Kept apart from argparse."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import versions
from .api import load_best, open_store, run
from .commands_app import (cmd_eval, cmd_export, cmd_init,  # noqa: F401  (cli dispatch)
                           cmd_promote, cmd_report, cmd_verify, cmd_versions)
from .config import load_task
from .report import leaderboard, run_leaderboard, to_markdown, to_rich_table
from .runner import prepare
from .report.render import _p
from .search.loop import Observer
from .store import default_url
from .workers import coordinate, work


class ProgressObserver(Observer):
    """A live line: phase, LM calls used of the budget, candidates tried, best dev so far, and
    calls failed after retries (with the last kind), read at every refresh."""

    def __init__(self, progress: Progress, budget: int | None):
        self.progress = progress
        self.task_id = progress.add_task("preparing", total=budget, trials=0, best="–",
                                         errors=LiveErrors(None))

    def on_start(self, meter) -> None:
        self.progress.update(self.task_id, errors=LiveErrors(meter))

    def on_phase(self, phase: str) -> None:
        self.progress.update(self.task_id, description=phase)

    def on_trial(self, result, meter) -> None:
        best = "–" if result.best_score is None else f"{result.best_score:.3f}"
        self.progress.update(self.task_id, completed=meter.spent.lm_calls,
                             trials=meter.spent.trials, best=best)


class LiveErrors:
    """Formats as ' · N errors (last: kind)' from the meter's live counts, or as nothing."""

    def __init__(self, meter):
        self.meter = meter

    def __format__(self, spec: str) -> str:
        errors = sum(self.meter.errors().values()) if self.meter else 0
        if not errors:
            return ""
        return f" · [red]{errors} errors[/] (last: {self.meter.last_error_kind()})"


def _with_overrides(task, args):
    config = task.config
    search = config.search
    if args.strategy:
        search = search.model_copy(update={"strategy": args.strategy})
    if args.lm_calls:
        search = search.model_copy(update={
            "budget": search.budget.model_copy(update={"lm_calls": args.lm_calls})})
    if args.max_error_rate is not None:
        search = search.model_copy(update={"max_error_rate": args.max_error_rate})
    return task.model_copy(update={"config": config.model_copy(update={"search": search})})


def cmd_run(args, console: Console) -> int:
    task = _with_overrides(load_task(args.task), args)
    columns = [TextColumn("[bold]{task.description:<12}"), BarColumn(),
               MofNCompleteColumn(), TextColumn("LM calls · {task.fields[trials]} candidates · "
                                                "best dev {task.fields[best]}"
                                                "{task.fields[errors]}"),
               TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True), disable=args.quiet,
                  transient=False) as progress:
        observer = ProgressObserver(progress, task.config.search.budget.lm_calls)
        if args.workers is None:
            result = run(task, results_dir=args.results, storage=args.storage,
                         resume=args.resume, observer=observer, threads=args.threads,
                         promote=args.promote)
        else:
            result = _coordinate(task, args, observer)
        observer.on_phase("done")
    store = open_store(args.results, args.storage)
    _print_run(console, task.name, store, result)
    _write_markdown(store, Path(args.results))
    return 0


def _coordinate(task, args, observer):
    """`run --workers N`: this process coordinates a shared run (and starts N workers)."""
    prepared = prepare(task, None, args.threads)
    storage = args.storage or default_url(Path(args.results))
    store = open_store(args.results, storage)
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
    task = _with_overrides(load_task(args.task), args)
    prepared = prepare(task, None, args.threads)  # all input checked before the store is touched
    store = open_store(args.results, args.storage)
    prepared.lm.cache = prepared.proposer.cache = store
    columns = [TextColumn("[bold]worker"), MofNCompleteColumn(),
               TextColumn("LM calls · {task.fields[trials]} candidates · best dev "
                          "{task.fields[best]}{task.fields[errors]}"), TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True), disable=args.quiet) as progress:
        observer = ProgressObserver(progress, None)
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
        f"search: {spent['lm_calls']} LM calls ({spent['proposer_calls']} proposer), "
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
    console.print(f"{args.task}: ok — {task.name}: {kind}; {len(data.pool)} demo pool, "
                  f"{len(data.dev)} dev, {len(data.test)} test; model {task.config.model}; "
                  f"metric {task.config.metric}; {len(prepared.space.instructions)} instructions, "
                  f"{len(prepared.space.formats)} formats", highlight=False)
    return 0


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
                      f"({_p(base['p_value'])})", highlight=False)
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
    from .templates import fields_used
    return sorted(fields_used(key.format) | fields_used(key.instruction)) or ["input"]
