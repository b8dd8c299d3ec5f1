"""The lock file an app vendors: results/<task>/best.json, plain JSON, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .errors import InputError


def lock_path(results_dir: Path, task: str) -> Path:
    return Path(results_dir) / task / "best.json"


def write_lock(path: Path, lock: dict) -> None:
    """Write to a temp file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=".best-", suffix=".json", dir=path.parent)
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
