"""Load labeled examples (CSV, TSV, JSONL, JSON, Parquet), clean them, split them, hash them."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from promptsearch.core import structured
from promptsearch.errors import InputError
from promptsearch.task.config import Task
from promptsearch.task.shift import shift_note
from promptsearch.task.splits import split_dev

log = logging.getLogger("promptsearch")

MAX_CELL_CHARS = 100_000
MAX_LABELS = 20
DEFAULT_TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Example:
    inputs: dict[str, str]
    target: str

    @property
    def id(self) -> str:
        return hashlib.sha1(_canonical(self.inputs).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Dataset:
    """The three disjoint pools of a task: demos come from `pool`, search scores on `dev`."""

    pool: tuple[Example, ...]
    dev: tuple[Example, ...]
    test: tuple[Example, ...]
    labels: tuple[str, ...] | None
    hash: str
    warnings: tuple[str, ...] = field(default=())
    # A structured target's (name, type) fields: each target is a canonical JSON object
    fields: tuple[tuple[str, str], ...] | None = None


def load_dataset(task: Task) -> Dataset:
    spec = task.config.data
    notes: list[str] = []
    train = _clean(_read_examples(task, "data.train", spec.train), "train", notes)
    if spec.test:
        test = _clean(_read_examples(task, "data.test", spec.test), "test", notes)
        train = _drop_leaks(train, test, notes)
    else:
        train, test = _hold_out(train, task.config.search.seed, spec.test_size)
        notes.append(f"no data.test given: held out {len(test)} train examples as the test set")
    if spec.test_size:
        test = test[: spec.test_size]
    fields = structure_of(task, train + test)
    if fields:
        train, test = (_canonical_targets(examples, fields) for examples in (train, test))
    labels = None if fields else _labels(task, train + test)
    try:
        pool, dev = split_dev(train, spec.dev_size, task.config.search.seed, spec.dev_split,
                              notes)
    except ValueError as error:
        raise InputError(str(error), source=task.source, field="data.dev_split",
                         fix="use data.dev_split: random") from None
    # A test set held out of train is like it by construction; an `unseen` dev set already
    # keeps dev as far from the pool as new items are, which is what the check would advise.
    if spec.test and spec.dev_split == "random":
        notes += filter(None, [shift_note(pool, dev, test, task.config.search.seed)])
    for note in notes:
        log.warning("%s: %s", task.name, note)
    digest = _hash(spec.input_fields, spec.target, train, test)
    return Dataset(tuple(pool), tuple(dev), tuple(test), labels, digest, tuple(notes), fields)


def read_table(path: Path) -> pd.DataFrame:
    """Read any supported data file into a DataFrame of strings."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        frame = pd.read_json(path, lines=True, dtype=False)
    elif suffix == ".json":
        frame = pd.read_json(path, dtype=False)
    elif suffix in (".csv", ".tsv"):
        frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str,
                            keep_default_na=False, encoding="utf-8")
    elif suffix == ".parquet":
        frame = pd.read_parquet(path)
    else:
        raise ValueError(f"unsupported file type {suffix!r}")
    # Objects and lists in JSON files stay JSON (a structured target), not Python's repr.
    frame = frame.map(lambda v: json.dumps(v, ensure_ascii=False)
                      if isinstance(v, (dict, list)) else v)
    return frame.fillna("").astype(str)


def _read_examples(task: Task, field_name: str, relative: str) -> list[Example]:
    path = task.path(relative)
    if not path.is_file():
        raise InputError(f"data file not found: {path}", source=task.source, field=field_name,
                         fix="give a path relative to the task file")
    try:
        frame = read_table(path)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 (byte {exc.start})", source=task.source,
                         field=field_name, fix="save the data file as UTF-8") from None
    except ValueError as exc:
        raise InputError(f"cannot read {path}: {str(exc).splitlines()[0]}", source=task.source,
                         field=field_name,
                         fix="use .jsonl, .json (list of objects), .csv, .tsv or .parquet",
                         ) from None
    if frame.empty:
        raise InputError(f"{path} has no rows", source=task.source, field=field_name,
                         fix="point to a file with labeled examples")
    return _to_examples(task, frame, path)


def _to_examples(task: Task, frame: pd.DataFrame, path: Path) -> list[Example]:
    spec = task.config.data
    needed = [(c, "data.input") for c in spec.input_fields] + \
        [(c, "data.target") for c in spec.target_columns]
    for column, key in needed:
        if column not in frame.columns:
            raise InputError(f"column {column!r} not in {path.name} (columns: "
                             f"{', '.join(map(str, frame.columns))})", source=task.source,
                             field=key, fix="name one of the file's columns")
    columns = list(dict.fromkeys(spec.input_fields + spec.target_columns))
    too_long = frame[columns].map(len).max().max()
    if too_long > MAX_CELL_CHARS:
        raise InputError(f"{path.name} has a value of {too_long} characters", source=task.source,
                         field="data", fix=f"keep each value under {MAX_CELL_CHARS} characters")
    records = frame[columns].to_dict("records")
    return [Example({f: r[f] for f in spec.input_fields}, _target(r, spec)) for r in records]


def _target(record: dict, spec) -> str:
    """One column's text, or several columns as a JSON object (typed by structure_of)."""
    if isinstance(spec.target, str):
        return record[spec.target].strip()
    return json.dumps({c: record[c].strip() for c in spec.target}, ensure_ascii=False)


def structure_of(task: Task, examples: list[Example]) -> tuple[tuple[str, str], ...] | None:
    """A structured target's (name, type) fields, or None for a text or label target: several
    target columns, or one column whose every value is a JSON object."""
    objects = [_object(example.target) for example in examples]
    if isinstance(task.config.data.target, str) and not all(objects):
        return None
    names = list(dict.fromkeys(name for obj in objects for name in obj))
    missing = [name for name in names if any(name not in obj for obj in objects)]
    if missing:
        raise InputError(f"target objects without field(s) {', '.join(missing)}",
                         source=task.source, field="data.target",
                         fix="give every target object the same fields")
    return tuple((name, structured.field_type([obj[name] for obj in objects]))
                 for name in names)


def _object(text: str) -> dict | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) and value else None


def _canonical_targets(examples: list[Example], fields) -> list[Example]:
    return [Example(example.inputs, structured.canonical(json.loads(example.target), fields))
            for example in examples]


def _clean(examples: list[Example], split: str, notes: list[str]) -> list[Example]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for example in examples:
        signature = (example.id, example.target)
        if signature not in seen:
            seen.add(signature)
            kept.append(example)
    if len(kept) < len(examples):
        notes.append(f"dropped {len(examples) - len(kept)} duplicate rows from {split}")
    return kept


def _drop_leaks(train: list[Example], test: list[Example], notes: list[str]) -> list[Example]:
    test_ids = {example.id for example in test}
    kept = [example for example in train if example.id not in test_ids]
    if len(kept) < len(train):
        notes.append(f"dropped {len(train) - len(kept)} train rows whose input is also in test")
    return kept


def _hold_out(train: list[Example], seed: int, size: int | None):
    shuffled = list(train)
    random.Random(f"test-holdout:{seed}").shuffle(shuffled)
    count = size or max(1, min(100, int(len(shuffled) * DEFAULT_TEST_FRACTION)))
    return shuffled[count:], shuffled[:count]


def _labels(task: Task, examples: list[Example]) -> tuple[str, ...] | None:
    declared = task.config.prompt.labels
    counts = Counter(example.target for example in examples)
    if declared:
        unknown = sorted(set(counts) - set(declared))
        if unknown:
            raise InputError(f"targets not in labels: {', '.join(map(repr, unknown[:5]))}",
                             source=task.source, field="prompt.labels",
                             fix="add them to prompt.labels or fix the data")
        return tuple(declared)
    if len(counts) > MAX_LABELS:
        return None
    return tuple(sorted(counts, key=lambda label: (-counts[label], label)))


def _hash(fields, target, train: list[Example], test: list[Example]) -> str:
    digest = hashlib.sha256(_canonical({"input": list(fields), "target": target}).encode())
    for split, examples in (("train", train), ("test", test)):
        for example in examples:
            digest.update(_canonical([split, example.inputs, example.target]).encode())
    return digest.hexdigest()[:16]


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
