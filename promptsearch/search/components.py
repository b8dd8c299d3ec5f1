"""Shared set-up of the component space: the proposer's paraphrases of the seed instructions."""

from __future__ import annotations

from promptsearch.search.base import Context
from promptsearch.search.mutators.paraphrase import paraphrases


def add_paraphrases(context: Context) -> int:
    """Ask the proposer for paraphrases of each non-empty seed; returns how many were added."""
    if context.proposer is None or context.paraphrased:
        return 0
    context.paraphrased = True  # once per run, whichever strategies share the context
    space = context.space
    seeds = [choice.value for choice in space.instructions[: space.n_seeds] if choice.value]
    added = 0
    for seed in seeds:
        for text in paraphrases(context.proposer, seed, context.meter, context.seed):
            added += space.add_instruction(text, f"paraphrase:{context.proposer.model}") is not None
    return added
