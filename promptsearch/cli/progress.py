"""The live progress line of `run` and `worker`."""

from __future__ import annotations

from typing import Optional

from rich.progress import Progress

from promptsearch.evaluation.budget import BudgetMeter
from promptsearch.search.loop import Observer, TrialResult


class ProgressObserver(Observer):
    """A live line: phase, LM calls used of the budget, candidates tried, best dev so far, and
    calls failed after retries (with the last kind), read at every refresh."""

    def __init__(self, progress: Progress, budget: int | None):
        self.progress = progress
        self.task_id = progress.add_task("preparing", total=budget, trials=0, best="–",
                                         errors=LiveErrors(None))

    def on_start(self, meter: BudgetMeter) -> None:
        self.progress.update(self.task_id, errors=LiveErrors(meter))

    def on_phase(self, phase: str) -> None:
        self.progress.update(self.task_id, description=phase)

    def on_trial(self, result: TrialResult, meter: BudgetMeter) -> None:
        best = "–" if result.best_score is None else f"{result.best_score:.3f}"
        self.progress.update(self.task_id, completed=meter.spent.lm_calls,
                             trials=meter.spent.trials, best=best)


class LiveErrors:
    """Formats as ' · N errors (last: kind)' from the meter's live counts, or as nothing."""

    def __init__(self, meter: Optional[BudgetMeter]):
        self.meter = meter

    def __format__(self, spec: str) -> str:
        errors = sum(self.meter.errors().values()) if self.meter else 0
        if not errors:
            return ""
        return f" · [red]{errors} errors[/] (last: {self.meter.last_error_kind()})"
