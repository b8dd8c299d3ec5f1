"""One run, in one process or many: prepare, search, finalize; and re-scoring a stored key
(verify, side by side)."""

from promptsearch.pipeline.prepare import Prepared, RunResult, prepare
from promptsearch.pipeline.runner import execute

__all__ = ["Prepared", "RunResult", "prepare", "execute"]
