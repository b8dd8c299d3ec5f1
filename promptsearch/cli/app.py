"""CLI commands for prompts in apps: versions, promote, verify, export, eval, init."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from promptsearch.api import load_best, open_store
from promptsearch.cli.options import THREADS, bounded, console_for, model_option, with_model
from promptsearch.cli.progress import ProgressObserver, phase_lines, progress_display
from promptsearch.errors import EXIT_REGRESSION, InputError
from promptsearch.export.python import json_lock, python_module
from promptsearch.pipeline.side_by_side import compare
from promptsearch.pipeline.verify import lock_files, verify_lock
from promptsearch.storage import versions
from promptsearch.task.config import load_task
from promptsearch.task.starter import starter_yaml, task_name


def add_commands(sub, common) -> None:
    listing = sub.add_parser("versions", parents=[common], help="a task's versions and aliases",
                             description="Every recorded version of TASK's best key (a run "
                                         "that beat the latest version on test adds one), with "
                                         "its aliases.")
    listing.add_argument("task", help="task name")
    listing.set_defaults(func=cmd_versions)

    promote = sub.add_parser("promote", parents=[common], help="point an alias at a version",
                             description="Point ALIAS (e.g. production) at VERSION of TASK; "
                                         "apps then load it with load_best(\"TASK@ALIAS\").")
    promote.add_argument("task", help="task name")
    promote.add_argument("version", help="version number, an existing alias, or latest")
    promote.add_argument("--alias", required=True, help="the alias to set, e.g. production")
    promote.set_defaults(func=cmd_promote)

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
    verify.add_argument("--threads", type=THREADS, metavar="N",
                        help="CPU threads for local models")
    verify.add_argument("--quiet", action="store_true", help="no progress display")
    verify.add_argument("--alpha", type=bounded(float, gt=0, lt=1), default=0.05, metavar="A",
                        help="significance level of the one-sided paired test (default: 0.05)")
    verify.add_argument("--tolerance", type=bounded(float, ge=0, le=1), metavar="T",
                        help="also fail when the drop in score exceeds T, e.g. 0.05 (default: "
                             "only a significant drop fails)")
    verify.set_defaults(func=cmd_verify)

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
    evaluate.add_argument("--model", type=model_option, metavar="MODEL",
                          help="score on this model instead of the task's (e.g. a stored key "
                               "on another model: --key TASK --model openai/gpt-4o-mini)")
    evaluate.add_argument("--show", type=bounded(int, ge=0), default=0, metavar="N",
                          help="also print the answers to the first N examples (a reply that "
                               "holds no answer is shown as the model wrote it, shortened)")
    evaluate.add_argument("--threads", type=THREADS, metavar="N",
                          help="CPU threads for local models")
    evaluate.set_defaults(func=cmd_eval)

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
    export.set_defaults(func=cmd_export)

    init = sub.add_parser("init", help="write a starter task.yaml from a dataset",
                          description="Guess the input and target columns, the label set and a "
                                      "metric from DATAFILE and write a task file that validate "
                                      "accepts and run runs.")
    init.add_argument("datafile", help="a .jsonl, .json, .csv, .tsv or .parquet file")
    init.add_argument("--out", default="task.yaml", help="where to write (default: task.yaml)")
    init.add_argument("--name", help="task name (default: the file's name without its extension, "
                                     "e.g. reviews for reviews.csv; for a file named train, "
                                     "data, dataset, all or examples, its folder's name)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=cmd_init)


def cmd_versions(args, console: Console) -> int:
    store = open_store(args.results, args.storage, read_only=True)
    recorded = store.list_versions(args.task)
    if not recorded:
        console.print(f"no versions of {args.task} yet", highlight=False)
        return 0
    by_version: dict[int, list[str]] = {}
    for alias, number in store.aliases_of(args.task).items():
        by_version.setdefault(number, []).append(alias)
    table = Table(title=f"{args.task} · versions")
    for column in ("version", "aliases", "model", "strategy", "test [95% CI]", "key", "run"):
        table.add_column(column)
    for row in recorded:
        lock = row["lock"]
        low, high = lock["scores"]["test_ci"]
        table.add_row(str(row["version"]), ", ".join(sorted(by_version.get(row["version"], []))),
                      row["model"], lock["strategy"],
                      f"{lock['scores']['test']:.3f} [{low:.2f}, {high:.2f}]", lock["key_id"],
                      row["run_id"])
    console.print(table)
    return 0


def cmd_promote(args, console: Console) -> int:
    store = open_store(args.results, args.storage)
    number = versions.promote(store, args.task, args.version, args.alias)
    console.print(f"{args.task}@{args.alias} → version {number}; load it with "
                  f"load_best(\"{args.task}@{args.alias}\")", highlight=False)
    return 0


def cmd_verify(args, console: Console) -> int:
    # Answers come from the model; only --cached reads the store (never writing to it), so a
    # CI job with the lock files alone needs no store at all.
    store = open_store(args.results, args.storage, read_only=True) if args.cached else None
    table = Table(title="promptsearch verify")
    for column in ("task", "version", "recorded test", "now [95% CI]", "drop [95% CI]",
                   "decided by", "result"):
        table.add_column(column)
    failed = 0
    errors = console_for(stderr=True)
    with progress_display("", errors, args.quiet, budget_bar=False,
                          searching=False) as progress:
        observer = ProgressObserver(progress, None, lines=phase_lines(errors, args.quiet))
        for path in lock_files(Path(args.results), args.tasks):
            verdict = verify_lock(path, store, use_cache=args.cached, threads=args.threads,
                                  alpha=args.alpha, tolerance=args.tolerance, observer=observer)
            if verdict.data_changed:
                errors.print(f"warning: {verdict.task}: the test data changed since the search "
                             "(dataset hash differs); the new score decides", highlight=False)
            failed += not verdict.passed
            table.add_row(*_verdict_cells(verdict))
        observer.on_phase("done")
    console.print(table)
    if failed:
        console.print(f"{failed} task(s) regressed: a significant drop (alpha {args.alpha:g}) "
                      "on the recorded test examples"
                      + (f", or one above --tolerance {args.tolerance:g}" if args.tolerance
                         is not None else ""), highlight=False)
        return EXIT_REGRESSION
    return 0


def _verdict_cells(verdict) -> tuple[str, ...]:
    low, high = verdict.score_ci
    return (verdict.task, str(verdict.version or "–"), f"{verdict.recorded:.3f}",
            f"{verdict.score:.3f} [{low:.2f}, {high:.2f}]", _drop_cell(verdict), verdict.how,
            "[green]ok[/]" if verdict.passed else "[bold red]REGRESSED[/]")


def _drop_cell(verdict) -> str:
    if verdict.paired is None:
        return f"{verdict.drop:+.3f} (CI low {verdict.lower_bound:.3f})"
    return f"{verdict.drop:+.3f} [{verdict.paired.low:+.2f}, {verdict.paired.high:+.2f}]"


def cmd_eval(args, console: Console) -> int:
    if not args.prompt and not args.key:
        raise InputError("nothing to score", field="--prompt", fix="give --prompt TEXT or --key")
    task = with_model(load_task(args.task), args.model)
    keys = [(ref, load_best(ref, args.results, args.storage).key) for ref in args.key or []]
    store = open_store(args.results, args.storage)
    columns, examples = compare(task, store, args.prompt or [], keys, args.split, args.threads)
    summary = Table(title=f"{task.name} · {task.config.model_label()} · {len(examples)} "
                          f"{args.split} examples")
    for name in ("", "prompt", "score [95% CI]", "errors", "unparseable", "LM calls"):
        summary.add_column(name)
    for column in columns:
        low, high = column.ci
        key = column.key
        preview = (key.preview(70) if key.instruction else "template: " + key.format)
        preview = preview.replace("\n", "⏎ ")
        summary.add_row(column.label, preview[:70] + ("…" if len(preview) > 70 else ""),
                        f"{column.result.score or 0:.3f} [{low:.2f}, {high:.2f}]",
                        str(column.result.errors), str(column.result.unparseable),
                        str(column.result.lm_calls))
    console.print(summary)
    if args.show:
        console.print(_matrix(columns, examples[:args.show]))
    return 0


def _matrix(columns, examples) -> Table:
    """Each example a row, each prompt a column: its answer, ✓ or ✗, and the metric's feedback
    where it gave some."""
    table = Table(title="answers (✓ right, ✗ wrong)")
    table.add_column("input")
    table.add_column("target")
    for column in columns:
        table.add_column(column.label)
    for index, example in enumerate(examples):
        cells = []
        for column in columns:
            score = column.result.scores[index]
            answer = column.result.predictions[index]
            mark = "·" if score is None else "✓" if score >= 1.0 else "✗"
            note = column.result.feedback[index] if column.result.feedback else None
            cells.append(f"{mark} {answer if answer is not None else _raw(column, index)}"
                         + (f" — {note}" if note else ""))
        text = " | ".join(example.inputs.values())
        table.add_row(text[:50], example.target, *cells)
    return table


def _raw(column, index: int) -> str:
    """What the model wrote when it held no answer (or the error), shortened for a cell."""
    reply = column.result.replies[index] if column.result.replies else None
    text = " ".join((reply or "").split()) or "(empty reply)"
    return "unparsed: " + (text if len(text) <= 40 else text[:39] + "…")


def cmd_init(args, console: Console) -> int:
    data, out = Path(args.datafile), Path(args.out)
    if out.exists() and not args.force:
        raise InputError("exists already", source=str(out), fix="pass --force or another --out")
    text = starter_yaml(data, out, args.name or task_name(data))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(text, markup=False, highlight=False, end="", soft_wrap=True)
    console.print(f"wrote {out}; next: promptsearch validate {out} && promptsearch run {out}",
                  highlight=False, soft_wrap=True)
    return 0


def cmd_export(args, console: Console) -> int:
    best = load_best(args.task, args.results, args.storage)
    if args.format == "dspy":
        # Imported here: DSPy is heavy to import, and only this format needs it.
        from promptsearch.export.dspy import save_dspy

        out = Path(args.out or f"{best.lock['task']}_dspy.json")
        save_dspy(best, out)
    else:
        text = json_lock(best.lock) if args.format == "json" else python_module(best.lock)
        suffix = ".json" if args.format == "json" else "_prompt.py"
        out = Path(args.out or f"{best.lock['task']}{suffix}")
        out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out}", highlight=False)
    return 0
