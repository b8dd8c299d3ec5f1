"""The component space a strategy searches, and how a point in it becomes a PromptKey."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Optional

from promptsearch.core.key import Demo, OutputSpec, PromptKey
from promptsearch.core.reasoning import Reasoning
from promptsearch.core.retrieval import Retrieval
from promptsearch.task.data import Dataset, Example

RETRIEVAL_POOL = 200
DEMO_SETS = 4  # distinct random draws per (count, selection): lets a strategy revisit a good draw
GENERIC_INSTRUCTIONS = (
    "",
    "Read the input and write the correct output.",
    "Follow the pattern of the examples and give the output for the last input.",
    "Give a short, exact answer.",
)
SYNONYMS = {
    "positive": ("good", "great"), "negative": ("bad", "terrible"), "neutral": ("okay", "neutral"),
    "true": ("yes", "correct"), "false": ("no", "wrong"), "yes": ("true", "correct"),
    "no": ("false", "wrong"), "entailment": ("yes", "true"), "contradiction": ("no", "false"),
}


@dataclass(frozen=True)
class Choice:
    value: str
    origin: str  # "seed", "bank", "user", "paraphrase:<model>", ...


@dataclass(frozen=True)
class Point:
    """One setting of every component; strategies search over these."""

    instruction: int
    format: int
    n_demos: int
    selection: str
    demo_set: int
    verbalizer: int = 0
    reasoning: int = 0  # 0: answer at once; else a cue asking for reasoning first

    def as_params(self) -> dict:
        return dict(vars(self))


class SearchSpace:
    def __init__(self, dataset: Dataset, fields: tuple[str, ...], target: str,
                 seeds: list[str], user_format: Optional[str], style: str, seed: int,
                 max_demos: int, reasonings: tuple[Optional[Reasoning], ...] = (None,),
                 likelihood: bool = False):
        self.dataset, self.fields, self.style, self.seed = dataset, fields, style, seed
        self.demo_counts = demo_counts(max_demos)
        self.target = target
        self.instructions = [Choice(s, "seed") for s in seeds]
        self.instructions += [Choice(text, "bank") for text in
                              _instruction_bank(dataset.labels, dataset.fields)
                              if text not in seeds]
        self.formats = ([Choice(user_format, "user")] if user_format else [])
        self.formats += [Choice(text, "bank") for text in format_bank(fields, target)
                         + json_formats(fields, dataset.fields) if text != user_format]
        self.verbalizers = verbalizer_bank(dataset.labels)
        self.selections = (("random", "balanced", "retrieved") if dataset.labels
                           else ("random", "retrieved"))
        self.n_seeds = len(seeds)
        self.reasonings = reasonings
        self.likelihood = likelihood and bool(dataset.labels)  # answers read from likelihoods

    def searches_reasoning(self) -> bool:
        """Whether reasoning is a dimension of this space (only when the task turns it on, so
        other tasks' strategies draw exactly what they drew before it existed)."""
        return len(self.reasonings) > 1

    def add_instruction(self, text: str, origin: str) -> Optional[int]:
        """The new instruction's index, or None if the space has it already."""
        if self.index_of(text) is not None:
            return None
        self.instructions.append(Choice(text, origin))
        return len(self.instructions) - 1

    def index_of(self, text: str) -> Optional[int]:
        wanted = " ".join(text.split()).lower()
        for index, choice in enumerate(self.instructions):
            if " ".join(choice.value.split()).lower() == wanted:
                return index
        return None

    def baselines(self) -> list[Point]:
        return [Point(index, 0, 0, "random", 0, 0) for index in range(self.n_seeds)]

    def origin(self, point: Point) -> str:
        return self.instructions[point.instruction].origin

    def key(self, point: Point) -> PromptKey:
        labels = self.dataset.labels
        retrieval = self.retrieval(point.n_demos) if point.selection == "retrieved" else None
        return PromptKey(
            instruction=self.instructions[point.instruction].value,
            demos=() if retrieval else tuple(Demo(e.inputs, e.target) for e in self.demos(point)),
            retrieval=retrieval,
            format=self.formats[point.format].value,
            output=OutputSpec(labels, self.verbalizers[point.verbalizer] if labels else None,
                              self.dataset.fields, self.likelihood),
            style=self.style,
            reasoning=self.reasonings[point.reasoning],
        )

    def retrieval(self, k: int) -> Optional[Retrieval]:
        """Retrieve k demos per input from a fixed sample of the pool (kept small: it is stored
        inline in the key and lock file)."""
        if k == 0:
            return None
        pool = list(self.dataset.pool)
        rng = random.Random(f"retrieval:{self.seed}")
        sample = rng.sample(pool, min(RETRIEVAL_POOL, len(pool)))
        return Retrieval(tuple(Demo(ex.inputs, ex.target) for ex in sample), k)

    def demos(self, point: Point) -> list[Example]:
        """Demos drawn from the pool only; the draw derives from (task seed, count, set)."""
        if point.n_demos == 0:
            return []
        rng = random.Random(f"demos:{self.seed}:{point.n_demos}:{point.selection}:{point.demo_set}")
        pool = self.dataset.pool
        if point.selection == "balanced" and self.dataset.labels:
            return _balanced(pool, self.dataset.labels, point.n_demos, rng)
        return rng.sample(list(pool), min(point.n_demos, len(pool)))


def demo_counts(max_demos: int) -> tuple[int, ...]:
    """0, 1, 2, 4, ... up to max_demos (and max_demos itself): the score moves with the order of
    magnitude of the demo count far more than with one demo more or less."""
    counts = [0]
    while counts[-1] < max_demos:
        counts.append(min(max_demos, max(1, 2 * counts[-1])))
    return tuple(counts)


def _balanced(pool, labels, count: int, rng: random.Random) -> list[Example]:
    by_label = {label: [ex for ex in pool if ex.target == label] for label in labels}
    chosen: list[Example] = []
    while len(chosen) < count and any(by_label.values()):
        for label in labels:
            if by_label[label] and len(chosen) < count:
                chosen.append(by_label[label].pop(rng.randrange(len(by_label[label]))))
    rng.shuffle(chosen)
    return chosen


def _instruction_bank(labels, fields=None) -> list[str]:
    bank = list(GENERIC_INSTRUCTIONS)
    if labels:
        bank.append(f"Answer with one of: {', '.join(labels)}.")
    if fields:
        kinds = {"number": "a number", "string": "text", "list": "a list"}
        described = ", ".join(f"{name} ({kinds[kind]})" for name, kind in fields)
        bank.append(f"Answer with a JSON object on one line with the fields {described}.")
    return bank


def json_formats(fields: tuple[str, ...], answer_fields) -> list[str]:
    """Layouts that ask for a JSON answer, for structured targets (none otherwise)."""
    if not answer_fields:
        return []
    lines = "\n".join(f"{_title(f, 'Input')}: {{{{ {f} }}}}" for f in fields)
    return [f"{lines}\nJSON:", f"{lines}\nAnswer as JSON:"]


def _title(name: str, fallback: str) -> str:
    return fallback if name in ("input", "output") else name.replace("_", " ").capitalize()


def format_bank(fields: tuple[str, ...], target: str) -> list[str]:
    """At least five ways to lay out one example; none ends in a newline (keeps stops simple)."""
    answer = _title(target, "Output")

    def lines(label_for) -> str:
        return "\n".join(f"{label_for(f)}: {{{{ {f} }}}}" for f in fields)

    bank = [
        f"{lines(lambda f: _title(f, 'Input'))}\n{answer}:",
        f"{lines(lambda f: 'Q' if len(fields) == 1 else _title(f, 'Input'))}\nA:",
        " | ".join(f"{{{{ {f} }}}}" for f in fields) + " ->",
        f"{lines(lambda f: _title(f, 'Text'))}\nAnswer:",
        "### " + "\n### ".join(f"{_title(f, 'Input')}:\n{{{{ {f} }}}}" for f in fields)
        + f"\n### {answer}:",
        f"{lines(lambda f: _title(f, 'Input').lower())}\n{answer.lower()}:",
    ]
    return list(dict.fromkeys(bank))


def verbalizer_bank(labels) -> list[tuple[str, ...]]:
    if not labels:
        return [()]
    options = [tuple(labels), tuple(label.capitalize() for label in labels)]
    for pick in (0, 1):
        if all(label.lower() in SYNONYMS for label in labels):
            options.append(tuple(SYNONYMS[label.lower()][pick] for label in labels))
    unique = [option for option in dict.fromkeys(options)
              if len({word.lower() for word in option}) == len(option)]
    return unique
