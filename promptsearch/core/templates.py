"""Sandboxed Jinja2 rendering of instructions and formats, checked before any model call."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import StrictUndefined, TemplateError, UndefinedError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from promptsearch.errors import InputError

# One immutable sandbox: templates can read the fields they are given and nothing else.
_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                     keep_trailing_newline=True)
_FORBIDDEN = ("__", "import", "globals", "mro", "subclasses", "builtins")


@lru_cache(maxsize=4096)
def _compile(source: str):
    return _ENV.from_string(source)


def render(source: str, values: dict[str, str]) -> str:
    if "{" not in source:
        return source
    try:
        return _compile(source).render(**values)
    except UndefinedError:
        raise missing_fields(source, values) from None


def missing_fields(source: str, values: dict[str, str]) -> InputError:
    """An app called render() or predict() without a field the prompt needs: name them all."""
    expected = sorted(fields_used(source))
    missing = [name for name in expected if name not in values]
    given = ", ".join(sorted(values)) or "none"
    return InputError(f"the prompt needs input field(s) {', '.join(missing)}; given: {given}",
                      field="inputs",
                      fix="pass " + ", ".join(f"{name}=..." for name in expected))


def fields_used(source: str) -> set[str]:
    return set(meta.find_undeclared_variables(_ENV.parse(source)))


def check_template(source: str, fields: tuple[str, ...], where: str, field: str) -> None:
    """Refuse a template that names unknown fields, reaches for internals, or fails to render."""
    lowered = source.replace(" ", "").lower()
    if any(token in lowered for token in _FORBIDDEN) and "{" in source:
        raise InputError("template reaches for Python internals", source=where, field=field,
                         fix="use only {{ field }} placeholders")
    try:
        unknown = sorted(fields_used(source) - set(fields))
        if unknown:
            raise InputError(f"template names unknown field(s) {', '.join(unknown)}",
                             source=where, field=field,
                             fix=f"use only {', '.join('{{ %s }}' % f for f in fields)}")
        render(source, {name: "example" for name in fields})
    except SecurityError as exc:
        raise InputError(f"template refused by the sandbox ({exc})", source=where, field=field,
                         fix="use only {{ field }} placeholders") from None
    except TemplateError as exc:
        raise InputError(f"template error: {exc}", source=where, field=field,
                         fix="use Jinja2 syntax such as {{ input }}") from None
