"""Paraphrase a seed instruction with the proposer model, filtering what is not an instruction.

A base model continues documents, so the request is a short document of instruction rewrites
(made-up tasks, none of the bundled ones) ending with the seed; each call shows a different pair,
which is what makes the proposals differ at temperature 0.
"""

from __future__ import annotations

import re
from typing import Optional

from ...errors import BudgetExhausted

REWRITES = (
    ("Sort the numbers from smallest to largest.", "Put the numbers in ascending order."),
    ("Summarize the paragraph in one sentence.", "Write a one-sentence summary of the paragraph."),
    ("Tell whether the email is spam.", "Decide if the email is spam or not."),
    ("Find the capital of the country.", "Name the capital city of the given country."),
    ("Count the vowels in the text.", "How many vowels does the text contain? Give the number."),
    ("Fix the spelling mistakes in the sentence.", "Rewrite the sentence with correct spelling."),
)
VARIANTS = 4
# Sampling, not greedy: at temperature 0 small models mostly copy the seed. Each call carries its
# own seed (from the task seed and the variant), so proposals reproduce on a fresh cache too.
TEMPERATURE = 0.9
MIN_WORDS, MAX_WORDS = 3, 60
_CHATTER = ("i ", "i'", "we ", "sure", "here is", "here's", "okay", "ok,")
_NOT_INSTRUCTION = re.compile(r"(instruction|rewritten|original)\s*:|https?://|\{|\}", re.I)
_LIST_MARKER = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s*")


def paraphrase_prompt(seed: str, variant: int) -> str:
    pairs = [REWRITES[(variant + offset) % len(REWRITES)] for offset in (0, VARIANTS)]
    shots = "".join(f"Instruction: {old}\nRewritten: {new}\n\n" for old, new in pairs)
    return f"{shots}Instruction: {seed}\nRewritten:"


def clean(text: str, seed: str) -> Optional[str]:
    """The first line of a proposal if it reads as a new instruction, else None."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    line = _LIST_MARKER.sub("", line).strip(" \"'`*")
    words = line.split()
    if not (MIN_WORDS <= len(words) <= MAX_WORDS) or _NOT_INSTRUCTION.search(line):
        return None
    if _normal(line) == _normal(seed) or line.lower().startswith(_CHATTER):
        return None
    if any(_normal(line) == _normal(new) for _, new in REWRITES):
        return None  # the proposer copied one of the prompt's own examples
    if seed.strip() and not _content_words(line) & _content_words(seed):
        return None  # shares no content word with the seed: not a paraphrase of it
    return line


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def _content_words(text: str) -> set[str]:
    return {word for word in _normal(text).split() if len(word) > 3}


def paraphrases(proposer, seed: str, meter, task_seed: int = 0,
                max_tokens: int = 48) -> list[str]:
    """Up to VARIANTS paraphrases of `seed`; each proposer call is taken from the budget."""
    found: list[str] = []
    for variant in range(VARIANTS):
        try:
            if meter is not None:
                meter.take(proposer=True)
        except BudgetExhausted:
            break
        reply = _ask(proposer, seed, variant, max_tokens, task_seed * 1000 + variant)
        if meter is not None:
            meter.record(reply.tokens)
        text = None if reply.error else clean(reply.text, seed)
        if text and text not in found:
            found.append(text)
    return found


def _ask(proposer, seed: str, variant: int, max_tokens: int, sampling_seed: int):
    if proposer.default_style == "chat":
        old, new = REWRITES[variant % len(REWRITES)]
        request = (f"Rewrite the task instruction below in other words, keeping its meaning. "
                   f"Example: '{old}' -> '{new}'. Reply with the new instruction only.\n\n{seed}")
        return proposer.complete(messages=[{"role": "user", "content": request}],
                                 max_tokens=max_tokens, temperature=TEMPERATURE,
                                 seed=sampling_seed)
    return proposer.complete(prompt=paraphrase_prompt(seed, variant), max_tokens=max_tokens,
                             stop=["\n"], temperature=TEMPERATURE, seed=sampling_seed)
