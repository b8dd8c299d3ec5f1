"""Errors a user can act on: each carries a one-line message and a process exit code."""

from __future__ import annotations

EXIT_BAD_INPUT = 2
EXIT_REGRESSION = 3
# The run stopped because the model cannot answer: nothing listening, DNS, a refused key, an
# unknown model, or more failed calls than search.max_error_rate allows. No lock file is written,
# everything recorded is kept, and `run --resume` goes on once the cause is fixed.
EXIT_MODEL_UNAVAILABLE = 4
EXIT_ERROR_RATE = EXIT_MODEL_UNAVAILABLE
EXIT_INTERRUPTED = 130


class PromptsearchError(Exception):
    """Base of errors shown to the user as one line, never as a traceback."""

    exit_code = 1


class InputError(PromptsearchError):
    """Bad task file, dataset or template. The message names file, field and fix."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None,
                 fix: str | None = None):
        self.source, self.field, self.fix = source, field, fix
        parts = [f"{source}: " if source else "", f"{field}: " if field else "", message]
        if fix:
            parts.append(f" (fix: {fix})")
        super().__init__("".join(parts))


class BudgetExhausted(Exception):
    """Raised inside an evaluation when the search budget has no call left for it."""


class LMError(PromptsearchError):
    """A model call failed after all retries."""


class ModelUnavailable(PromptsearchError):
    """The model's API cannot answer (see promptsearch.lm.health): one line, cause and fix."""

    exit_code = EXIT_MODEL_UNAVAILABLE

    def __init__(self, kind: str, what: str, fix: str):
        self.kind, self.what, self.fix = kind, what, fix
        super().__init__(f"model unavailable: {what} (fix: {fix})")
