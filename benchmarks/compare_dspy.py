"""A DSPy contender as a DSPy user runs it: DSPy's optimizer compiles a dspy.Predict program on
the task's train/dev split with the task's metric, then the compiled program answers the test
set in DSPy's own structured format. The LM is reached through the same litellm provider and
every call is counted (and capped) at the budget before it reaches the model."""

from __future__ import annotations

import time

from promptsearch.core.stats import Answers, score_interval
from promptsearch.evaluation.budget import BudgetMeter
from promptsearch.pipeline.prepare import prepare
from promptsearch.search.base import Context
from promptsearch.search.strategies.dspy import dspy_strategy, score_program


def run_dspy(task, optimizer: str, budget: int, threads: int) -> tuple[dict, list[tuple], dict]:
    """The contender's row fields, its budget curve [(LM calls, best dev so far)] and its test
    score per example id."""
    prepared = prepare(task, None, threads)
    meter = BudgetMeter(lm_calls=budget)
    context = Context(prepared.space, task.config.search.seed, prepared.proposer, meter,
                      dev=prepared.dataset.dev, task_model=prepared.lm, metric=prepared.metric)
    strategy = dspy_strategy(optimizer)(context)
    started = time.monotonic()
    program = strategy.optimize(reserve=0)
    search_seconds = time.monotonic() - started
    scores, failures = score_program(program, context, prepared.dataset.test)
    # the scores of a per-example metric, which is all the compared tasks use
    low, high = score_interval(prepared.metric, Answers([None] * len(scores), [
        example.target for example in prepared.dataset.test], scores))
    row = {"test": sum(scores) / len(scores), "test_lo": low, "test_hi": high,
           "lm_calls": meter.spent.lm_calls, "proposer_calls": meter.spent.proposer_calls,
           "tokens": strategy.tokens(), "seconds": round(search_seconds, 1),
           "parse_failures": failures,
           "search_parse_failures": meter.spent.parse_failures,
           "note": strategy.failure or _cap_note(strategy)}
    by_example = {example.id: score for example, score in zip(prepared.dataset.test, scores)}
    return row, curve(strategy.evaluations, len(prepared.dataset.dev)), by_example


def curve(evaluations: list[tuple[int, float]], dev_size: int) -> list[tuple[int, float]]:
    """DSPy scores programs example by example; every `dev_size` consecutive evaluation scores
    are read as one program's dev score (true for full evaluations, an approximation when an
    optimizer scores minibatches)."""
    points, best = [], None
    for start in range(0, len(evaluations) - dev_size + 1, dev_size):
        block = evaluations[start:start + dev_size]
        score = sum(value for _, value in block) / dev_size
        best = score if best is None else max(best, score)
        points.append((block[-1][0], best))
    return points


def _cap_note(strategy) -> str:
    if not strategy.stopped_at_cap:
        return ""
    return (f"stopped by the cap at {strategy.context.meter.spent.lm_calls} calls "
            "(its light preset plans more), with its best program so far")
