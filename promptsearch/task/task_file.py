"""Reading a task file: size and encoding limits, YAML without aliases or tags, each key's line
number, and a validation error turned into one line naming file:line, field and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, get_args

import yaml
from pydantic import BaseModel, ValidationError

from promptsearch.errors import InputError


def read_text(path: Path, max_bytes: int) -> str:
    if not path.is_file():
        raise InputError("task file not found", source=str(path), fix="check the path")
    if path.stat().st_size > max_bytes:
        raise InputError("task file larger than 1 MB", source=str(path),
                         fix="keep data in the data files the task names")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 (byte {exc.start})", source=str(path),
                         fix="save the file as UTF-8") from None


def parse_yaml(text: str, path: Path):
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise InputError(f"invalid YAML: {getattr(exc, 'problem', exc)}", source=where,
                         fix="fix the YAML syntax") from None
    if node is None:
        raise InputError("the file is empty", source=str(path),
                         fix="write a task (see docs/reference.md)")
    _refuse_aliases(node, path)
    return yaml.safe_load(text)


def _refuse_aliases(node, path: Path) -> None:
    """Anchors/aliases are what YAML bombs are made of; task files never need them."""
    seen: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            raise InputError("YAML aliases (*name) are not allowed", source=f"{path}:"
                             f"{current.start_mark.line + 1}", fix="write the value out in full")
        seen.add(id(current))
        if isinstance(current, yaml.MappingNode):
            stack.extend(child for pair in current.value for child in pair)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def line_index(text: str) -> dict[tuple, int]:
    """Map each key path (name, 'data', 'train', ...) to its 1-based line in the file."""
    index: dict[tuple, int] = {}

    def walk(node, prefix: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                path = prefix + (key_node.value,)
                index[path] = key_node.start_mark.line + 1
                walk(value_node, path)
        elif isinstance(node, yaml.SequenceNode):
            for position, child in enumerate(node.value):
                index[prefix + (position,)] = child.start_mark.line + 1
                walk(child, prefix + (position,))

    walk(yaml.compose(text, Loader=yaml.SafeLoader), ())
    return index


def explain(exc: ValidationError, path: Path, lines: dict[tuple, int],
            root: type[BaseModel]) -> InputError:
    error = _most_specific(exc.errors())
    loc = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
    loc = tuple(p for p in loc if p not in ("str", "list[str]", "int", "float", "bool")
                and not _union_branch(p, root))
    field = ".".join(str(part) for part in loc) or "(top level)"
    line = _nearest_line(loc, lines)
    where = f"{path}:{line}" if line else str(path)
    message = _message(error)
    fix = None if "(fix:" in message else _fix(error, loc, root)  # the validator gave its own fix
    return InputError(message, source=where, field=field, fix=fix)


def _most_specific(errors: list[dict]) -> dict:
    """Of the errors under the first one's key, the deepest: a mapping given for a field that
    takes a name or a mapping (metric) fails both ways, and the mapping's own error is the one
    that says what to fix."""
    root = errors[0]["loc"][:1]
    return max((e for e in errors if e["loc"][:1] == root), key=lambda e: len(e["loc"]))


def _union_branch(part, root: type[BaseModel]) -> bool:
    """pydantic names the model a union tried in an error's location: not a key of the file."""
    return isinstance(part, str) and part in _model_names(root)


def _model_names(model: type[BaseModel]) -> set[str]:
    """The names of `model` and of every model its fields hold, through unions and options."""
    names = {model.__name__}
    for field in model.model_fields.values():
        for kind in _kinds(field.annotation):
            if isinstance(kind, type) and issubclass(kind, BaseModel) and \
                    kind.__name__ not in names:
                names |= _model_names(kind)
    return names


def _kinds(annotation) -> list:
    return [annotation, *(kind for arg in get_args(annotation) for kind in _kinds(arg))]


def _nearest_line(loc: tuple, lines: dict[tuple, int]) -> Optional[int]:
    for cut in range(len(loc), 0, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def _message(error: dict) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    return error["msg"].removeprefix("Value error, ")


def _fix(error: dict, loc: tuple, root: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1], root)
        allowed = ", ".join(parent.model_fields) if parent else "see docs/reference.md"
        return f"remove it or use one of: {allowed}"
    if kind == "missing":
        return f"add '{loc[-1]}:' to the file"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return "write a value of the expected type"
    return "see the task.yaml reference in docs/reference.md"


def _model_at(loc: tuple, root: type[BaseModel]):
    model = root
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model
