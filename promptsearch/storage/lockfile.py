"""The lock file an app vendors: results/<task>/best.json, plain JSON, written atomically."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from promptsearch.errors import InputError


def lock_path(results_dir: Path, task: str) -> Path:
    return Path(results_dir) / task / "best.json"


def write_lock(path: Path, lock: dict) -> None:
    """Write to a temp file in the same folder, then rename: readers never see half a file.
    The file is created with mode 0666 less the user's umask (0644 by default), as any file an
    app vendors: a lock holds no secret (credentials never enter it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".best-{uuid.uuid4().hex}.json"
    handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(lock, out, indent=2, ensure_ascii=False, sort_keys=False)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def relative_task_dir(task_dir: Path, lock_file: Path) -> str:
    """The task's folder as the lock records it: relative to the lock file's folder, so a
    results folder moved with its data (or vendored beside it) still verifies."""
    try:
        return os.path.relpath(Path(task_dir).resolve(), Path(lock_file).resolve().parent)
    except ValueError:  # another drive (Windows): no relative path exists
        return str(Path(task_dir).resolve())


def recorded_task_dir(lock: dict, lock_file: Path) -> Path:
    """The task's folder a lock names: relative ones from the lock file's folder; absolute
    ones (locks written before paths were relative) as they are."""
    folder = Path(lock_file).resolve().parent
    return (folder / lock["task_dir"]).resolve() if lock.get("task_dir") else folder


def read_lock(path: Path) -> dict:
    try:
        lock = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no lock file", source=str(path),
                         fix="run `promptsearch run task.yaml` first, or give the path") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not a valid lock file ({exc})", source=str(path),
                         fix="restore it from the store with `promptsearch run --resume`") from None
    if not isinstance(lock, dict) or "key" not in lock or "model" not in lock:
        raise InputError("lock file lacks `key` or `model`", source=str(path),
                         fix="write it with promptsearch")
    return lock
