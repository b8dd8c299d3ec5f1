"""Everything persisted: the store (runs, keys, candidates, evaluations, call cache, versions),
lock files, and the shared state of a run searched by many workers."""

from promptsearch.storage.store import Store, default_url

__all__ = ["Store", "default_url"]
