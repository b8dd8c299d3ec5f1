"""Reasoning before the answer: a key may ask the model to work a problem out first and to give
its answer after a marker line (`Answer: ...`). The answer is read from the first marker line (a
completion model may run on into an example of its own and answer that too), or from the last
line when the model wrote no marker. Reasoning needs far more tokens than an answer, so it
carries its own completion budget."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

MARKER = "Answer:"
# The cues a search tries when a task turns reasoning on (search.reasoning). Each names the
# marker, so the answer can be found whatever the model writes before it.
CUES = (
    "Think step by step, then give the final answer on a last line that starts with "
    f'"{MARKER}".',
    "Work the problem out briefly first. Then write a line that starts with "
    f'"{MARKER}" followed by the answer alone.',
    "Explain your reasoning in a few short steps and end with the line "
    f'"{MARKER} <answer>".',
)
DEFAULT_MAX_TOKENS = 256
MARKER_LINE = re.compile(r"^[\s*#>_]*answer[\s*_]*:[\s*_]*(.*)$", re.IGNORECASE | re.MULTILINE)
_LABEL = re.compile(r"^\s*([A-Za-z][\w ]{0,20}):")


@dataclass(frozen=True)
class Reasoning:
    cue: str
    max_tokens: int = DEFAULT_MAX_TOKENS

    def to_dict(self) -> dict:
        return {"cue": self.cue, "max_tokens": self.max_tokens}

    @classmethod
    def from_dict(cls, data: Optional[dict]) -> Optional["Reasoning"]:
        return cls(str(data["cue"]), int(data["max_tokens"])) if data else None

    @staticmethod
    def demo_answer(word: str) -> str:
        """How a demo shows its answer: after the marker, as the model is asked to write it."""
        return f"{MARKER} {word}"


def extract_answer(completion: str) -> str:
    """The text after the first marker line; else the last non-empty line; else ''."""
    found = MARKER_LINE.search(completion)
    if found and found.group(1).strip():
        return found.group(1).strip()
    lines = [line.strip() for line in completion.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def stop_for(format_text: str) -> list[str]:
    """Where a completion model's reasoning has ended: at the start of the next example (the
    format's first field label, e.g. `Input:`), else at two blank lines. A blank line alone does
    not end it, as reasoning is often written in paragraphs."""
    label = _LABEL.match(format_text.splitlines()[0] if format_text else "")
    return [f"\n{label.group(1)}:"] if label else ["\n\n\n"]
