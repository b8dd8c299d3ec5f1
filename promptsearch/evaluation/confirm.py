"""Confirmation: before the winner is chosen, the top dev keys are scored again on examples held
back from the train pool, and ranked on all the examples each has answered.

Why: a search scores tens of keys on a small dev set (15-50 examples) and keeps the best, so the
winner is partly the luckiest (the winner's curse): its dev score overstates it, and a runner-up
is often better on test. Fresh examples, the same for every finalist, shrink the luck's share.
The calls come out of the search budget (a share of it is kept back while searching), so a run
with confirmation spends no more than one without.

It is off by default: measured on 12 `auto` runs (8 tasks on gemma-3-270m, 4 on
Qwen2.5-Coder-1.5B), re-scoring the three leaders on 15-25 more examples changed no winner (the
leaders are mostly variants of one key, as close on fresh examples as on dev), while a quarter
of the budget went to it instead of the search. docs/reference.md, "Confirmation".
"""

from __future__ import annotations

import random
from typing import Optional

from promptsearch.core.key import PromptKey
from promptsearch.evaluation.evaluate import KeyScore

CONFIRM_KEYS = 3       # the dev leaders scored again (finalize tests search.finalists)
MAX_BUDGET_SHARE = 0.25  # of the LM-call budget at most, so the search keeps most of it
MIN_EXAMPLES = 5       # fewer fresh examples than this would add more noise than they remove


def confirm_size(search, pool_size: int) -> int:
    """How many pool examples each finalist answers again (`search.confirm`, 0 by default),
    within the budget's share and the pool; 0 when too few are left to be worth their calls."""
    wanted = search.confirm
    calls = search.budget.lm_calls
    if calls is not None:
        wanted = min(wanted, int(calls * MAX_BUDGET_SHARE) // CONFIRM_KEYS)
    wanted = min(wanted, pool_size // 2)  # half the pool stays free for the finalists' demos
    return wanted if wanted >= MIN_EXAMPLES else 0


def reserve(size: int) -> int:
    """LM calls kept back from the search for confirmation."""
    return size * CONFIRM_KEYS


def confirm(store, evaluator, run_id: str, pool, size: int, seed: int, meter) -> dict:
    """{key_id: KeyScore on the confirmation examples} for the dev leaders; the examples are
    the same for all of them and none is a fixed demo of any (a retrieved-demo key never
    retrieves the input it is answering)."""
    leaders = [PromptKey.from_dict(store.get_key(row["key_id"]))
               for row in store.ranked_candidates(run_id)[:CONFIRM_KEYS]]
    if size <= 0 or len(leaders) < 2:
        return {}
    examples = held_back(pool, leaders, size, seed)
    return {key.id: evaluator.score(key, examples, "confirm", meter) for key in leaders}


def held_back(pool, keys: list[PromptKey], size: int, seed: int) -> tuple:
    """`size` pool examples in a seeded order, skipping every fixed demo of `keys`."""
    demos = {tuple(sorted(demo.inputs.items())) for key in keys for demo in key.demos}
    order = list(pool)
    random.Random(f"confirm:{seed}").shuffle(order)
    fresh = [example for example in order if tuple(sorted(example.inputs.items())) not in demos]
    return tuple(fresh[:size])


def rerank(ranked: list[dict], confirmed: dict, dev_size: int) -> list[dict]:
    """`ranked` (best dev first) with the confirmed leaders reordered by their score over dev
    and confirmation examples together. Unchanged unless at least two leaders were confirmed
    in full (a budget that ran out mid-way leaves the dev order)."""
    complete = [row for row in ranked if _complete(confirmed.get(row["key_id"]))]
    if len(complete) < 2:
        return ranked
    pooled = sorted(complete, key=lambda row: -pooled_score(row, confirmed[row["key_id"]],
                                                            dev_size))
    slots = iter(pooled)
    return [next(slots) if row in complete else row for row in ranked]


def pooled_score(row: dict, confirmation: KeyScore, dev_size: int) -> float:
    answered = [s for s in confirmation.scores if s is not None]
    return ((row["dev_score"] * dev_size + sum(answered)) / (dev_size + len(answered)))


def _complete(score: Optional[KeyScore]) -> bool:
    return score is not None and score.answered_all and score.score is not None
