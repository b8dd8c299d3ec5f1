"""Every search strategy by its `search.strategy` name: the one mapping of them."""

from promptsearch.search.base import Strategy
from promptsearch.search.strategies.auto import AutoStrategy
from promptsearch.search.strategies.dspy import OPTIMIZERS, dspy_strategy
from promptsearch.search.strategies.llm import (
    APEStrategy,
    DifferentialEvolutionStrategy,
    EvolutionStrategy,
    OPROStrategy,
    ProTeGiStrategy,
)
from promptsearch.search.strategies.random import RandomStrategy
from promptsearch.search.strategies.tpe import TPEStrategy
from promptsearch.task.config import STRATEGY_NAMES

_CLASSES = {strategy.name: strategy for strategy in (
    AutoStrategy, TPEStrategy, RandomStrategy, APEStrategy, OPROStrategy, ProTeGiStrategy,
    EvolutionStrategy, DifferentialEvolutionStrategy,
    *(dspy_strategy(name) for name in OPTIMIZERS))}
# In the order of the task file's contract (task.config.STRATEGY_NAMES); a name without a class,
# or a class without a name there, fails at import.
STRATEGIES: dict[str, type[Strategy]] = {name: _CLASSES.pop(name) for name in STRATEGY_NAMES}
if _CLASSES:
    raise ImportError(f"strategies missing from task.config.STRATEGY_NAMES: {', '.join(_CLASSES)}")
