"""Pure building blocks, no I/O and no model: the PromptKey, templates, retrieval, metrics,
statistics and the named states of recorded things."""

from promptsearch.core.key import Demo, OutputSpec, PromptKey
from promptsearch.core.metrics import Metric, get_metric

__all__ = ["Demo", "OutputSpec", "PromptKey", "Metric", "get_metric"]
