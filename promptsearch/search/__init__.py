"""Search strategies behind one ask/tell interface (optuna's ask/tell loop): `base` holds the
interface and the context a strategy gets, `registry` every strategy by name, `loop` the loop
that drives one."""

from promptsearch.search.base import Candidate, Context, Strategy
from promptsearch.search.registry import STRATEGIES

__all__ = ["Candidate", "Context", "Strategy", "STRATEGIES"]
