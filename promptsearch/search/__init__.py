"""Search strategies behind one ask/tell interface."""

from .base import Candidate, Context, Strategy
from .random_search import RandomStrategy
from .tpe import TPEStrategy

# `auto` is TPE until the strategy portfolio lands; the name is reserved for it.
STRATEGIES: dict[str, type[Strategy]] = {
    "tpe": TPEStrategy,
    "random": RandomStrategy,
    "auto": TPEStrategy,
}

__all__ = ["Candidate", "Context", "Strategy", "STRATEGIES", "TPEStrategy", "RandomStrategy"]
