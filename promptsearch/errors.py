"""Errors a user can act on: each carries a one-line message and a process exit code."""

from __future__ import annotations

EXIT_BAD_INPUT = 2
EXIT_REGRESSION = 3
EXIT_ERROR_RATE = 4  # the search stopped early: too many model calls failed (results kept)
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
