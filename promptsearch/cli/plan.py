"""`promptsearch plan`: what a search will spend and what it can tell apart, before it runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

from rich.console import Console
from rich.table import Table

from promptsearch.cli.options import LM_CALLS, with_overrides
from promptsearch.pipeline.plan import Plan, make_plan
from promptsearch.pipeline.prepare import prepare
from promptsearch.search.registry import STRATEGIES
from promptsearch.storage.connect import default_url, sqlite_path
from promptsearch.storage.store import Store
from promptsearch.task.config import load_task


def add_commands(sub, common) -> None:
    plan = sub.add_parser(
        "plan", parents=[common], help="calls, time, cost and detectable difference of a run",
        description="Before spending anything: the LM calls of each phase of TASK's search, the "
                    "candidates its budget allows, the time and cost they take, the smallest "
                    "difference in score its dev and test sets can detect, and warnings. The "
                    "model's speed comes from the store's earlier runs, else a probe of a few "
                    "calls (--no-probe skips it, e.g. for paid APIs).")
    plan.add_argument("task", help="path to task.yaml")
    plan.add_argument("--no-probe", action="store_true",
                      help="make no model call: time only from earlier runs in the store")
    plan.add_argument("--strategy", choices=STRATEGIES, help="override search.strategy")
    plan.add_argument("--lm-calls", type=LM_CALLS, metavar="N",
                      help="override search.budget.lm_calls")
    plan.add_argument("--format", choices=("table", "json"), default="table",
                      help="json: only the JSON document on stdout")
    plan.set_defaults(func=cmd_plan)


def existing_store(results: str, storage: Optional[str]) -> Optional[Store]:
    """The store read-only, or None where no SQLite store exists yet (nothing is created)."""
    url = storage or default_url(Path(results))
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        return None
    return Store(url, read_only=True)


def cmd_plan(args, console: Console) -> int:
    task = with_overrides(load_task(args.task), args)
    prepared = prepare(task, None)
    plan = make_plan(prepared, existing_store(args.results, args.storage),
                     probe=not args.no_probe)
    if args.format == "json":
        sys.stdout.write(json.dumps(plan.as_dict(), indent=2) + "\n")
        return 0
    print_plan(console, plan)
    return 0


def print_plan(console: Console, plan: Plan) -> None:
    table = Table(title=f"plan · {plan.task} on {plan.model} · strategy {plan.strategy}")
    for column in ("phase", "LM calls", "budget", "what"):
        table.add_column(column)
    for phase in plan.phases:
        table.add_row(phase.name, str(phase.calls), "in" if phase.in_budget else "outside",
                      phase.note)
    console.print(table)
    for line in plan_lines(plan):
        console.print(line, highlight=False, soft_wrap=True)


def plan_lines(plan: Plan) -> list[str]:
    racing = "on" if plan.racing else "off"
    lines = [f"candidates: about {plan.candidates} scored on all of dev "
             f"({plan.per_candidate:.1f} calls each; proposer calls {plan.per_candidate_source})"
             f", up to {plan.candidates_racing} with racing (racing is {racing})",
             f"tokens per call: prompt ~{plan.prompt_tokens[0]} (seed) to "
             f"~{plan.prompt_tokens[1]} (most demos); answer at most {plan.completion_tokens}"
             + (f" ({plan.reasoning_tokens} with reasoning)" if plan.reasoning_tokens else "")
             + f"; prompts in {plan.style} style",
             "time: " + _time_text(plan),
             "cost: " + _cost_text(plan)]
    lines += [f"detectable on {d.split} ({d.examples} examples): " + _rise_text(d)
              for d in plan.detectable]
    lines.append(f"  ({plan.formula}; base score {plan.detectable[0].base:.2f}: "
                 f"{plan.detectable[0].base_source})")
    lines += [f"[yellow]warning:[/] {warning}" for warning in plan.warnings]
    return lines


def _time_text(plan: Plan) -> str:
    if plan.seconds_per_call is None:
        return plan.speed_source
    return (f"{plan.seconds_per_call:.2f} s a call ({plan.speed_source}): search "
            f"~{_duration(plan.search_seconds)}, test ~{_duration(plan.test_seconds)}")


def _cost_text(plan: Plan) -> str:
    if plan.dollars is None:
        return "no price known for this model (local, or missing from litellm's table)"
    low, high = plan.dollars
    return f"{_usd(low)} to {_usd(high)} (litellm's prices; answers at their longest)"


def _usd(amount: float) -> str:
    return f"${amount:.2f}" if amount >= 1 else f"${amount:.3g}"


def _rise_text(detectable) -> str:
    if detectable.rise is None:
        return "no rise over the base score is found with 80% power"
    return f"a rise of {detectable.rise:.2f} over {detectable.base:.2f}"


def _duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return "?"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def plan_paragraph(plan: Plan) -> str:
    """The plan in one paragraph, as `run` prints it before searching."""
    phases = ", ".join(f"{p.calls} {p.name}" for p in plan.phases if p.in_budget and p.calls)
    rises = "; ".join(f"{d.split} ({d.examples}) tells apart "
                      + (f"a rise of {d.rise:.2f}" if d.rise is not None else "no rise")
                      for d in plan.detectable)
    time_text = _time_text(plan) if plan.seconds_per_call is not None else "time unknown"
    return (f"plan: {plan.search_calls} LM calls in the search ({phases}) and "
            f"{plan.test_calls} on test; about {plan.candidates} candidates (up to "
            f"{plan.candidates_racing} with racing, which is {'on' if plan.racing else 'off'}); "
            f"{time_text}; {rises} (alpha 0.05, power 0.8); prompts in {plan.style} style.")

