"""The durable outbox: planned deliveries and messages in the alert database. Shell module (sqlite3).

Two tables in ``alerts.sqlite3``, beside the alerts:

- ``notify_entries``: one row per alert transition, channel and escalation step
  (``routing.Planned``), inserted by ``Outbox.enqueue`` inside the alert
  store's transaction that records the transition: a transition on disk has its
  notifications on disk. ``key`` is unique, so a transition is never queued twice.
- ``notify_messages``: what is actually sent: one or more entries grouped
  (``batching``), rendered once, with the idempotency key every retry carries,
  attempts, the next attempt's time, the recipients already served, and the end
  state (``sent`` or ``failed`` with its reason).

An entry is ``queued`` until its message is ``sent`` or ``failed``, or
``skipped`` with the reason (acknowledged before its escalation step, resolved
during quiet hours, ...). ``OutboxDb`` is the notifier's own connection (WAL:
the engine's writes and the notifier's never wait long on each other);
``read_status`` reads an alert's deliveries from any process.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog

from gateway.alerts import Transition
from gateway.live import Alert
from gateway.notify.batching import Batch, Due, backoff_s, batches
from gateway.notify.config import NotificationSettings
from gateway.notify.routing import SiteFacts, keep, plan
from gateway.notify.texts import Item, SiteNames, render
from gateway.outbound import alert_from_json, to_json

log = structlog.get_logger("floorwatch.notify")

SCHEMA = """
CREATE TABLE IF NOT EXISTS notify_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    alert_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    after_min REAL NOT NULL,
    grp TEXT NOT NULL,
    critical INTEGER NOT NULL,
    keep_if TEXT NOT NULL,
    at REAL NOT NULL,
    due_at REAL NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    reason TEXT,
    message TEXT
);
CREATE INDEX IF NOT EXISTS notify_entries_due ON notify_entries (state, due_at);
CREATE INDEX IF NOT EXISTS notify_entries_alert ON notify_entries (alert_id);
CREATE TABLE IF NOT EXISTS notify_messages (
    key TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    grp TEXT NOT NULL,
    severity TEXT NOT NULL,
    kind TEXT NOT NULL,
    alert_ids TEXT NOT NULL,
    zone TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    delivered TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL DEFAULT 'queued',
    reason TEXT,
    sent_at REAL
);
CREATE INDEX IF NOT EXISTS notify_messages_next ON notify_messages (state, channel, next_at);
CREATE INDEX IF NOT EXISTS notify_messages_created ON notify_messages (created_at);
"""
KEEP_S = 30 * 86400  # delivered, failed and skipped rows are kept 30 days, then pruned


def ts(at: datetime) -> float:
    return at.timestamp()


def dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


class Outbox:
    """Queues the deliveries of transitions inside the alert store's transaction."""

    schema = SCHEMA

    def __init__(self, cfg: NotificationSettings, facts: SiteFacts) -> None:
        self._cfg = cfg
        self._facts = facts
        self._listeners: list[Callable[[], None]] = []
        self.queued = 0
        self.failures = 0

    def listen(self, wake: Callable[[], None]) -> None:
        """``wake`` is called (from the store's thread) after entries were committed."""
        self._listeners.append(wake)

    def enqueue(self, db: sqlite3.Connection, transitions: Sequence[Transition]) -> int:
        """Call inside the transaction, before the alerts' rows are updated.

        A fault in planning (a bug, never the database) is logged as
        ``notify.enqueue_failed`` and undone to a savepoint: the alerts are recorded
        all the same, without their notifications.
        """
        db.execute("SAVEPOINT notify_enqueue")
        try:
            added = self._enqueue(db, transitions)
        except sqlite3.Error:
            raise
        except Exception:
            db.execute("ROLLBACK TO notify_enqueue")
            db.execute("RELEASE notify_enqueue")
            self.failures += 1
            log.exception("notify.enqueue_failed", transitions=len(transitions))
            return 0
        db.execute("RELEASE notify_enqueue")
        return added

    def _enqueue(self, db: sqlite3.Connection, transitions: Sequence[Transition]) -> int:
        previous: dict[str, Alert | None] = {}
        added = 0
        for t in transitions:
            a = t.alert
            if a.id not in previous:
                row = db.execute("SELECT body FROM alerts WHERE id = ?", (a.id,)).fetchone()
                previous[a.id] = alert_from_json(row[0]) if row else None
            planned = plan(t.kind, a, t.at, previous[a.id], self._cfg, self._facts)
            previous[a.id] = a
            body = to_json(a).decode()
            for p in planned:
                cur = db.execute(
                    "INSERT OR IGNORE INTO notify_entries (key, alert_id, channel, kind,"
                    " after_min, grp, critical, keep_if, at, due_at, body)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        p.key,
                        p.alert_id,
                        p.channel,
                        p.kind,
                        p.after_min,
                        p.group,
                        int(p.critical),
                        p.keep_if,
                        ts(t.at),
                        ts(p.due_at),
                        body,
                    ),
                )
                added += cur.rowcount
        self.queued += added
        return added

    def committed(self, added: int) -> None:
        if added:
            for wake in self._listeners:
                wake()


@dataclass(frozen=True, slots=True)
class MessageRow:
    key: str
    channel: str
    title: str
    body: str
    severity: str
    kind: str
    alert_ids: str
    zone: str
    attempts: int
    reason: str | None
    next_at: datetime
    expires_at: datetime
    delivered: frozenset[int]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One planned delivery of an alert, as the status accessor shows it."""

    alert_id: str
    channel: str
    kind: str
    state: str  # queued, sent, failed, skipped
    reason: str | None
    due_at: datetime
    sent_at: datetime | None
    attempts: int
    message: str | None  # the message's idempotency key


class OutboxDb:
    """The notifier's connection: forms messages, hands them out, records the outcome."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        # NORMAL (WAL): a power cut may lose the last marks of "sent", and those messages
        # go again after the restart, with the same idempotency key. What is queued is
        # written by the alert store's connection, with synchronous=FULL.
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise sqlite3.ProgrammingError("the outbox is not open")
        return self._db

    # ------------------------------------------------------------------ forming messages

    def form(
        self,
        now: datetime,
        cfg: NotificationSettings,
        names: SiteNames,
        channels: set[str],
    ) -> tuple[int, datetime | None, list[tuple[str, str, str]]]:
        """Group due entries into messages. Returns (messages formed, next wake, skipped).

        ``skipped``: (alert id, channel, reason) of entries no longer wanted.
        """
        db = self._conn()
        skipped: list[tuple[str, str, str]] = []
        with _transaction(db):
            rows = db.execute(
                "SELECT id, key, alert_id, channel, kind, after_min, grp, critical, keep_if,"
                " at, due_at, body FROM notify_entries"
                " WHERE state = 'queued' AND message IS NULL AND due_at <= ? ORDER BY id",
                (ts(now),),
            ).fetchall()
            due: list[Due] = []
            items: dict[int, Item] = {}
            for row in rows:
                entry_id, _, alert_id, channel, kind, after_min, grp, critical, keep_if = row[:9]
                if channel not in channels:
                    self._skip(entry_id, "the channel is no longer configured")
                    skipped.append((alert_id, channel, "the channel is no longer configured"))
                    continue
                wanted, why = keep(
                    keep_if, self._alert(alert_id), self._notified(alert_id, channel)
                )
                if wanted is None:
                    continue
                if not wanted:
                    self._skip(entry_id, why)
                    skipped.append((alert_id, channel, why))
                    continue
                due.append(Due(entry_id, channel, grp, bool(critical), dt(row[10])))
                items[entry_id] = Item(alert_from_json(row[11]), kind, dt(row[9]), after_min)
            ready, wake = batches(
                due,
                self._last_sent(now, cfg.group_window_s),
                now,
                window_s=cfg.group_window_s,
                digest_from=cfg.digest_from,
            )
            for batch in ready:
                self._insert_message(batch, items, now, cfg, names)
            later = db.execute(
                "SELECT min(due_at) FROM notify_entries WHERE state = 'queued'"
                " AND message IS NULL AND due_at > ?",
                (ts(now),),
            ).fetchone()[0]
        if later is not None:
            wake = dt(later) if wake is None else min(wake, dt(later))
        return len(ready), wake, skipped

    def _insert_message(
        self,
        batch: Batch,
        items: dict[int, Item],
        now: datetime,
        cfg: NotificationSettings,
        names: SiteNames,
    ) -> None:
        db = self._conn()
        chosen = [items[d.entry_id] for d in batch.entries]
        channel_cfg = cfg.channel(batch.channel)
        rendered = render(chosen, names, channel_cfg.language or cfg.language)
        ids = ",".join(str(d.entry_id) for d in batch.entries)
        key = "fw-" + hashlib.sha256(f"{batch.channel}|{ids}".encode()).hexdigest()[:32]
        worst = min(chosen, key=lambda i: _RANK[i.alert.severity.value]).alert.severity.value
        kinds = {i.kind for i in chosen}
        db.execute(
            "INSERT INTO notify_messages (key, channel, grp, severity, kind, alert_ids, zone,"
            " title, body, created_at, expires_at, next_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                key,
                batch.channel,
                batch.group,
                worst,
                kinds.pop() if len(kinds) == 1 else "digest",
                ",".join(sorted({i.alert.id for i in chosen})),
                ",".join(sorted({i.alert.zone_id for i in chosen if i.alert.zone_id})),
                rendered.title,
                rendered.body,
                ts(now),
                ts(now) + cfg.expire_s,
                ts(now),
            ),
        )
        db.executemany(
            "UPDATE notify_entries SET message = ? WHERE id = ?",
            [(key, d.entry_id) for d in batch.entries],
        )

    def _skip(self, entry_id: int, reason: str) -> None:
        self._conn().execute(
            "UPDATE notify_entries SET state = 'skipped', reason = ? WHERE id = ?",
            (reason, entry_id),
        )

    def _alert(self, alert_id: str) -> Alert | None:
        row = self._conn().execute("SELECT body FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return alert_from_json(row[0]) if row else None

    def _notified(self, alert_id: str, channel: str) -> bool | None:
        """Was anything but a resolution about the alert sent here? None: one is still queued."""
        states = {
            s
            for (s,) in self._conn().execute(
                "SELECT state FROM notify_entries WHERE alert_id = ? AND channel = ?"
                " AND kind != 'resolved'",
                (alert_id, channel),
            )
        }
        if "sent" in states:
            return True
        return None if "queued" in states else False

    def _last_sent(self, now: datetime, window_s: float) -> dict[tuple[str, str], datetime]:
        """The last message per channel and group within the grouping window."""
        rows = self._conn().execute(
            "SELECT channel, grp, max(created_at) FROM notify_messages WHERE created_at >= ?"
            " GROUP BY channel, grp",
            (ts(now) - window_s,),
        )
        return {(channel, grp): dt(at) for channel, grp, at in rows}

    def prune(self, now: datetime, keep_s: float = KEEP_S) -> int:
        """Drop finished entries and messages older than ``keep_s``; the queued stay."""
        db = self._conn()
        cutoff = ts(now) - keep_s
        with _transaction(db):
            gone = db.execute(
                "DELETE FROM notify_entries WHERE state != 'queued' AND at < ?", (cutoff,)
            ).rowcount
            db.execute(
                "DELETE FROM notify_messages WHERE state != 'queued' AND created_at < ?"
                " AND key NOT IN (SELECT message FROM notify_entries WHERE message IS NOT NULL)",
                (cutoff,),
            )
        return int(gone)

    # ------------------------------------------------------------------ sending

    def next_messages(
        self, channel: str, now: datetime, limit: int = 20
    ) -> tuple[list[MessageRow], datetime | None]:
        """The channel's oldest queued messages that are due now (in order, at most
        ``limit``), or none and when the oldest one is due."""
        rows = (
            self._conn()
            .execute(
                "SELECT key, channel, title, body, severity, kind, alert_ids, zone, attempts,"
                " next_at, expires_at, delivered, reason FROM notify_messages"
                " WHERE state = 'queued' AND channel = ? ORDER BY created_at, key LIMIT ?",
                (channel, limit),
            )
            .fetchall()
        )
        due: list[MessageRow] = []
        for row in rows:
            msg = MessageRow(
                key=row[0],
                channel=row[1],
                title=row[2],
                body=row[3],
                severity=row[4],
                kind=row[5],
                alert_ids=row[6],
                zone=row[7],
                attempts=row[8],
                reason=row[12],
                next_at=dt(row[9]),
                expires_at=dt(row[10]),
                delivered=frozenset(json.loads(row[11])),
            )
            if msg.next_at > now:  # in order: the ones after it wait too
                return due, (None if due else msg.next_at)
            due.append(msg)
        return due, None

    def sent(self, key: str, now: datetime) -> None:
        db = self._conn()
        with _transaction(db):
            db.execute(
                "UPDATE notify_messages SET state = 'sent', sent_at = ?, attempts = attempts + 1,"
                " reason = NULL WHERE key = ?",
                (ts(now), key),
            )
            db.execute("UPDATE notify_entries SET state = 'sent' WHERE message = ?", (key,))

    def failed(
        self,
        msg: MessageRow,
        now: datetime,
        reason: str,
        delivered: frozenset[int],
        cfg: NotificationSettings,
        *,
        expire: bool = False,
    ) -> tuple[bool, datetime]:
        """Record a failed attempt. Returns (expired, next attempt).

        The channel's other queued messages wait as long, so they keep their order.
        """
        db = self._conn()
        attempts = msg.attempts + 1
        retry = backoff_s(attempts, min_s=cfg.retry_min_s, max_s=cfg.retry_max_s)
        next_at = ts(now) + retry
        expired = expire or next_at >= ts(msg.expires_at)
        with _transaction(db):
            if expired:
                why = f"expired after {attempts} attempts: {reason}"
                db.execute(
                    "UPDATE notify_messages SET state = 'failed', attempts = ?, reason = ?,"
                    " delivered = ? WHERE key = ?",
                    (attempts, why, json.dumps(sorted(delivered)), msg.key),
                )
                db.execute(
                    "UPDATE notify_entries SET state = 'failed', reason = ? WHERE message = ?",
                    (why, msg.key),
                )
            else:
                db.execute(
                    "UPDATE notify_messages SET attempts = ?, reason = ?, next_at = ?,"
                    " delivered = ? WHERE key = ?",
                    (attempts, reason, next_at, json.dumps(sorted(delivered)), msg.key),
                )
                db.execute(
                    "UPDATE notify_messages SET next_at = max(next_at, ?)"
                    " WHERE state = 'queued' AND channel = ?",
                    (next_at, msg.channel),
                )
        return expired, dt(next_at)

    def status(self, alert_id: str) -> list[Delivery]:
        return _status(self._conn(), alert_id)


def _status(db: sqlite3.Connection, alert_id: str) -> list[Delivery]:
    rows = db.execute(
        "SELECT e.alert_id, e.channel, e.kind, e.state, coalesce(e.reason, m.reason),"
        " e.due_at, m.sent_at, coalesce(m.attempts, 0), e.message"
        " FROM notify_entries e LEFT JOIN notify_messages m ON m.key = e.message"
        " WHERE e.alert_id = ? ORDER BY e.id",
        (alert_id,),
    )
    return [
        Delivery(
            alert_id=r[0],
            channel=r[1],
            kind=r[2],
            state=r[3],
            reason=r[4],
            due_at=dt(r[5]),
            sent_at=dt(r[6]) if r[6] is not None else None,
            attempts=r[7],
            message=r[8],
        )
        for r in rows
    ]


def read_status(path: Path, alert_id: str) -> list[Delivery]:
    """An alert's deliveries, read-only (works while the gateway runs)."""
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        has = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'notify_entries'"
        ).fetchone()
        return _status(db, alert_id) if has else []
    finally:
        db.close()


_RANK = {"critical": 0, "warning": 1, "info": 2}


class _transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
