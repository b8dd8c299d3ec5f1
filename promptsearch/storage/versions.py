"""Versions of a task's best key and their aliases; references like `sentiment@production`.

A task's first run records version 1. After that a run records a new version only when its
winner beats the latest version of the same task and model significantly: a one-sided paired
test on the test examples both were scored on, with the task's metric (`run --promote
significant`, the default). Promoting every higher test score would, over many runs, promote
noise (the winner's curse). `--promote always` takes any winner, `never` none; a change of
data always records one (the new score is the one that holds). Version numbers count per task,
whatever the model; an alias (`production`, `staging`, ...) names one version and is moved by
`promote`.
"""

from __future__ import annotations

import re
from typing import Optional

from promptsearch.core.stats import Answers, compare
from promptsearch.errors import InputError

ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,99}$")


PROMOTE = ("significant", "always", "never")
ALPHA = 0.05


def decide(lock: dict, previous: Optional[dict], metric, policy: str = "significant",
           targets: Optional[dict] = None) -> tuple[bool, str]:
    """Whether `lock` becomes a new version after `previous` (a lock, or None), and why.
    `targets`: the test targets by example id (a corpus metric recomputes from them)."""
    if previous is None:
        return True, "the task's first version"
    if previous.get("dataset_hash") != lock.get("dataset_hash"):
        return True, "the data changed since the latest version: the new score holds"
    if policy in ("always", "never"):
        return policy == "always", f"--promote {policy}"
    mine, theirs = lock["scores"].get("test_by_example"), previous["scores"].get(
        "test_by_example")
    if not mine or not theirs:  # a version recorded before per-example scores were kept
        better = lock["scores"]["test"] > previous["scores"]["test"]
        return better, (f"test {lock['scores']['test']:.3f} vs {previous['scores']['test']:.3f} "
                        f"(version {previous.get('version')} has no per-example record)")
    result = compare(metric, *_paired(mine, theirs, targets or {}), alternative="greater")
    verdict = (f"Δ {result.delta:+.3f} over version {previous.get('version')} on "
               f"{result.examples} test examples, one-sided p={result.p_value:.3f}")
    if result.p_value < ALPHA:
        return True, verdict
    return False, verdict + f" (not significant at {ALPHA:g})"


def _paired(mine: dict, theirs: dict, targets: dict) -> tuple[Answers, Answers]:
    shared = [example_id for example_id in mine if example_id in theirs]
    target_of = [targets.get(example_id, "") for example_id in shared]
    return tuple(Answers([side[i]["prediction"] for i in shared], target_of,
                         [side[i]["score"] for i in shared]) for side in (mine, theirs))


def latest_for_model(store, task: str, model: str) -> Optional[dict]:
    mine = [v for v in store.list_versions(task) if v["model"] == model]
    return mine[-1]["lock"] if mine else None


def record(store, task: str, model: str, run_id: str, lock: dict, metric,
           policy: str = "significant", targets: Optional[dict] = None
           ) -> tuple[Optional[int], str]:
    """(the new version's number or None, why): see decide()."""
    promoted, why = decide(lock, latest_for_model(store, task, model), metric, policy, targets)
    return (store.add_version(task, model, run_id, lock) if promoted else None), why


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
