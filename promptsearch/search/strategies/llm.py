"""APE, OPRO, ProTeGi and EvoPrompt over one evaluator, cache, budget and store."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Optional

from promptsearch.search.mutators import requests
from promptsearch.search.mutators.paraphrase import paraphrase
from promptsearch.search.mutators.propose import call, clean_instruction, first_line
from promptsearch.search.space import Point
from promptsearch.search.strategies.proposing import ProposingStrategy, shown_text

INDUCTIONS = 4        # APE: instructions induced from examples before resampling the best
PAIRS_SHOWN = 5
OPRO_HISTORY = 8
PROTEGI_BEAM = 2
PROTEGI_ERRORS = 4
OPRO_NOTES = 3  # the metric's feedback lines shown to OPRO's proposer
POPULATION = 6


class APEStrategy(ProposingStrategy):
    """Induce instructions from train input/output pairs; then resample variations of the best."""

    name = "ape"

    def propose(self, rng: random.Random) -> Optional[Point]:
        context = self.context
        if self.proposals < INDUCTIONS:
            reply = call(context.proposer, context.meter,
                         requests.induce(self.train_pairs(rng, PAIRS_SHOWN)),
                         self.call_seed("induce"))
            return self.with_instruction(clean_instruction(reply, self.known_instructions()))
        best = context.pool.best()
        instruction = context.space.instructions[self.carrier().instruction].value
        source = instruction if best is None else best.candidate.key.instruction or instruction
        text = paraphrase(context.proposer, context.meter, source, rng.randrange(4),
                          self.call_seed("resample"))
        return self.with_instruction(text if text not in self.known_instructions() else None)


class OPROStrategy(ProposingStrategy):
    """Show the proposer the best instructions so far with their scores, ask for a better one."""

    name = "opro"

    def propose(self, rng: random.Random) -> Optional[Point]:
        scored: dict[str, float] = {}
        for item in self.context.pool.top(50):
            text = item.candidate.key.instruction
            if text and text not in scored:
                scored[text] = item.score
        history = sorted(scored.items(), key=lambda pair: pair[1])[-OPRO_HISTORY:]
        if not history:
            history = [(self.context.space.instructions[0].value, 0.0)]
        request = requests.optimise(history, self.train_pairs(rng, 3), self._notes())
        reply = call(self.context.proposer, self.context.meter, request, self.call_seed("opro"))
        return self.with_instruction(clean_instruction(reply, self.known_instructions()))


    def _notes(self) -> list[str]:
        """The metric's feedback on the best key's wrong dev answers (distinct, a few)."""
        best = self.context.pool.best()
        if best is None:
            return []
        result = best.result
        found = [note for note, score in zip(result.feedback, result.scores)
                 if note and score is not None and score < 1.0]
        return list(dict.fromkeys(found))[:OPRO_NOTES]


class ProTeGiStrategy(ProposingStrategy):
    """Critique a beam key's errors in words (a textual gradient), then edit its instruction."""

    name = "protegi"

    def propose(self, rng: random.Random) -> Optional[Point]:
        beam = self.context.pool.top(PROTEGI_BEAM)
        if not beam:
            return None
        parent = beam[self.proposals % len(beam)]
        instruction = parent.candidate.key.instruction or self.context.space.instructions[0].value
        errors = self._errors(parent, rng)
        if not errors:
            text = paraphrase(self.context.proposer, self.context.meter, instruction,
                              rng.randrange(4), self.call_seed("polish"))
            return self.with_instruction(text, parent.candidate.point)
        reason = call(self.context.proposer, self.context.meter,
                      requests.critique(instruction, errors), self.call_seed("critique"))
        if not reason or not first_line(reason):
            return None
        reply = call(self.context.proposer, self.context.meter,
                     requests.edit(instruction, errors, first_line(reason)),
                     self.call_seed("edit"))
        return self.with_instruction(clean_instruction(reply, self.known_instructions()),
                                     parent.candidate.point)

    def _errors(self, parent, rng: random.Random) -> list[tuple]:
        """A few wrong dev answers, each with the metric's feedback where it gave some."""
        result = parent.result
        notes = result.feedback or [None] * len(result.scores)
        wrong = [(example, prediction, note) for example, prediction, score, note in
                 zip(self.context.dev, result.predictions, result.scores, notes)
                 if score is not None and score < 1.0]
        chosen = rng.sample(wrong, min(PROTEGI_ERRORS, len(wrong)))
        return [(shown_text(example.inputs), example.target, prediction or "(no answer)", note)
                for example, prediction, note in chosen]


class EvolutionStrategy(ProposingStrategy):
    """EvoPrompt (GA): tournament-selected parents; the proposer crosses over and mutates their
    instructions; demos, format and label words are inherited and mutated without the LLM."""

    name = "evolution"
    mutation_rate = 0.3

    def initial_points(self) -> list[Point]:
        space = self.context.space
        rng = self.rng("population", trial=0)  # drawn before trial 0, also in a resumed run
        # A first population beyond the baselines: every bank instruction on the default carrier.
        return super().initial_points() + [
            replace(self.mutate(self.default_carrier(), rng), instruction=index)
            for index in range(space.n_seeds, min(len(space.instructions),
                                                  space.n_seeds + POPULATION - 2))]

    def propose(self, rng: random.Random) -> Optional[Point]:
        population = self.context.pool.top(POPULATION)
        if len(population) < 2:
            return None
        first, second = (max(rng.sample(population, 2), key=lambda s: s.score) for _ in range(2))
        child = self._inherit(first.candidate.point, second.candidate.point, rng)
        texts = [first.candidate.key.instruction, second.candidate.key.instruction]
        if not all(texts) or texts[0] == texts[1]:
            return replace(child, instruction=first.candidate.point.instruction)
        reply = call(self.context.proposer, self.context.meter,
                     requests.crossover(*texts), self.call_seed("crossover"))
        return self.with_instruction(clean_instruction(reply, self.known_instructions()), child)

    def _inherit(self, first: Point, second: Point, rng: random.Random) -> Point:
        names = ("format", "n_demos", "selection", "demo_set", "verbalizer")
        if self.context.space.searches_reasoning():
            names += ("reasoning",)
        genes = {name: getattr(rng.choice((first, second)), name) for name in names}
        child = replace(first, **genes)
        return self.mutate(child, rng) if rng.random() < self.mutation_rate else child


class DifferentialEvolutionStrategy(EvolutionStrategy):
    """EvoPrompt (DE): each member of the population in turn is challenged by a child whose
    instruction the proposer builds from the best one, varied where two other members differ,
    and crossed with the member's own; the child keeps the member's other components."""

    name = "evolution-de"

    def propose(self, rng: random.Random) -> Optional[Point]:
        population = self.context.pool.top(POPULATION)
        if len(population) < 3:
            return None
        base = population[self.proposals % len(population)]
        first, second = rng.sample([s for s in population if s is not base], 2)
        texts = [s.candidate.key.instruction
                 for s in (base, first, second, population[0])]
        child = base.candidate.point
        if child is None:
            return None
        if rng.random() < self.mutation_rate:
            child = self.mutate(child, rng)
        if not all(texts) or texts[1] == texts[2]:
            return child
        reply = call(self.context.proposer, self.context.meter, requests.differential(*texts),
                     self.call_seed("differential"))
        return self.with_instruction(clean_instruction(reply, self.known_instructions()), child)

