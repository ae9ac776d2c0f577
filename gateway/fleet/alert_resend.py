"""Alert transitions lost at a stop, re-sent at the next start. Shell module (a file).

The uplink's queue is in memory: transitions queued while NATS was away are
lost when the gateway stops. They are in the alert store, though
(gateway.alert_store: one row per transition, in order). ``AlertResend``
keeps a cursor, the last alert transition JetStream acknowledged (alert id,
transition, time), in a small JSON file, rewritten atomically at each
acknowledged alert message; at start ``backlog()`` returns the store's
transitions after it as fleet messages, with the ids they were first sent
with, so JetStream drops those it already has (within its duplicate window;
after it the central side writes the same points: docs/fleet.md).

While the gateway runs, the uplink's full queue may drop alert transitions:
``dropped`` hears of each dropped message, and once the queue has drained
``resend_dropped`` returns each affected alert's latest transition from the
store (the decision is gateway.fleet.alert_drops').
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

import structlog

from gateway.alert_store import StoreError, TransitionKey
from gateway.fleet.alert_drops import DroppedAlert, dropped_alert, note_dropped, resend_messages
from gateway.fleet.messages import FleetKind, FleetMessage, FleetSubjects, alert_message
from gateway.live import Alert

log = structlog.get_logger("floorwatch.fleet")


class TransitionSource(Protocol):
    """What is read from the alert store (gateway.alert_store.AlertStore)."""

    async def last_transition(self) -> TransitionKey | None: ...

    async def transitions_after(self, after: TransitionKey) -> list[tuple[str, Alert]] | None: ...

    async def latest_transitions(
        self, alert_ids: Sequence[str]
    ) -> dict[str, tuple[str, Alert]]: ...


def read_cursor(path: Path) -> TransitionKey | None:
    """The saved cursor; None when there is none or it cannot be read (logged)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return TransitionKey(str(data["alert_id"]), str(data["kind"]), str(data["at"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("fleet.alert_cursor_unreadable", path=str(path), reason=str(exc))
        return None


def write_cursor(path: Path, key: TransitionKey) -> None:
    """Replace the cursor file atomically (a reader sees the old one or the new one)."""
    body = {"alert_id": key.alert_id, "kind": key.kind, "at": key.at}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(body, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


class AlertResend:
    """The uplink's ``backlog`` and part of its ``on_acked`` for alert transitions."""

    def __init__(
        self,
        path: Path,
        subjects: FleetSubjects,
        store: TransitionSource,
        ready: Callable[[], Awaitable[None]],
    ) -> None:
        self._path = path
        self._subjects = subjects
        self._store = store
        self._ready = ready  # the engine has opened the store
        self._alert_subject = subjects.subject(FleetKind.ALERT)
        self._cursor_at: datetime | None = None
        self.resent = 0  # transitions re-sent at start
        self._dropped: dict[str, DroppedAlert] = {}  # alert id -> newest dropped transition
        self.dropped_resent = 0  # transitions re-sent after the queue dropped some

    async def backlog(self) -> list[FleetMessage]:
        """The store's transitions after the cursor, as fleet messages, oldest first."""
        await self._ready()
        try:
            return await self._backlog()
        except (StoreError, OSError) as exc:  # the alerts go on live; only the re-send is lost
            log.error("fleet.alerts_not_resent", reason=str(exc))
            return []

    async def _backlog(self) -> list[FleetMessage]:
        cursor = read_cursor(self._path)
        if cursor is None:
            # The fleet's first start here: the history before it is not sent.
            latest = await self._store.last_transition()
            if latest is not None:
                write_cursor(self._path, latest)
            return []
        after = await self._store.transitions_after(cursor)
        if after is None:
            log.warning("fleet.alert_cursor_unknown", alert=cursor.alert_id, transition=cursor.kind)
            return []
        messages = [alert_message(self._subjects, alert, kind) for kind, alert in after]
        self.resent = len(messages)
        log.info("fleet.alerts_resent", count=len(messages))
        return messages

    def acked(self, message: FleetMessage) -> None:
        """JetStream has this message: an alert transition becomes the cursor."""
        if message.subject != self._alert_subject:
            return
        data = json.loads(message.payload)
        alert = data["alert"]
        at = datetime.fromisoformat(alert["updated_at"])
        if self._cursor_at is not None and at < self._cursor_at:
            return  # an older one (the backlog after a live one): the cursor only moves on
        write_cursor(
            self._path,
            TransitionKey(str(alert["id"]), str(data["transition"]), alert["updated_at"]),
        )
        self._cursor_at = at

    def dropped(self, message: FleetMessage) -> None:
        """The uplink's full queue dropped this message: an alert's is remembered."""
        if message.subject != self._alert_subject:
            return
        dropped = dropped_alert(message)
        if dropped is not None:
            self._dropped = note_dropped(self._dropped, dropped)

    async def resend_dropped(self) -> list[FleetMessage]:
        """Once the queue drained: the dropped alerts' latest transitions, oldest first."""
        if not self._dropped:
            return []
        pending, self._dropped = self._dropped, {}
        try:
            latest = await self._store.latest_transitions(sorted(pending))
        except (StoreError, OSError) as exc:  # the dropped transitions themselves, then
            log.warning("fleet.alert_store_unread", reason=str(exc))
            latest = {}
        messages = resend_messages(self._subjects, pending, latest)
        self.dropped_resent += len(messages)
        log.info("fleet.dropped_alerts_resent", count=len(messages))
        return messages
