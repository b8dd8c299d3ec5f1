"""One proposer call, counted in the budget, and the filter every proposed instruction passes.

Base models continue documents, chat models follow requests: each mutator writes both, and the
proposer's style picks one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

from promptsearch.errors import BudgetExhausted

TEMPERATURE = 0.9  # at temperature 0 small proposers mostly copy what they were shown
MIN_WORDS, MAX_WORDS = 3, 60
_CHATTER = ("i ", "i'", "we ", "sure", "here is", "here's", "okay", "ok,", "note:", "example")
_LAYOUT = re.compile(r"\b(instruction|rewritten|original|score|input|output|expected|got)\s*\d*:"
                     r"|https?://|\{|\}", re.I)
_LIST_MARKER = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s*")


@dataclass(frozen=True)
class Request:
    document: str         # for completion-style (base) proposers: the text to continue
    chat: str             # for chat proposers: the request
    stop: tuple[str, ...] = ("\n",)
    max_tokens: int = 64


def call(proposer, meter, request: Request, seed: int) -> Optional[str]:
    """The proposer's raw reply, or None when the budget is spent or the call failed."""
    if meter is not None:
        try:
            meter.take(proposer=True)
        except BudgetExhausted:
            return None
    if proposer.default_style == "chat":
        reply = proposer.complete(messages=[{"role": "user", "content": request.chat}],
                                  max_tokens=request.max_tokens, temperature=TEMPERATURE,
                                  seed=seed)
    else:
        reply = proposer.complete(prompt=request.document, max_tokens=request.max_tokens,
                                  stop=list(request.stop), temperature=TEMPERATURE, seed=seed)
    if meter is not None:
        meter.record(reply.tokens)
    return None if reply.error else reply.text


def first_line(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return _LIST_MARKER.sub("", line).strip(" \"'`*")


def clean_instruction(text: Optional[str], known: Iterable[str] = (),
                      anchor: Optional[str] = None) -> Optional[str]:
    """The reply's first line if it reads as a new instruction; None for empty output, copies of
    `known` texts, chatter, echoes of the prompt's layout, and (given an `anchor` to paraphrase)
    lines that share no content word with it."""
    if not text:
        return None
    line = first_line(text)
    if not (MIN_WORDS <= len(line.split()) <= MAX_WORDS) or _LAYOUT.search(line):
        return None
    if line.lower().startswith(_CHATTER):
        return None
    if any(normal(line) == normal(other) for other in known):
        return None
    if anchor and not content_words(line) & content_words(anchor):
        return None
    return line[0].upper() + line[1:]


def normal(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", " ".join(text.lower().split())).strip()


def content_words(text: str) -> set[str]:
    return {word for word in normal(text).split() if len(word) > 3}
