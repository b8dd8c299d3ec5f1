"""`init`: a starter task.yaml guessed from a dataset (input and target columns, label set,
metric), which `validate` accepts and `run` runs. The guesses are written as comments too, so
the user sees what to change."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from promptsearch.errors import InputError
from promptsearch.task.data import MAX_LABELS, read_table

TARGET_NAMES = ("output", "target", "label", "answer", "completion", "class", "y")
INPUT_NAMES = ("input", "text", "question", "sentence", "prompt", "query", "review", "x")
NUMBER = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")


@dataclass
class Guess:
    inputs: list[str]
    target: str
    labels: Optional[list[str]]
    metric: str
    rows: int


def guess(path: Path) -> Guess:
    try:
        frame = read_table(path)
    except FileNotFoundError:
        raise InputError("file not found", source=str(path), fix="give the path of a data "
                         "file (.jsonl, .json, .csv, .tsv, .parquet)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the data ({str(exc).splitlines()[0][:120]})",
                         source=str(path), fix="use UTF-8 .jsonl, .json, .csv, .tsv or .parquet")
    columns = [str(c) for c in frame.columns]
    if len(columns) < 2 or len(frame) < 2:
        raise InputError(f"need at least 2 columns and 2 rows, found {len(columns)} and "
                         f"{len(frame)}", source=str(path), fix="one input and one target column")
    target = next((c for c in columns if c.lower() in TARGET_NAMES), columns[-1])
    named = [c for c in columns if c.lower() in INPUT_NAMES and c != target]
    inputs = named[:1] or [c for c in columns if c != target]
    values = frame[target].astype(str)
    distinct = sorted(set(values))
    is_label = len(distinct) <= MAX_LABELS and len(values) >= 2 * len(distinct)
    numeric = all(NUMBER.match(v) for v in values)
    metric = "numeric" if numeric and not is_label else "exact_match"
    return Guess(inputs, target, distinct if is_label else None, metric, len(frame))


def starter_yaml(data_path: Path, out_path: Path, name: str) -> str:
    found = guess(data_path)
    relative = _relative(data_path, out_path.parent)
    describe = " and ".join(found.inputs)
    if found.labels:
        seed = f"Classify the {describe} as one of: {', '.join(found.labels)}."
    else:
        seed = f"Given the {describe}, write the {found.target}."
    inputs = found.inputs[0] if len(found.inputs) == 1 else found.inputs
    lines = [
        f"# Starter task written by `promptsearch init {data_path}`: check the guesses below.",
        f"name: {name}",
        "data:",
        f"  train: {json.dumps(relative)}",
        "  # test: held-out file; without it a fifth of the rows are held out for test",
        f"  input: {json.dumps(inputs)}          # guessed input column(s)",
        f"  target: {json.dumps(found.target)}   # guessed target column",
        f"  dev_size: {min(30, max(5, found.rows // 5))}",
        "model: local/gemma-3-270m             # the embedded model; any litellm model name",
        "prompt:",
        f"  seeds: [{json.dumps(seed)}]",
    ]
    if found.labels:
        lines.append(f"  labels: {json.dumps(found.labels)}   # the distinct targets")
    lines += [
        f"metric: {found.metric}",
        "search:",
        "  strategy: auto",
        "  budget: {lm_calls: 300, minutes: 10}",
        "  seed: 0",
    ]
    return "\n".join(lines) + "\n"


def _relative(path: Path, folder: Path) -> str:
    try:
        return str(path.resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(path.resolve())


def task_name(data_path: Path) -> str:
    """The file's stem, or its folder's name when the stem is generic (train.jsonl)."""
    stem = data_path.stem
    if stem.lower() in ("train", "data", "dataset", "all", "examples"):
        stem = data_path.resolve().parent.name
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "_", stem).strip("_.-")
    return name or "task"
