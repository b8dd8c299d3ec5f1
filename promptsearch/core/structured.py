"""Structured answers: a JSON object with named, typed fields.

A target or an answer is kept as one canonical JSON text (the fields in their order, numbers as
numbers, compact), so everything that handles text (the store, the cache, exact match, lock
files) handles it unchanged. Replies are read tolerantly: the first JSON object in the text,
inside a code fence or with words around it, whose fields are all there and of their type.
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional, Sequence

Field = tuple[str, str]  # (name, type): type is "number", "string" or "list"
TYPES = ("number", "string", "list")
_NUMBER = re.compile(r"^\s*-?\d+(?:\.\d+)?\s*$")


def field_type(values: Sequence[Any]) -> str:
    """The type the data gives a field: numbers, lists, or else text."""
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                      or isinstance(v, str) and _NUMBER.match(v) for v in values):
        return "number"
    if values and all(isinstance(v, list) for v in values):
        return "list"
    return "string"


def canonical(obj: dict, fields: Sequence[Field]) -> Optional[str]:
    """The object's fields as canonical JSON, or None if one is missing or of the wrong type."""
    values = {}
    for name, kind in fields:
        if name not in obj:
            return None
        value = _coerce(obj[name], kind)
        if value is None:
            return None
        values[name] = value
    return json.dumps(values, ensure_ascii=False)


def _coerce(value: Any, kind: str) -> Any:
    if kind == "number":
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, float)):
            number = float(value)
        elif isinstance(value, str) and _NUMBER.match(value):
            number = float(value)
        else:
            return None
        return int(number) if number.is_integer() else number
    if kind == "list":
        if isinstance(value, list):
            return [str(item) for item in value]
        return [part.strip() for part in str(value).split(",") if part.strip()]
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def first_object(text: str) -> Optional[dict]:
    """The first JSON object in `text` (code fences and surrounding words are skipped)."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def parse_answer(text: str, fields: Sequence[Field]) -> Optional[str]:
    """A reply's answer as canonical JSON, or None when it holds no valid object."""
    found = first_object(text)
    return None if found is None else canonical(found, fields)


def values_of(answer: str) -> dict:
    """The field values of a canonical answer or target."""
    return json.loads(answer)


def shown(value: Any) -> str:
    """A field's value as the text a field metric compares."""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
