"""The Strategy interface: ask for a candidate, tell its score (optuna's ask/tell loop)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Optional

from ..key import PromptKey
from .space import Point, SearchSpace


@dataclass
class Candidate:
    trial: int
    key: PromptKey
    origin: str
    point: Optional[Point] = None
    handle: Any = field(default=None, repr=False)  # the strategy's own bookkeeping (optuna trial)


@dataclass
class Context:
    """What a strategy may use besides the space: the proposer and the budget, both counted."""

    space: SearchSpace
    seed: int
    proposer: Any = None       # promptsearch.lm.client.LM or None
    meter: Any = None          # promptsearch.budget.BudgetMeter
    storage_url: Optional[str] = None
    study_name: Optional[str] = None


class Strategy(ABC):
    """Subclasses implement ask/tell; setup and close are no-op hooks."""

    name = "base"

    def __init__(self, context: Context):
        self.context = context

    def setup(self) -> None:
        """Prepare before the first ask (e.g. propose instructions); may spend budget."""

    @abstractmethod
    def ask(self) -> Optional[Candidate]:
        """The next candidate to score, or None when the strategy has nothing left to try."""

    @abstractmethod
    def tell(self, candidate: Candidate, score: Optional[float], complete: bool) -> None:
        """The candidate's dev score (None or complete=False when scoring was cut short)."""

    def close(self) -> None:
        """Release resources."""
