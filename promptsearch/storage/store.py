"""Everything a search records, behind one SQLAlchemy URL (SQLite by default, PostgreSQL to share).

Tables: runs, keys, candidates (one per trial), evaluations (one per key x example), call_cache,
versions (each better lock of a task, numbered) and aliases (name -> version, e.g.
production). The optuna study lives in the same database.
"""

from __future__ import annotations

import time
from typing import Any, Iterable, Optional

from sqlalchemy import (
    JSON,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Engine

from promptsearch.core.secrets import redact_url
from promptsearch.core.states import CandidateStatus
from promptsearch.errors import InputError
from promptsearch.storage.connect import (  # noqa: F401 (re-exported: older import paths)
    UPSERT_DIALECTS,
    create_tables,
    default_url,
    driver_url,
    open_engine,
    prepare_for_writing,
)

metadata = MetaData()

runs = Table(
    "ps_runs", metadata,
    Column("id", String(64), primary_key=True),
    Column("task", String(200), nullable=False, index=True),
    Column("model", String(500), nullable=False),
    Column("strategy", String(50), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("config", JSON, nullable=False),
    Column("dataset_hash", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("spent", JSON, nullable=False),
    Column("result", JSON),
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float),
)
keys = Table(
    "ps_keys", metadata,
    Column("id", String(32), primary_key=True),
    Column("body", JSON, nullable=False),
)
candidates = Table(
    "ps_candidates", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("trial", Integer, primary_key=True),
    Column("key_id", String(32), nullable=False),
    Column("origin", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("dev_score", Float),
    Column("examples", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("unparseable", Integer, nullable=False),
    Column("lm_calls", Integer, nullable=False),
    Column("tokens", Integer, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("created_at", Float, nullable=False),
)
evaluations = Table(
    "ps_evaluations", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("key_id", String(32), primary_key=True),
    Column("split", String(8), primary_key=True),
    Column("example_id", String(32), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("completion", Text),
    Column("prediction", Text),
    Column("target", Text, nullable=False),
    Column("score", Float),
    Column("error", Text),
    Column("tokens", Integer, nullable=False),
)
# What a metric said about an answer (a Python metric may return feedback): a table of its own,
# so stores written before it existed need no migration (CREATE TABLE IF NOT EXISTS adds it).
feedback = Table(
    "ps_feedback", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("key_id", String(32), primary_key=True),
    Column("split", String(8), primary_key=True),
    Column("example_id", String(32), primary_key=True),
    Column("text", Text, nullable=False),
)
call_cache = Table(
    "ps_call_cache", metadata,
    Column("key", String(64), primary_key=True),
    Column("model_id", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
)
versions = Table(
    "ps_versions", metadata,
    Column("task", String(200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("model", String(500), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("lock", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
)
aliases = Table(
    "ps_aliases", metadata,
    Column("task", String(200), primary_key=True),
    Column("alias", String(100), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)


def dialect_insert(engine: Engine, table: Table):
    """An INSERT that can say ON CONFLICT: "insert unless present" and "insert or replace" are
    one atomic statement, never a select-then-insert that two processes can interleave."""
    return UPSERT_DIALECTS[engine.dialect.name](table)


def insert_ignore(conn, table: Table, row: dict) -> bool:
    """Insert `row` unless its primary key is taken; True when this call inserted it."""
    first_key = next(iter(table.primary_key.columns))
    statement = (dialect_insert(conn.engine, table).values(**row).on_conflict_do_nothing()
                 .returning(first_key))  # (rowcount is -1 here on psycopg 3: not to be relied on)
    return conn.execute(statement).first() is not None


def upsert(conn, table: Table, rows: list[dict]) -> None:
    """Insert rows, replacing those whose primary key is taken (one statement)."""
    statement = dialect_insert(conn.engine, table)
    primary = [column.name for column in table.primary_key.columns]
    changed = {name: statement.excluded[name] for name in rows[0] if name not in primary}
    conn.execute(statement.on_conflict_do_update(index_elements=primary, set_=changed), rows)


class StoreConflict(RuntimeError):
    """A row could not be written because a different one holds its place: never silent."""


class Store:
    """All reads and writes of recorded state. Each method is one transaction."""

    def __init__(self, url: str, *, read_only: bool = False):
        """`read_only`: reports and checks read a store and never create one (a missing store
        is an InputError); otherwise the store is created if needed and must be writable."""
        self.url = driver_url(url)
        self.read_only = read_only
        self.engine: Engine = open_engine(self.url, read_only)
        if not read_only:
            prepare_for_writing(self.engine, metadata, self.url)
        elif not inspect(self.engine).has_table(runs.name):
            raise InputError(f"{redact_url(url)} holds no promptsearch store (no {runs.name} "
                             "table)", field="--results" if url.startswith("sqlite") else
                             "--storage", fix="pass the --results folder or --storage URL the "
                                              "runs used")

    # keys -----------------------------------------------------------------------------------
    def put_key(self, key_id: str, body: dict) -> None:
        self._insert_ignore(keys, {"id": key_id, "body": body})

    def get_key(self, key_id: str) -> Optional[dict]:
        with self.engine.connect() as conn:
            return conn.execute(select(keys.c.body).where(keys.c.id == key_id)).scalar()

    # runs -----------------------------------------------------------------------------------
    def create_run(self, **row: Any) -> bool:
        """Create the run; False if it exists already (another process came first)."""
        row = {"status": "running", "spent": {}, "created_at": time.time(), **row}
        return self._insert_ignore(runs, row)

    def get_run(self, run_id: str) -> Optional[dict]:
        with self.engine.connect() as conn:
            found = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
            return dict(found) if found else None

    def update_run(self, run_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(**values))

    def list_runs(self, task: Optional[str] = None) -> list[dict]:
        query = select(runs).order_by(runs.c.created_at)
        if task:
            query = query.where(runs.c.task == task)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    # candidates and evaluations -------------------------------------------------------------
    def add_candidate(self, spent: Optional[dict] = None, **row: Any) -> None:
        """Record a scored candidate (once per run and trial); with `spent`, the run's spending
        in the same transaction: a process killed between two writes would otherwise resume
        with a candidate whose calls it never counted, and search on with a larger budget.
        The same key recorded again for its trial (a key finished after its worker was declared
        dead) keeps the first row; another key in that trial's place is a StoreConflict."""
        row = {"created_at": time.time(), **row}
        with self.engine.begin() as conn:
            if not insert_ignore(conn, candidates, row):
                holder = conn.execute(select(candidates.c.key_id).where(
                    candidates.c.run_id == row["run_id"],
                    candidates.c.trial == row["trial"])).scalar()
                if holder != row["key_id"]:
                    raise StoreConflict(f"run {row['run_id']} trial {row['trial']} holds key "
                                        f"{holder}; key {row['key_id']} would be lost")
            if spent is not None:
                conn.execute(update(runs).where(runs.c.id == row["run_id"]).values(spent=spent))

    def update_candidate(self, run_id: str, trial: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(candidates).where(candidates.c.run_id == run_id,
                                                  candidates.c.trial == trial).values(**values))

    def list_candidates(self, run_id: str) -> list[dict]:
        query = select(candidates).where(candidates.c.run_id == run_id).order_by(candidates.c.trial)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def ranked_candidates(self, run_id: str) -> list[dict]:
        """Complete candidates, best dev score first (earliest trial wins ties), one per key."""
        complete = [c for c in self.list_candidates(run_id)
                    if c["status"] == CandidateStatus.COMPLETE]
        complete.sort(key=lambda c: (-c["dev_score"], c["trial"]))
        unique: dict[str, dict] = {}
        for candidate in complete:
            unique.setdefault(candidate["key_id"], candidate)
        return list(unique.values())

    def add_evaluations(self, rows: Iterable[dict]) -> None:
        """Insert rows (one statement); rows already there (a key re-scored) are replaced."""
        self._upsert(evaluations, rows)

    def get_evaluations(self, run_id: str, key_id: str, split: str) -> dict[str, dict]:
        query = select(evaluations).where(evaluations.c.run_id == run_id,
                                          evaluations.c.key_id == key_id,
                                          evaluations.c.split == split)
        with self.engine.connect() as conn:
            return {row["example_id"]: dict(row) for row in conn.execute(query).mappings()}

    def add_feedback(self, rows: Iterable[dict]) -> None:
        """Rows of (run_id, key_id, split, example_id, text); a re-scored answer's replace."""
        self._upsert(feedback, rows)

    def get_feedback(self, run_id: str, key_id: str, split: str) -> dict[str, str]:
        """{example id: the metric's feedback} (nothing from a store that predates feedback)."""
        if self.read_only and not inspect(self.engine).has_table(feedback.name):
            return {}
        query = select(feedback.c.example_id, feedback.c.text).where(
            feedback.c.run_id == run_id, feedback.c.key_id == key_id, feedback.c.split == split)
        with self.engine.connect() as conn:
            return dict(conn.execute(query).all())

    def evaluation_counts(self, run_id: str, split: str) -> dict[str, int]:
        """Recorded evaluations per key of a run on one split."""
        query = (select(evaluations.c.key_id, func.count()).where(
            evaluations.c.run_id == run_id, evaluations.c.split == split)
            .group_by(evaluations.c.key_id))
        with self.engine.connect() as conn:
            return {key_id: count for key_id, count in conn.execute(query)}

    # call cache -----------------------------------------------------------------------------
    def cache_get(self, key: str) -> Optional[dict]:
        with self.engine.connect() as conn:
            row = conn.execute(select(call_cache).where(call_cache.c.key == key)).mappings().first()
            return dict(row) if row else None

    def cache_put(self, **row: Any) -> None:
        self._insert_ignore(call_cache, {"created_at": time.time(), **row})

    # versions and aliases -------------------------------------------------------------------
    def list_versions(self, task: str) -> list[dict]:
        query = select(versions).where(versions.c.task == task).order_by(versions.c.version)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def add_version(self, task: str, model: str, run_id: str, lock: dict) -> int:
        """Record the next version of the task's best key; returns its number. Retries when
        another process took the number first."""
        for _ in range(10):
            number = max((v["version"] for v in self.list_versions(task)), default=0) + 1
            row = {"task": task, "version": number, "model": model, "run_id": run_id,
                   "lock": {**lock, "version": number}, "created_at": time.time()}
            if self._insert_ignore(versions, row):
                return number
        raise RuntimeError(f"{task}: could not take a version number")

    def set_alias(self, task: str, alias: str, version: int) -> None:
        with self.engine.begin() as conn:
            upsert(conn, aliases, [{"task": task, "alias": alias, "version": version,
                                    "updated_at": time.time()}])

    def aliases_of(self, task: str) -> dict[str, int]:
        query = select(aliases).where(aliases.c.task == task)
        with self.engine.connect() as conn:
            return {row["alias"]: row["version"] for row in conn.execute(query).mappings()}

    # helpers --------------------------------------------------------------------------------
    def _upsert(self, table: Table, rows: Iterable[dict]) -> None:
        rows = list(rows)
        if rows:
            with self.engine.begin() as conn:
                upsert(conn, table, rows)

    def _insert_ignore(self, table: Table, row: dict) -> bool:
        with self.engine.begin() as conn:
            return insert_ignore(conn, table, row)

    def dispose(self) -> None:
        self.engine.dispose()
