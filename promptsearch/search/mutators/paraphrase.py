"""Paraphrase a seed instruction with the proposer model, filtering what is not an instruction."""

from __future__ import annotations

import re
from typing import Optional

from ...errors import BudgetExhausted

# One plain-text completion prompt per style: base models continue documents, not chats.
STYLES = ("more briefly", "more clearly and precisely", "in simple words", "as an expert would")
MIN_WORDS, MAX_WORDS = 3, 60
_CHATTER = ("i ", "i'", "we ", "sure", "here is", "here's", "okay", "ok,")
_NOT_INSTRUCTION = re.compile(r"(instruction|written|original)\s*:|https?://|\{|\}", re.I)


def paraphrase_prompt(seed: str, style: str) -> str:
    return (f"Original instruction: {seed}\n"
            f"The same instruction, written {style}: ")


def clean(text: str, seed: str) -> Optional[str]:
    """The first line of a proposal if it reads as a new instruction, else None."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    line = line.strip(" \"'`*")
    words = line.split()
    if not (MIN_WORDS <= len(words) <= MAX_WORDS) or _NOT_INSTRUCTION.search(line):
        return None
    if _normal(line) == _normal(seed) or line.lower().startswith(_CHATTER):
        return None
    if seed.strip() and not _content_words(line) & _content_words(seed):
        return None  # shares no content word with the seed: not a paraphrase of it
    return line


def _content_words(text: str) -> set[str]:
    return {word for word in _normal(text).split() if len(word) > 3}


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def paraphrases(proposer, seed: str, meter, max_tokens: int = 48) -> list[str]:
    """Up to len(STYLES) paraphrases of `seed`; each proposer call is taken from the budget."""
    found: list[str] = []
    for style in STYLES:
        try:
            if meter is not None:
                meter.take(proposer=True)
        except BudgetExhausted:
            break
        reply = _ask(proposer, seed, style, max_tokens)
        if meter is not None:
            meter.record(reply.tokens)
        text = None if reply.error else clean(reply.text, seed)
        if text and text not in found:
            found.append(text)
    return found


def _ask(proposer, seed: str, style: str, max_tokens: int):
    if proposer.default_style == "chat":
        request = f"Rewrite this instruction {style}. Reply with the instruction only.\n\n{seed}"
        return proposer.complete(messages=[{"role": "user", "content": request}],
                                 max_tokens=max_tokens)
    return proposer.complete(prompt=paraphrase_prompt(seed, style), max_tokens=max_tokens,
                             stop=["\n"])
