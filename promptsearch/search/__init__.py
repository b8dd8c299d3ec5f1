"""Search strategies behind one ask/tell interface."""

from .auto import AutoStrategy
from .base import Candidate, Context, Strategy
from .dspy_strategies import OPTIMIZERS, dspy_strategy
from .llm_strategies import (APEStrategy, DifferentialEvolutionStrategy, EvolutionStrategy,
                             OPROStrategy, ProTeGiStrategy)
from .random_search import RandomStrategy
from .tpe import TPEStrategy

STRATEGIES: dict[str, type[Strategy]] = {
    strategy.name: strategy for strategy in (
        AutoStrategy, TPEStrategy, RandomStrategy, APEStrategy, OPROStrategy, ProTeGiStrategy,
        EvolutionStrategy, DifferentialEvolutionStrategy, *(dspy_strategy(name) for name in OPTIMIZERS))
}

__all__ = ["Candidate", "Context", "Strategy", "STRATEGIES"]
