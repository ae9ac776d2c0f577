"""AlertStore: alerts and their transitions in a local SQLite file. Shell module (sqlite3).

All database work runs on one worker thread of our own (never on the event
loop), in the order it was asked for; the connection lives on that thread.
Each ``record`` is one transaction: the alerts' current rows, one row per
transition (who, when, note, the alert as it was after it) and the raise
counters that keep alert ids unique across restarts. The file uses WAL with
``synchronous=FULL``: a transition the engine has published is on disk.

Tables: ``alerts(id, key, state, updated_at, body)``,
``transitions(seq, alert_id, kind, at, by, note, body)``, ``raises(key, n)``, and
``zone_levels(zone_id, level, occupancy, at)``: the crowd level each zone showed
last, so a restart does not drop a crowded zone to calm and back; and
``day_state(name, body, at)``: the waiting tickets and door balances
(``gateway.day_state``), which only events build.
``body`` is the alert as JSON (``gateway.outbound.to_json``).

An ``outbox`` (``gateway.notify.outbox.Outbox``) adds its tables and queues the
notifications of each recorded transition in the same transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

import structlog

from gateway.alerts import Transition
from gateway.live import Alert
from gateway.outbound import alert_from_json, to_json
from gateway.settings import CrowdLevel

T = TypeVar("T")
log = structlog.get_logger("floorwatch.alert_store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_state ON alerts (state);
CREATE TABLE IF NOT EXISTS transitions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    by TEXT,
    note TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_alert ON transitions (alert_id);
CREATE TABLE IF NOT EXISTS raises (key TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS zone_levels (
    zone_id TEXT PRIMARY KEY,
    level TEXT NOT NULL,
    occupancy INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS day_state (
    name TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


class StoreError(Exception):
    """The alert database cannot be opened or written."""


@dataclass(frozen=True, slots=True)
class StoredTransition:
    seq: int
    alert_id: str
    kind: str
    at: str
    by: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class TransitionKey:
    """Which transition: its alert, kind and time (ISO 8601, as stored)."""

    alert_id: str
    kind: str
    at: str


@dataclass(frozen=True, slots=True)
class Restored:
    active: list[Alert]  # active and acknowledged
    recent_resolved: list[Alert]
    raises: dict[str, int]
    levels: dict[str, tuple[CrowdLevel, int, datetime]]  # zone -> level, occupancy, saved at
    day_state: tuple[str, datetime] | None = None  # JSON of gateway.day_state, saved at


class OutboxHook(Protocol):
    schema: str

    def enqueue(self, db: sqlite3.Connection, transitions: Sequence[Transition]) -> int: ...

    def committed(self, added: int) -> None: ...


def alert_key(alert: Alert) -> str:
    return alert.id.rpartition(":")[0]


class AlertStore:
    def __init__(
        self,
        path: Path,
        *,
        keep_resolved: int = 200,
        recover: bool = True,
        outbox: OutboxHook | None = None,
    ) -> None:
        """``recover``: a file that is not a database is moved aside and a new one started."""
        self.path = path
        self._outbox = outbox
        self._recover = recover
        self._keep_resolved = keep_resolved
        self._executor: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None

    async def open(self) -> Restored:
        """Open (or create) the database and read back what a restart needs."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alert-store")
        return await self._run(self._open_sync)

    async def close(self) -> None:
        if self._executor is None:
            return
        await self._run(self._close_sync)
        self._executor.shutdown(wait=True)
        self._executor = None

    async def record(self, transitions: Sequence[Transition], raises: dict[str, int]) -> None:
        if transitions:
            await self._run(lambda: self._record_sync(transitions, raises))

    async def save_levels(self, levels: dict[str, tuple[CrowdLevel, int]], at: datetime) -> None:
        if levels:
            await self._run(lambda: self._save_levels_sync(levels, at))

    async def save_day_state(self, body: str, at: datetime) -> None:
        """The waiting tickets and door balances (gateway.day_state), as JSON."""
        await self._run(lambda: self._save_day_state_sync(body, at))

    async def transitions(self, alert_id: str) -> list[StoredTransition]:
        return await self._run(lambda: self._transitions_sync(alert_id))

    async def alert(self, alert_id: str) -> Alert | None:
        return await self._run(lambda: self._alert_sync(alert_id))

    async def last_transition(self) -> TransitionKey | None:
        """The latest transition stored (alert id, kind, time), None for none."""
        return await self._run(self._last_transition_sync)

    async def transitions_after(
        self, after: TransitionKey, limit: int = 10000
    ) -> list[tuple[str, Alert]] | None:
        """(kind, alert as after it) of the transitions stored after ``after``, in order.

        None when ``after`` is not in the store (a store started afresh).
        """
        return await self._run(lambda: self._transitions_after_sync(after, limit))

    async def latest_transitions(self, alert_ids: Sequence[str]) -> dict[str, tuple[str, Alert]]:
        """Each alert's latest stored transition: alert id -> (kind, alert as after it).

        Alerts the store does not hold are left out.
        """
        ids = list(alert_ids)
        return await self._run(lambda: self._latest_transitions_sync(ids))

    # ------------------------------------------------------------------ worker thread

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            raise StoreError("the alert store is not open")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("the alert store is not open")
        return self._db

    def _open_sync(self) -> Restored:
        try:
            return self._read_sync()
        except sqlite3.DatabaseError as exc:
            if not self._recover:
                raise
            self._close_sync()
            aside = self.path.with_name(
                f"{self.path.name}.corrupt-{datetime.now(UTC):%Y%m%dT%H%M%S}"
            )
            for suffix in ("", "-wal", "-shm"):
                part = Path(f"{self.path}{suffix}")
                if part.exists():
                    part.rename(Path(f"{aside}{suffix}"))
            log.error(
                "alerts.store_corrupt", path=str(self.path), moved_to=str(aside), reason=str(exc)
            )
            return self._read_sync()

    def _read_sync(self) -> Restored:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None)
        self._db = db
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(SCHEMA)
        if self._outbox is not None:
            db.executescript(self._outbox.schema)
        active = [
            alert_from_json(body)
            for (body,) in db.execute(
                "SELECT body FROM alerts WHERE state != 'resolved' ORDER BY updated_at"
            )
        ]
        resolved = [
            alert_from_json(body)
            for (body,) in db.execute(
                "SELECT body FROM alerts WHERE state = 'resolved' ORDER BY updated_at DESC LIMIT ?",
                (self._keep_resolved,),
            )
        ]
        raises = {key: int(n) for key, n in db.execute("SELECT key, n FROM raises")}
        levels = {
            zone: (CrowdLevel(level), int(occupancy), datetime.fromisoformat(at))
            for zone, level, occupancy, at in db.execute(
                "SELECT zone_id, level, occupancy, at FROM zone_levels"
            )
        }
        day = db.execute("SELECT body, at FROM day_state WHERE name = 'floor'").fetchone()
        day_state = (str(day[0]), datetime.fromisoformat(day[1])) if day else None
        return Restored(active, list(reversed(resolved)), raises, levels, day_state)

    def _save_levels_sync(self, levels: dict[str, tuple[CrowdLevel, int]], at: datetime) -> None:
        db = self._conn()
        with _transaction(db):
            for zone, (level, occupancy) in levels.items():
                db.execute(
                    "INSERT INTO zone_levels (zone_id, level, occupancy, at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT(zone_id) DO UPDATE SET level = excluded.level,"
                    " occupancy = excluded.occupancy, at = excluded.at",
                    (zone, level.value, occupancy, at.isoformat()),
                )

    def _save_day_state_sync(self, body: str, at: datetime) -> None:
        self._conn().execute(
            "INSERT INTO day_state (name, body, at) VALUES ('floor', ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET body = excluded.body, at = excluded.at",
            (body, at.isoformat()),
        )

    def _close_sync(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _record_sync(self, transitions: Sequence[Transition], raises: dict[str, int]) -> None:
        db = self._conn()
        keys = {alert_key(t.alert) for t in transitions}
        queued = 0
        with _transaction(db):
            if self._outbox is not None:  # before the rows change: it compares with them
                queued = self._outbox.enqueue(db, transitions)
            for t in transitions:
                a = t.alert
                body = to_json(a).decode()
                db.execute(
                    "INSERT INTO alerts (id, key, state, updated_at, body) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT(id) DO UPDATE SET state = excluded.state,"
                    " updated_at = excluded.updated_at, body = excluded.body",
                    (a.id, alert_key(a), a.state.value, a.updated_at.isoformat(), body),
                )
                db.execute(
                    "INSERT INTO transitions (alert_id, kind, at, by, note, body)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (a.id, t.kind, t.at.isoformat(), t.by, t.note, body),
                )
            for key in keys:
                if key in raises:
                    db.execute(
                        "INSERT INTO raises (key, n) VALUES (?, ?)"
                        " ON CONFLICT(key) DO UPDATE SET n = max(n, excluded.n)",
                        (key, raises[key]),
                    )
        if self._outbox is not None:
            self._outbox.committed(queued)

    def _transitions_sync(self, alert_id: str) -> list[StoredTransition]:
        rows = self._conn().execute(
            "SELECT seq, alert_id, kind, at, by, note FROM transitions"
            " WHERE alert_id = ? ORDER BY seq",
            (alert_id,),
        )
        return [StoredTransition(*row) for row in rows]

    def _last_transition_sync(self) -> TransitionKey | None:
        row = (
            self._conn()
            .execute("SELECT alert_id, kind, at FROM transitions ORDER BY seq DESC LIMIT 1")
            .fetchone()
        )
        return TransitionKey(*row) if row else None

    def _transitions_after_sync(
        self, after: TransitionKey, limit: int
    ) -> list[tuple[str, Alert]] | None:
        db = self._conn()
        when = datetime.fromisoformat(after.at)  # compared as instants: any offset
        candidates = db.execute(
            "SELECT seq, at FROM transitions WHERE alert_id = ? AND kind = ? ORDER BY seq DESC",
            (after.alert_id, after.kind),
        )
        seq = next((s for s, at in candidates if datetime.fromisoformat(at) == when), None)
        if seq is None:
            return None
        rows = db.execute(
            "SELECT kind, body FROM transitions WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        )
        return [(str(kind), alert_from_json(body)) for kind, body in rows]

    def _latest_transitions_sync(self, alert_ids: list[str]) -> dict[str, tuple[str, Alert]]:
        db = self._conn()
        out: dict[str, tuple[str, Alert]] = {}
        for alert_id in alert_ids:
            row = db.execute(
                "SELECT kind, body FROM transitions WHERE alert_id = ? ORDER BY seq DESC LIMIT 1",
                (alert_id,),
            ).fetchone()
            if row is not None:
                out[alert_id] = (str(row[0]), alert_from_json(row[1]))
        return out

    def _alert_sync(self, alert_id: str) -> Alert | None:
        row = self._conn().execute("SELECT body FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return alert_from_json(row[0]) if row else None


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error (autocommit connection)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
