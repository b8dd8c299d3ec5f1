"""The live progress line of `run`, `worker` and `verify`; in a pipe or a CI log, where a live
line cannot redraw, a line per phase as it ends."""

from __future__ import annotations

import time
from typing import Optional

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from promptsearch.evaluation.budget import BudgetMeter
from promptsearch.search.loop import Observer, TrialResult


def progress_display(label: str, console: Console, quiet: bool, budget_bar: bool,
                     searching: bool = True) -> Progress:
    """A live line on a terminal; disabled (ProgressObserver prints phase lines) elsewhere.
    Without `searching` (verify) it shows the phase and the examples answered alone."""
    if not searching:
        columns = [TextColumn("[bold]{task.description}[/]{task.fields[examples]}")]
    else:
        columns = [TextColumn(f"[bold]{label}" if label else "[bold]{task.description:<12}")]
        columns += [BarColumn()] if budget_bar else []
        columns += [MofNCompleteColumn(),
                    TextColumn("LM calls · {task.fields[trials]} candidates · best dev "
                               "{task.fields[best]}{task.fields[errors]}{task.fields[examples]}")]
    columns.append(TimeElapsedColumn())
    return Progress(*columns, console=console, disable=quiet or not console.is_terminal,
                    transient=False)


def phase_lines(console: Console, quiet: bool) -> Optional[Console]:
    """Where phase lines go: nowhere with --quiet or on a terminal (the live line shows it)."""
    return None if quiet or console.is_terminal else console


class ProgressObserver(Observer):
    """A live line: phase, LM calls used of the budget, candidates tried, best dev so far,
    calls failed after retries (with the last kind), and while testing the examples answered.
    With `lines` (no terminal), each phase is printed as one line when it ends."""

    def __init__(self, progress: Progress, budget: int | None,
                 lines: Optional[Console] = None):
        self.progress, self.lines = progress, lines
        self.examples = LiveExamples()
        self.task_id = progress.add_task("preparing", total=budget, trials=0, best="–",
                                         errors=LiveErrors(None), examples=self.examples)
        self.phase, self.phase_started, self.started = "preparing", time.monotonic(), \
            time.monotonic()
        self.meter: Optional[BudgetMeter] = None
        self.best = "–"

    def on_start(self, meter: BudgetMeter, best: Optional[float] = None) -> None:
        self.meter = meter
        if best is not None:  # a resumed run: what the earlier sessions found
            self.best = f"{best:.3f}"
        self.progress.update(self.task_id, errors=LiveErrors(meter), best=self.best,
                             completed=meter.spent.lm_calls, trials=meter.spent.trials)

    def on_phase(self, phase: str, examples: Optional[int] = None) -> None:
        self._phase_ended()
        self.phase, self.phase_started = phase, time.monotonic()
        self.examples.start(examples)
        self.progress.update(self.task_id, description=phase)

    def on_answer(self) -> None:
        self.examples.done += 1

    def on_trial(self, result: TrialResult, meter: BudgetMeter) -> None:
        if result.best_score is not None:
            self.best = f"{result.best_score:.3f}"
        self.progress.update(self.task_id, completed=meter.spent.lm_calls,
                             trials=meter.spent.trials, best=self.best)

    def _phase_ended(self) -> None:
        if self.lines is None or self.phase == "preparing":
            return
        spent = self.meter.spent if self.meter is not None else None
        parts = [f"{self.phase} done in {time.monotonic() - self.phase_started:.0f} s"]
        if spent is not None:  # a search: what it has spent and found
            parts += [f"{spent.lm_calls} LM calls", f"{spent.trials} candidates"]
        if self.examples.total:
            parts.append(f"{self.examples.done} examples")
        if spent is not None:
            parts.append(f"best dev {self.best}")
        parts.append(f"{time.monotonic() - self.started:.0f} s in all")
        self.lines.print(" · ".join(parts), highlight=False)


class LiveExamples:
    """Formats as ' · N/M examples' while a testing phase runs, or as nothing."""

    def __init__(self):
        self.done, self.total = 0, None

    def start(self, total: Optional[int]) -> None:
        self.done, self.total = 0, total

    def __format__(self, spec: str) -> str:
        return f" · {self.done}/{self.total} examples" if self.total else ""


class LiveErrors:
    """Formats as ' · N errors (last: kind)' from the meter's live counts, or as nothing."""

    def __init__(self, meter: Optional[BudgetMeter]):
        self.meter = meter

    def __format__(self, spec: str) -> str:
        errors = sum(self.meter.errors().values()) if self.meter else 0
        if not errors:
            return ""
        return f" · [red]{errors} errors[/] (last: {self.meter.last_error_kind()})"
