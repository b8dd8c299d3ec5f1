"""Versions of a task's best key and their aliases; references like `sentiment@production`.

A run records a new version only when its winner beats the latest version of the same task and
model on test (or when the data changed: then the new score is the one that holds). Version
numbers count per task, whatever the model; an alias (`production`, `staging`, ...) names one
version and is moved by `promote`.
"""

from __future__ import annotations

import re
from typing import Optional

from .errors import InputError

ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,99}$")


def improves(lock: dict, previous: Optional[dict]) -> bool:
    """Whether `lock` should become a new version after `previous` (a lock, or None)."""
    if previous is None or previous.get("dataset_hash") != lock.get("dataset_hash"):
        return True
    return lock["scores"]["test"] > previous["scores"]["test"]


def latest_for_model(store, task: str, model: str) -> Optional[dict]:
    mine = [v for v in store.list_versions(task) if v["model"] == model]
    return mine[-1]["lock"] if mine else None


def record(store, task: str, model: str, run_id: str, lock: dict) -> Optional[int]:
    """The new version's number, or None when the run did not improve on the latest one."""
    if not improves(lock, latest_for_model(store, task, model)):
        return None
    return store.add_version(task, model, run_id, lock)


def split_ref(name: str) -> tuple[str, Optional[str]]:
    """`sentiment@production` -> ("sentiment", "production"); `sentiment` -> ("sentiment", None)."""
    task, _, ref = name.partition("@")
    return task, (ref or None)


def resolve(store, task: str, ref: str) -> dict:
    """The lock of `task` at `ref`: a version number, an alias, or `latest`."""
    recorded = store.list_versions(task)
    if not recorded:
        raise InputError(f"no versions of task {task!r} in the store", field="task",
                         fix="run `promptsearch run task.yaml` first, or pass --storage")
    by_number = {v["version"]: v for v in recorded}
    if ref == "latest":
        return recorded[-1]["lock"]
    number = int(ref) if ref.isdigit() else store.aliases_of(task).get(ref)
    if number not in by_number:
        known = ", ".join(str(n) for n in by_number)
        aliases = ", ".join(sorted(store.aliases_of(task))) or "none"
        raise InputError(f"{task}@{ref}: no such version or alias", field="version",
                         fix=f"versions: {known}; aliases: {aliases}")
    return by_number[number]["lock"]


def promote(store, task: str, version: str, alias: str) -> int:
    """Point `alias` at `version` (a number, an alias or `latest`); returns the number."""
    if not ALIAS_RE.match(alias) or alias == "latest" or alias.isdigit():
        raise InputError(f"bad alias {alias!r}", field="--alias",
                         fix="a name such as production or staging (letters first)")
    number = int(resolve(store, task, version)["version"])
    store.set_alias(task, alias, number)
    return number
