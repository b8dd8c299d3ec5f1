"""promptsearch: search prompt templates (keys) against labeled tasks; keep the best per task."""

from promptsearch._version import __version__
from promptsearch.api import evaluate, load_best, run
from promptsearch.core.key import Demo, OutputSpec, PromptKey

__all__ = ["run", "evaluate", "load_best", "PromptKey", "Demo", "OutputSpec", "__version__"]
