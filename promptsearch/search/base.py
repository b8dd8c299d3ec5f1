"""The Strategy interface: ask for a candidate, tell its result (optuna's ask/tell loop)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import NamedTuple, Optional

from promptsearch.core.key import PromptKey
from promptsearch.core.metrics import Metric
from promptsearch.core.states import CandidateStatus
from promptsearch.evaluation.budget import BudgetMeter
from promptsearch.evaluation.evaluate import KeyScore
from promptsearch.lm.client import LM
from promptsearch.search.space import Point, SearchSpace
from promptsearch.task.data import Example


@dataclass
class Candidate:
    trial: int
    key: PromptKey
    origin: str
    point: Optional[Point] = None
    # the strategy's own bookkeeping (an optuna trial)
    handle: object = field(default=None, repr=False)


def rankable(result) -> bool:
    """A result that may be ranked: an answer on every dev example (a key short of answers
    because calls failed is incomplete, never the winner, however well its answers scored)."""
    return (result is not None and result.answered_all and result.score is not None
            and not result.pruned)


@dataclass
class Scored:
    candidate: Candidate
    result: KeyScore

    @property
    def score(self) -> float:
        return self.result.score


class Pool:
    """Every candidate scored in this run, shared by all strategies (so `auto`'s arms can build
    on each other's finds)."""

    def __init__(self) -> None:
        self.items: list[Scored] = []
        self.seen: set[str] = set()  # ids of every key scored, ranked or not

    def add(self, candidate: Candidate, result) -> None:
        self.seen.add(candidate.key.id)
        if rankable(result):
            self.items.append(Scored(candidate, result))

    def top(self, count: int) -> list[Scored]:
        ranked = sorted(self.items, key=lambda s: (-s.score, s.candidate.trial))
        unique: dict[str, Scored] = {}
        for scored in ranked:
            unique.setdefault(scored.candidate.key.id, scored)
        return list(unique.values())[:count]

    def best(self) -> Optional[Scored]:
        top = self.top(1)
        return top[0] if top else None


class RecordedTrial(NamedTuple):
    """What a resumed strategy needs of a recorded candidate row."""

    key_id: str
    status: CandidateStatus
    dev_score: Optional[float]


@dataclass(frozen=True)
class Liveness:
    """How a worker of a shared run shows it is alive: a beat every `interval_s`; one that
    misses `missed_beats` beats is taken for dead (strategies with their own trial records, as
    TPE's optuna study, fail that worker's trials by the same rule)."""

    interval_s: float
    missed_beats: int


@dataclass
class RunState:
    """What the run layer tells a strategy about the run it searches for: where the strategy may
    keep state of its own (TPE's optuna study), what a resumed run recorded, and in a worker of
    a shared run the run-wide number of the trial being asked for (strategies draw from it, so
    workers do not all ask the same thing) and its liveness rule."""

    storage_url: Optional[str] = None
    run_id: Optional[str] = None
    first_trial: int = 0  # a resumed run numbers its new trials after the recorded ones
    # A resumed run's recorded trials by number: one whose row was written just before the
    # process died is told its result, not asked again.
    recorded: dict[int, RecordedTrial] = field(default_factory=dict)
    trial: Optional[int] = None
    liveness: Optional[Liveness] = None

    @property
    def shared(self) -> bool:
        return self.liveness is not None


@dataclass
class Context:
    """What a strategy may use besides the space: the proposer and the budget (both counted),
    the dev examples (to read a key's errors), the shared pool of scored candidates, and for
    strategies that run another framework's optimizer, the task's model and metric."""

    space: SearchSpace
    seed: int
    proposer: Optional[LM] = None
    meter: Optional[BudgetMeter] = None
    dev: tuple[Example, ...] = ()
    pool: Pool = field(default_factory=Pool)
    task_model: Optional[LM] = None
    metric: Optional[Metric] = None
    paraphrased: bool = False  # the space's instructions were paraphrased once for all arms
    run: RunState = field(default_factory=RunState)


class Strategy(ABC):
    """Subclasses implement ask/tell; setup and close are no-op hooks."""

    name = "base"

    def __init__(self, context: Context):
        self.context = context

    def setup(self) -> None:
        """Prepare before the first ask (e.g. propose instructions); may spend budget."""

    def unreached(self, queued: list) -> list:
        """What a strategy queues first is trials 0, 1, ... of the run: a resumed run asks only
        those it had not reached (the others are recorded)."""
        return queued[self.context.run.first_trial:]

    @abstractmethod
    def ask(self) -> Optional[Candidate]:
        """The next candidate to score, or None when the strategy has nothing left to try."""

    @abstractmethod
    def tell(self, candidate: Candidate, result) -> None:
        """The candidate's KeyScore (None when scoring was interrupted); see rankable()."""

    def close(self) -> None:
        """Release resources."""
