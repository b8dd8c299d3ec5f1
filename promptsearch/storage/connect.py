"""Opening a store's database: URLs as users write them, read-only opens that create nothing,
and one clear error when the folder or server cannot be used."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError, ProgrammingError

from promptsearch.errors import InputError

UPSERT_DIALECTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
SQLITE = "sqlite:///"
FOLDER_FIX = "make the folder writable, or pass --results DIR (or --storage URL) elsewhere"


def default_url(results_dir: Path) -> str:
    return f"{SQLITE}{(Path(results_dir) / 'promptsearch.db').resolve()}"


def driver_url(url: str) -> str:
    """`postgresql://…` as users write it, with the driver `pip install promptsearch[postgres]`
    brings (psycopg 3; SQLAlchemy's bare scheme means psycopg2). Optuna gets the same URL."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix(SQLITE)) if url.startswith(SQLITE) else None


def open_engine(url: str, read_only: bool) -> Engine:
    path = sqlite_path(url)
    if path is not None and read_only:
        if not path.is_file():
            raise InputError(f"no store at {path}", field="--results",
                             fix="run a search first (promptsearch run task.yaml), or pass the "
                                 "--results folder or --storage URL the runs used")
        engine = _read_only_sqlite(path)
    else:
        if path is not None:
            _make_folder(path.parent)
        engine = create_engine(url, future=True)
    if engine.dialect.name not in UPSERT_DIALECTS:
        raise InputError(f"unsupported database {engine.dialect.name!r}", field="--storage",
                         fix="use sqlite:///FILE or postgresql://...")
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas_read_only if read_only else
                     _sqlite_pragmas)
    return engine


def _read_only_sqlite(path: Path) -> Engine:
    """A read-only open: no database is created and none is changed. (SQLite may leave an
    empty -wal file beside a WAL database it reads; where the folder takes no new file, e.g. a
    read-only one, it reads without it.)"""
    engine = create_engine(f"{SQLITE}file:{path}?mode=ro&uri=true", future=True)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
    except DatabaseError as exc:  # OperationalError, or a file that is not a database
        engine.dispose()
        reason = str(exc.orig).splitlines()[0] if exc.orig else "cannot open"
        raise InputError(f"cannot read the store at {path} ({reason})", field="--results",
                         fix="make the folder and its promptsearch.db readable") from None
    return engine


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the results folder {folder} ({exc.strerror})",
                         field="--results", fix=FOLDER_FIX) from None


def prepare_for_writing(engine: Engine, tables: MetaData, url: str) -> None:
    """Create the tables if needed and make sure this process may write: a folder or file
    without write permission fails here, in one line, not at the first result."""
    try:
        create_tables(tables, engine)
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:  # a write lock, taken and given back at once
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.exec_driver_sql("ROLLBACK")
    except DatabaseError as exc:  # OperationalError, or a file that is not a database
        where = sqlite_path(url) or url.split("@")[-1]
        reason = str(exc.orig).splitlines()[0] if exc.orig else "cannot open"
        raise InputError(f"cannot write the store at {where} ({reason})",
                         field="--results" if sqlite_path(url) else "--storage",
                         fix=FOLDER_FIX) from None


def create_tables(tables: MetaData, engine: Engine, tries: int = 5) -> None:
    """CREATE TABLE IF NOT EXISTS, from processes that may start at the same moment: on
    PostgreSQL the loser of a concurrent create fails on a catalogue constraint; try again."""
    for attempt in range(tries):
        try:
            tables.create_all(engine)
            return
        except (IntegrityError, ProgrammingError, OperationalError):
            if attempt == tries - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers (reports) work while a search writes; NORMAL sync is safe under WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_pragmas_read_only(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()

