"""promptsearch: search prompt templates (keys) against labeled tasks; keep the best per task."""

__version__ = "0.1.0"

from .api import evaluate, load_best, run  # noqa: E402
from .key import Demo, OutputSpec, PromptKey  # noqa: E402

__all__ = ["run", "evaluate", "load_best", "PromptKey", "Demo", "OutputSpec", "__version__"]
