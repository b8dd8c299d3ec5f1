"""CLI commands for prompts in apps: versions, promote, verify, export, eval, init."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from . import versions
from .api import open_store
from .errors import EXIT_REGRESSION
from .verify import lock_files, verify_lock


def cmd_versions(args, console: Console) -> int:
    store = open_store(args.results, args.storage)
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
    store = open_store(args.results, args.storage)
    table = Table(title="promptsearch verify")
    for column in ("task", "version", "recorded test", "now [95% CI]", "drop [95% CI]",
                   "decided by", "result"):
        table.add_column(column)
    failed = 0
    for path in lock_files(Path(args.results), args.tasks):
        verdict = verify_lock(path, store, use_cache=args.cached, threads=args.threads,
                              alpha=args.alpha, tolerance=args.tolerance)
        if verdict.data_changed:
            console.print(f"warning: {verdict.task}: the test data changed since the search "
                          "(dataset hash differs); the new score decides", highlight=False)
        failed += not verdict.passed
        low, high = verdict.score_ci
        table.add_row(verdict.task, str(verdict.version or "–"), f"{verdict.recorded:.3f}",
                      f"{verdict.score:.3f} [{low:.2f}, {high:.2f}]", _drop_cell(verdict),
                      verdict.how, "[green]ok[/]" if verdict.passed else "[bold red]REGRESSED[/]")
    console.print(table)
    if failed:
        console.print(f"{failed} task(s) regressed: a significant drop (alpha {args.alpha:g}) "
                      "on the recorded test examples"
                      + (f", or one above --tolerance {args.tolerance:g}" if args.tolerance
                         is not None else ""), highlight=False)
        return EXIT_REGRESSION
    return 0


def _drop_cell(verdict) -> str:
    if verdict.paired is None:
        return f"{verdict.drop:+.3f} (CI low {verdict.lower_bound:.3f})"
    return f"{verdict.drop:+.3f} [{verdict.paired.low:+.2f}, {verdict.paired.high:+.2f}]"


def cmd_eval(args, console: Console) -> int:
    from .api import load_best
    from .config import load_task
    from .errors import InputError
    from .side_by_side import compare

    if not args.prompt and not args.key:
        raise InputError("nothing to score", field="--prompt", fix="give --prompt TEXT or --key")
    task = load_task(args.task)
    keys = [(ref, load_best(ref, args.results, args.storage).key) for ref in args.key or []]
    store = open_store(args.results, args.storage)
    columns, examples = compare(task, store, args.prompt or [], keys, args.split, args.threads)
    summary = Table(title=f"{task.name} · {len(examples)} {args.split} examples")
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
    """Each example a row, each prompt a column: its answer, ✓ or ✗."""
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
            cells.append(f"{mark} {answer if answer is not None else '∅'}")
        text = " | ".join(example.inputs.values())
        table.add_row(text[:50], example.target, *cells)
    return table


def cmd_init(args, console: Console) -> int:
    from .errors import InputError
    from .starter import starter_yaml, task_name

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


def cmd_report(args, console: Console) -> int:
    from .report.html import write_report

    store = open_store(args.results, args.storage)
    path = write_report(store, Path(args.html or Path(args.results) / "report.html"),
                        args.tasks or None)
    console.print(f"wrote {path}", highlight=False)
    return 0


def cmd_export(args, console: Console) -> int:
    from .api import load_best
    from .export import json_lock, python_module

    best = load_best(args.task, args.results, args.storage)
    if args.format == "dspy":
        from .export_dspy import save_dspy

        out = Path(args.out or f"{best.lock['task']}_dspy.json")
        save_dspy(best, out)
    else:
        text = json_lock(best.lock) if args.format == "json" else python_module(best.lock)
        suffix = ".json" if args.format == "json" else "_prompt.py"
        out = Path(args.out or f"{best.lock['task']}{suffix}")
        out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out}", highlight=False)
    return 0
