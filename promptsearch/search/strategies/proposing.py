"""Base of the strategies whose new keys come from the proposer model (APE, OPRO, ProTeGi,
EvoPrompt): they write instructions and carry the other components over from the best key found
so far, so a good demo set found by one step is kept while the instruction changes."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Optional

from promptsearch.search.base import Candidate, Strategy
from promptsearch.search.space import DEMO_SETS, Point

CARRIER_DEMOS = 4
MAX_PROPOSAL_TRIES = 3  # proposer replies that fail the filter before a non-LLM step instead


class ProposingStrategy(Strategy):
    """Subclasses implement propose(); the base handles the queue, carrier and fallback."""

    enqueue_baselines = True

    def __init__(self, context):
        super().__init__(context)
        self.queue: list[Point] = []
        self.trial = context.run.first_trial
        self.proposals = 0

    def setup(self) -> None:
        points = self.initial_points()
        self.queue = self.unreached(points) if self.enqueue_baselines else points

    def initial_points(self) -> list[Point]:
        """What is scored before the first proposal: the seeds and the default carrier."""
        if not self.enqueue_baselines:
            return []
        return self.context.space.baselines() + [self.default_carrier()]

    # ask / tell -------------------------------------------------------------------------------
    def ask(self) -> Optional[Candidate]:
        point = self.queue.pop(0) if self.queue else self._proposed()
        space = self.context.space
        candidate = Candidate(self.trial, space.key(point), space.origin(point), point)
        self.trial += 1
        return candidate

    def tell(self, candidate, result) -> None:
        """The shared pool already holds the result; subclasses may keep more state."""

    def _proposed(self) -> Point:
        for attempt in range(MAX_PROPOSAL_TRIES):
            if self.context.meter is not None and self.context.meter.exhausted_by() is not None:
                break
            point = self.propose(self.rng(f"propose:{attempt}"))
            self.proposals += 1
            if point is not None:
                return point
        return self.mutate(self.carrier(), self.rng("fallback"))

    def propose(self, rng: random.Random) -> Optional[Point]:
        raise NotImplementedError

    # helpers for subclasses -------------------------------------------------------------------
    def rng(self, purpose: str, trial: Optional[int] = None) -> random.Random:
        """Every random choice derives from (task seed, strategy, trial number, purpose)."""
        if trial is None:
            trial = self.trial if self.context.run.trial is None else self.context.run.trial
        return random.Random(f"{self.name}:{self.context.seed}:{trial}:{purpose}")

    def call_seed(self, purpose: str) -> int:
        return self.rng(purpose).randrange(2 ** 31)

    def default_carrier(self) -> Point:
        """The first seed instruction with a few random demos (no more than the space allows):
        the key to build on before any better one is known."""
        demos = min(CARRIER_DEMOS, self.context.space.demo_counts[-1])
        return Point(0, 0, demos, "random", 0, 0)

    def carrier(self) -> Point:
        best = self.context.pool.best()
        if best is not None and best.candidate.point is not None:
            return best.candidate.point
        return self.default_carrier()

    def with_instruction(self, text: Optional[str],
                         base: Optional[Point] = None) -> Optional[Point]:
        if not text:
            return None
        space = self.context.space
        index = space.add_instruction(text, f"{self.name}:{self.context.proposer.model}")
        index = space.index_of(text) if index is None else index
        return replace(base or self.carrier(), instruction=index)

    def known_instructions(self) -> list[str]:
        return [choice.value for choice in self.context.space.instructions]

    def mutate(self, point: Point, rng: random.Random) -> Point:
        """A non-LLM step: change one component other than the instruction."""
        space = self.context.space
        options = {
            "n_demos": lambda: rng.choice(space.demo_counts),
            "demo_set": lambda: rng.randrange(DEMO_SETS),
            "format": lambda: rng.randrange(len(space.formats)),
            "selection": lambda: rng.choice(space.selections),
            "verbalizer": lambda: rng.randrange(len(space.verbalizers)),
        }
        if space.searches_reasoning():
            options["reasoning"] = lambda: rng.randrange(len(space.reasonings))
        component = rng.choice(sorted(options))
        return replace(point, **{component: options[component]()})

    def train_pairs(self, rng: random.Random, count: int) -> list[tuple[str, str]]:
        pool = list(self.context.space.dataset.pool)
        chosen = rng.sample(pool, min(count, len(pool)))
        return [(shown_text(example.inputs), example.target) for example in chosen]


def shown_text(inputs: dict[str, str]) -> str:
    """An example's inputs as a proposer is shown them: the bare text for one field, named
    fields otherwise."""
    return inputs[next(iter(inputs))] if len(inputs) == 1 else \
        "; ".join(f"{name}: {value}" for name, value in inputs.items())
