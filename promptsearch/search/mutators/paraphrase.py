"""Paraphrase an instruction with the proposer model.

A base model continues documents, so the request is a short document of instruction rewrites
(made-up tasks, none of the bundled ones) ending with the instruction; each variant shows a
different pair of rewrites.
"""

from __future__ import annotations

from typing import Optional

from promptsearch.search.mutators.propose import Request, call, clean_instruction

REWRITES = (
    ("Sort the numbers from smallest to largest.", "Put the numbers in ascending order."),
    ("Summarize the paragraph in one sentence.", "Write a one-sentence summary of the paragraph."),
    ("Tell whether the email is spam.", "Decide if the email is spam or not."),
    ("Find the capital of the country.", "Name the capital city of the given country."),
    ("Count the vowels in the text.", "How many vowels does the text contain? Give the number."),
    ("Fix the spelling mistakes in the sentence.", "Rewrite the sentence with correct spelling."),
)
VARIANTS = 4


def paraphrase_prompt(instruction: str, variant: int) -> str:
    pairs = [REWRITES[(variant + offset) % len(REWRITES)] for offset in (0, VARIANTS)]
    shots = "".join(f"Instruction: {old}\nRewritten: {new}\n\n" for old, new in pairs)
    return f"{shots}Instruction: {instruction}\nRewritten:"


def paraphrase_request(instruction: str, variant: int) -> Request:
    old, new = REWRITES[variant % len(REWRITES)]
    chat = (f"Rewrite the task instruction below in other words, keeping its meaning. "
            f"Example: '{old}' -> '{new}'. Reply with the new instruction only.\n\n{instruction}")
    return Request(paraphrase_prompt(instruction, variant), chat)


def clean(text: str, instruction: str) -> Optional[str]:
    """A paraphrase: new, an instruction, sharing content words with the original."""
    known = [instruction] + [new for _, new in REWRITES]
    return clean_instruction(text, known, anchor=instruction)


def paraphrase(proposer, meter, instruction: str, variant: int, seed: int) -> Optional[str]:
    return clean(call(proposer, meter, paraphrase_request(instruction, variant), seed) or "",
                 instruction)


def paraphrases(proposer, instruction: str, meter, task_seed: int = 0) -> list[str]:
    """Up to VARIANTS paraphrases of `instruction`; each proposer call is taken from the budget."""
    found: list[str] = []
    for variant in range(VARIANTS):
        if meter is not None and meter.exhausted_by() is not None:
            break
        text = paraphrase(proposer, meter, instruction, variant, task_seed * 1000 + variant)
        if text and text not in found:
            found.append(text)
    return found
