"""One run searched by many worker processes through the store's database (PostgreSQL to span
machines; SQLite works for processes on one machine).

Three tables beside the store's own:
- ps_shared: one row per shared run: its budget, the next trial number, and `ticket`, a counter
  every reservation bumps first. That UPDATE takes the row's write lock (PostgreSQL row lock,
  SQLite's database lock), so reservations are serialised on any backend without dialect SQL.
- ps_workers: one row per worker: heartbeat, the calls it spent and the calls it holds reserved.
- ps_claims: one row per key being (or once) scored, so no two workers score one key at once.

Budget: a trial reserves the calls it may use (the dev set size) before it starts, and gives
back what it did not use when it ends, so the global LM-call budget is never exceeded. Trials
are numbered in reservation order. A worker whose heartbeat stops is marked dead by the next
reservation: its reservation counts as spent (its calls may have gone out) and the key it was
scoring is adopted by the next worker that asks, keeping every evaluation it recorded.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import (
    JSON,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    case,
    func,
    insert,
    select,
    true,
    update,
)

from promptsearch.core.states import ClaimState, Reservation, SharedRunStatus, WorkerState
from promptsearch.storage.store import create_tables, insert_ignore

metadata = MetaData()
shared = Table(
    "ps_shared", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("budget", JSON, nullable=False),     # lm_calls, trials, tokens, minutes
    Column("next_trial", Integer, nullable=False),
    Column("ticket", Integer, nullable=False),  # bumped first by every reservation: the mutex
    Column("setup_calls", Integer),  # the strategy's set-up, charged once (every worker repeats it)
    Column("setup_by", String(100)),  # the worker that runs the set-up first (the others wait)
    Column("status", String(20), nullable=False),  # searching | finalizing | finished
    Column("created_at", Float, nullable=False),
)
workers = Table(
    "ps_workers", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("worker_id", String(100), primary_key=True),
    Column("state", String(10), nullable=False),  # live | done | dead
    Column("heartbeat_at", Float, nullable=False),
    Column("heartbeat_s", Float, nullable=False),
    Column("calls", Integer, nullable=False),     # LM calls spent (settled)
    Column("reserved", Integer, nullable=False),  # LM calls held by the trial in progress
    Column("tokens", Integer, nullable=False),
    Column("spent", JSON, nullable=False),        # the worker's own Spent, for the run's totals
    Column("started_at", Float, nullable=False),
)
claims = Table(
    "ps_claims", metadata,
    Column("run_id", String(64), primary_key=True),
    Column("key_id", String(32), primary_key=True),
    Column("trial", Integer, nullable=False),
    Column("origin", String(200), nullable=False),
    Column("worker_id", String(100), nullable=False),
    Column("state", String(10), nullable=False),  # running | done
)

MISSED_HEARTBEATS = 3  # a worker this many intervals late is dead


@dataclass
class Turn:
    """A trial a worker may start: its number, and the key to adopt when a dead worker left one."""

    number: int
    adopted_key: Optional[str] = None
    adopted_origin: str = ""


class SharedRun:
    """The shared state of one run, seen from one process."""

    def __init__(self, store, run_id: str):
        self.engine, self.run_id = store.engine, run_id
        create_tables(metadata, self.engine)

    def open(self, budget: dict) -> bool:
        """Create the run's shared row (True), or join the existing one (False)."""
        row = {"run_id": self.run_id, "budget": budget, "next_trial": 0, "ticket": 0,
               "status": SharedRunStatus.SEARCHING.value, "created_at": time.time()}
        with self.engine.begin() as conn:
            return insert_ignore(conn, shared, row)

    def row(self) -> dict:
        with self.engine.connect() as conn:
            found = conn.execute(select(shared).where(shared.c.run_id == self.run_id)).mappings()
            return dict(found.one())

    def find(self) -> Optional[dict]:
        """The shared row, or None when the run is not a shared one."""
        with self.engine.connect() as conn:
            found = conn.execute(select(shared).where(shared.c.run_id == self.run_id)).mappings()
            row = found.first()
            return dict(row) if row else None

    def set_status(self, status: SharedRunStatus | str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(shared).where(shared.c.run_id == self.run_id)
                         .values(status=str(status)))

    # workers ----------------------------------------------------------------------------------
    def join(self, heartbeat_s: float) -> str:
        worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(insert(workers).values(
                run_id=self.run_id, worker_id=worker_id, state=WorkerState.LIVE.value,
                heartbeat_at=now,
                heartbeat_s=heartbeat_s, calls=0, reserved=0, tokens=0, spent={},
                started_at=now))
        return worker_id

    def beat(self, worker_id: str) -> bool:
        """Tell the run this worker is alive; False once it was declared dead."""
        with self.engine.begin() as conn:
            conn.execute(self._worker(worker_id).values(heartbeat_at=time.time()))
            return self._state(conn, worker_id) == WorkerState.LIVE

    def leave(self, worker_id: str, spent: dict,
              state: WorkerState | str = WorkerState.DONE) -> None:
        """The worker stops: "done" (its search ended) or "dead" (killed or failed: the key it
        was scoring is adopted by another worker). Its reservation was settled before. One
        declared dead stays so, whatever it saw last: its key went to another worker."""
        kept = case((workers.c.state == WorkerState.DEAD.value, WorkerState.DEAD.value),
                    else_=str(state))
        with self.engine.begin() as conn:
            conn.execute(self._worker(worker_id).values(state=kept, spent=spent))

    def list_workers(self) -> list[dict]:
        query = select(workers).where(workers.c.run_id == self.run_id)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def _worker(self, worker_id: str):
        return update(workers).where(workers.c.run_id == self.run_id,
                                     workers.c.worker_id == worker_id)

    # the budget -------------------------------------------------------------------------------
    def reserve(self, worker_id: str, calls: int,
                trial: bool) -> tuple[Reservation, Optional[Turn]]:
        """Reserve `calls` (and with `trial` a trial to run) in one serialised transaction.
        Returns (OK, turn), (WAIT, None) when only others' reservations stand in the way,
        (limit, None) when the budget named `limit` is spent, or (DECLARED_DEAD, None). A dead
        worker's unfinished key is handed out first, whatever the budget: its reservation was
        counted as spent."""
        with self.engine.begin() as conn:
            conn.execute(update(shared).where(shared.c.run_id == self.run_id)
                         .values(ticket=shared.c.ticket + 1))  # the lock, held until commit
            row = conn.execute(select(shared).where(shared.c.run_id == self.run_id)
                               ).mappings().one()
            self._mark_dead(conn)
            if self._state(conn, worker_id) == WorkerState.DEAD:
                return Reservation.DECLARED_DEAD, None
            searching = row["status"] == SharedRunStatus.SEARCHING
            turn = self._adopt(conn, worker_id) if trial and searching \
                else None
            if turn is None:
                status = self._fits(conn, row, calls, trial)
                if status is not Reservation.OK:
                    return status, None
                if trial:
                    turn = Turn(row["next_trial"])
                    conn.execute(update(shared).where(shared.c.run_id == self.run_id)
                                 .values(next_trial=shared.c.next_trial + 1))
            conn.execute(self._worker(worker_id).values(reserved=workers.c.reserved + calls))
            return Reservation.OK, turn

    def _fits(self, conn, row: dict, calls: int, trial: bool) -> Reservation:
        spent, held, tokens = conn.execute(
            select(func.coalesce(func.sum(workers.c.calls), 0),
                   func.coalesce(func.sum(workers.c.reserved), 0),
                   func.coalesce(func.sum(workers.c.tokens), 0))
            .where(workers.c.run_id == self.run_id)).one()
        limit = self._limit(row, spent, tokens, trial)
        if limit:
            return limit
        lm_calls = row["budget"].get("lm_calls")
        if lm_calls is not None and spent + held + calls > lm_calls:
            return Reservation.WAIT if held else Reservation.LM_CALLS
        return Reservation.OK

    @staticmethod
    def _limit(row: dict, spent: int, tokens: int, trial: bool) -> Optional[Reservation]:
        budget = row["budget"]
        if row["status"] != SharedRunStatus.SEARCHING:
            return Reservation.FINISHED
        if budget.get("minutes") is not None and time.time() - row["created_at"] >= \
                budget["minutes"] * 60:
            return Reservation.MINUTES
        if budget.get("tokens") is not None and tokens >= budget["tokens"]:
            return Reservation.TOKENS
        if trial and budget.get("trials") is not None and row["next_trial"] >= budget["trials"]:
            return Reservation.TRIALS
        return None

    def first_setup(self, worker_id: str) -> bool:
        """Whether this worker runs the strategy's set-up first. The others wait for it, then
        repeat it from the shared cache (no model call twice); a set-up whose worker died is
        taken over."""
        while True:
            with self.engine.begin() as conn:
                row = conn.execute(select(shared.c.setup_by, shared.c.setup_calls).where(
                    shared.c.run_id == self.run_id)).one()
                if row.setup_calls is not None:
                    return False
                owner = row.setup_by
                if owner is None or not self._alive(conn, owner):
                    taken = conn.execute(update(shared).where(
                        shared.c.run_id == self.run_id, _same(shared.c.setup_by, owner))
                        .values(setup_by=worker_id)).rowcount == 1
                    if taken:
                        return True
            time.sleep(0.2)

    def _alive(self, conn, worker_id: str) -> bool:
        """For the set-up only: its owner counts as dead at twice the usual lateness. Taking
        over a set-up that is still running repeats every proposer call it has not cached yet,
        and at start-up, with every worker loading at once, a live owner's beat can be late."""
        row = conn.execute(select(workers).where(workers.c.run_id == self.run_id,
                                                 workers.c.worker_id == worker_id)).mappings()
        found = row.first()
        return found is not None and found["state"] == WorkerState.LIVE and not _late(
            found, time.time(), 2 * MISSED_HEARTBEATS)

    def charge_setup(self, worker_id: str, calls: int) -> bool:
        """Charge the strategy's set-up calls to the run once: every worker makes the same
        set-up calls (seeded alike, answered by the shared cache), as one process makes them
        once. True for the worker whose calls were charged."""
        with self.engine.begin() as conn:
            first = conn.execute(update(shared).where(
                shared.c.run_id == self.run_id, shared.c.setup_calls.is_(None))
                .values(setup_calls=calls)).rowcount == 1
            if first:
                conn.execute(self._worker(worker_id).values(calls=workers.c.calls + calls))
            return first

    def settle(self, worker_id: str, reserved: int, used: int, tokens: int,
               spent: dict) -> None:
        """End a reservation: `used` of its `reserved` calls become spent, the rest go back
        (unless the worker was declared dead meanwhile: its whole reservation was spent then)."""
        live = workers.c.state == WorkerState.LIVE.value
        with self.engine.begin() as conn:
            conn.execute(self._worker(worker_id).values(
                reserved=case((live, workers.c.reserved - reserved), else_=workers.c.reserved),
                calls=case((live, workers.c.calls + used), else_=workers.c.calls),
                tokens=workers.c.tokens + tokens, spent=spent, heartbeat_at=time.time()))

    def totals(self) -> dict:
        """Calls spent and held by every worker, and how many are live."""
        rows = self.list_workers()
        return {"calls": sum(r["calls"] for r in rows),
                "reserved": sum(r["reserved"] for r in rows if r["state"] == WorkerState.LIVE),
                "live": sum(r["state"] == WorkerState.LIVE and not _late(r, time.time())
                            for r in rows)}

    def _state(self, conn, worker_id: str) -> str:
        return conn.execute(select(workers.c.state).where(
            workers.c.run_id == self.run_id, workers.c.worker_id == worker_id)).scalar_one()

    def _mark_dead(self, conn) -> None:
        """Workers whose heartbeat stopped: their reservation counts as spent."""
        now = time.time()
        live = select(workers).where(workers.c.run_id == self.run_id,
                                     workers.c.state == WorkerState.LIVE.value)
        for row in conn.execute(live).mappings():
            if _late(row, now):
                conn.execute(self._worker(row["worker_id"]).values(
                    state=WorkerState.DEAD.value, calls=workers.c.calls + workers.c.reserved,
                    reserved=0))

    # claims -----------------------------------------------------------------------------------
    def _adopt(self, conn, worker_id: str) -> Optional[Turn]:
        """The trial of a dead worker's unfinished key, taken over, if there is one."""
        dead = select(workers.c.worker_id).where(workers.c.run_id == self.run_id,
                                                 workers.c.state == WorkerState.DEAD.value)
        orphan = conn.execute(select(claims).where(
            claims.c.run_id == self.run_id, claims.c.state == ClaimState.RUNNING.value,
            claims.c.worker_id.in_(dead)).limit(1)).mappings().first()
        if orphan is None:
            return None
        conn.execute(update(claims).where(claims.c.run_id == self.run_id,
                                          claims.c.key_id == orphan["key_id"])
                     .values(worker_id=worker_id))
        return Turn(orphan["trial"], orphan["key_id"], orphan["origin"])

    def claim(self, worker_id: str, key_id: str, trial: int, origin: str) -> bool:
        """Take the key to score it: True unless another live worker is scoring it now (a key
        already scored may be taken again: its recorded evaluations make that free)."""
        row = {"run_id": self.run_id, "key_id": key_id, "trial": trial, "origin": origin,
               "worker_id": worker_id, "state": ClaimState.RUNNING.value}
        with self.engine.begin() as conn:
            if insert_ignore(conn, claims, row):
                return True
            taken = conn.execute(update(claims).where(
                claims.c.run_id == self.run_id, claims.c.key_id == key_id,
                (claims.c.state == ClaimState.DONE.value) | (claims.c.worker_id == worker_id))
                .values(worker_id=worker_id, state=ClaimState.RUNNING.value))
            return taken.rowcount == 1

    def release(self, key_id: str, worker_id: Optional[str] = None) -> None:
        """The key is scored. With `worker_id`, only while that worker holds the claim: one
        declared dead must not release a key another worker adopted and is still scoring."""
        held = claims.c.worker_id == worker_id if worker_id else true()
        with self.engine.begin() as conn:
            conn.execute(update(claims).where(claims.c.run_id == self.run_id,
                                              claims.c.key_id == key_id, held)
                         .values(state=ClaimState.DONE.value))

    def list_claims(self) -> list[dict]:
        query = select(claims).where(claims.c.run_id == self.run_id)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]


def _same(column, value):
    return column.is_(None) if value is None else column == value


def _late(row, now: float, beats: int = MISSED_HEARTBEATS) -> bool:
    return now - row["heartbeat_at"] > beats * row["heartbeat_s"]


class Heartbeat:
    """A daemon thread that tells the run this worker is alive, every `seconds`; `also` runs on
    each beat too (optuna's trial heartbeat), and `on_declared_dead` once, when a beat finds
    that the run declared this worker dead."""

    def __init__(self, shared_run: SharedRun, worker_id: str, seconds: float, also=None,
                 on_declared_dead=None):
        self.shared_run, self.worker_id, self.seconds, self.also = (shared_run, worker_id,
                                                                   seconds, also)
        self.on_declared_dead = on_declared_dead
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="ps-heartbeat")

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=self.seconds + 5)

    def _loop(self) -> None:
        while not self._stop.wait(self.seconds):
            if not self.shared_run.beat(self.worker_id) and self.on_declared_dead is not None:
                self.on_declared_dead()
                self.on_declared_dead = None
            if self.also is not None:
                self.also()
