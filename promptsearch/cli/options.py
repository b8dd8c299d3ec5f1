"""Command-line numbers checked as strictly as task.yaml checks the same settings, and argparse
errors as one line with exit code 2, like every other bad input."""

from __future__ import annotations

import argparse
import sys
from typing import Annotated, Any, NoReturn

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from rich.console import Console

from promptsearch.errors import EXIT_BAD_INPUT
from promptsearch.task.config import Budget, LMSpec, SearchSpec, model_string

# Without a terminal (a pipe, a file, a CI log) rich would wrap at 80 columns and squeeze table
# columns to "s…"; lines are left as long as their content instead.
UNWRAPPED_WIDTH = 1000


def console_for(stderr: bool = False) -> Console:
    """A terminal's own width; anywhere else unwrapped, whatever $COLUMNS says (test runners
    and some CI set it for their own output)."""
    console = Console(stderr=stderr)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, width=UNWRAPPED_WIDTH)


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line (`error: ... (fix: ...)`), exit code 2."""

    def error(self, message: str) -> NoReturn:
        console_for(stderr=True).print(
            f"[bold red]error:[/] {self.prog}: {message} (fix: see `{self.prog} --help`)",
            highlight=False, soft_wrap=True)
        sys.exit(EXIT_BAD_INPUT)


def like_yaml(model: type[BaseModel], name: str, where: str):
    """An argparse type that checks a value as task.yaml's `where` (model.name) is checked."""
    info = model.model_fields[name]
    return _checked(TypeAdapter(Annotated[(info.annotation, *info.metadata)]), f"as {where}")


def bounded(kind: type, **bounds: Any):
    """An argparse type for a number with pydantic bounds (ge=0, gt=0, lt=1, ...)."""
    return _checked(TypeAdapter(Annotated[kind, Field(**bounds)]), "")


def _checked(adapter: TypeAdapter, context: str):
    def parse(text: str):
        try:
            value = adapter.validate_python(text)
        except ValidationError as exc:
            detail = exc.errors()[0]["msg"].lower()
            raise argparse.ArgumentTypeError(f"{text!r}: {detail}"
                                             + (f" ({context})" if context else "")) from None
        if value is None:
            raise argparse.ArgumentTypeError(f"{text!r}: a number is needed")
        return value
    return parse


def model_option(text: str) -> str:
    """--model, checked as task.yaml's `model:` is."""
    try:
        return model_string(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def with_model(task, model: str | None):
    """The task with another model (its data, metric and prompts unchanged)."""
    if not model:
        return task
    return task.model_copy(update={"config": task.config.model_copy(update={"model": model})})


LM_CALLS = like_yaml(Budget, "lm_calls", "search.budget.lm_calls in task.yaml")
THREADS = like_yaml(LMSpec, "threads", "lm.threads in task.yaml")
MAX_ERROR_RATE = like_yaml(SearchSpec, "max_error_rate", "search.max_error_rate in task.yaml")


def with_overrides(task, args):
    """The task with the command line's --strategy, --lm-calls and --max-error-rate applied."""
    config = task.config
    search = config.search
    if getattr(args, "strategy", None):
        search = search.model_copy(update={"strategy": args.strategy})
    if getattr(args, "lm_calls", None):
        search = search.model_copy(update={
            "budget": search.budget.model_copy(update={"lm_calls": args.lm_calls})})
    if getattr(args, "max_error_rate", None) is not None:
        search = search.model_copy(update={"max_error_rate": args.max_error_rate})
    return task.model_copy(update={"config": config.model_copy(update={"search": search})})
