"""Winning keys into apps: a JSON lock, a standalone Python module, or a DSPy program."""

from promptsearch.export.python import json_lock, python_module


def to_dspy(key, max_tokens: int = 48, target: str = "output"):
    """A DSPy program that sends `key`'s prompt verbatim (promptsearch.export.dspy). DSPy is
    imported only here: it is heavy, and apps that never ask for it need not install it."""
    from promptsearch.export.dspy import to_dspy as build

    return build(key, max_tokens, target)


__all__ = ["json_lock", "python_module", "to_dspy"]
