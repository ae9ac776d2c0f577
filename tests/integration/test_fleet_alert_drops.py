"""Alert transitions a full uplink queue dropped while running, sent again once it drains.

A real nats-server with JetStream on a free loopback port, a real SQLite
``AlertStore``, ``AlertResend`` wired to ``FleetUplink`` as the gateway wires
it (gateway.app), and a queue of three messages so that drops really happen
while the server is away. What is asserted is what the site's stream holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import nats

from gateway.alert_store import AlertStore
from gateway.alerts import Transition
from gateway.fleet.alert_resend import AlertResend
from gateway.fleet.messages import FleetKind, alert_message
from gateway.fleet.uplink import FleetUplink
from gateway.live import Alert, AlertState, LiveEvent, LiveEventKind, Severity
from gateway.peers.nats import NatsServer
from tests.integration.test_fleet_uplink import (
    SUBJECTS,
    T0,
    config,
    start,
    stop,
    stored,
    wait_until,
    zone_event,
)


def alert(alert_id: str, state: AlertState, minute: int) -> Alert:
    return Alert(
        id=alert_id,
        rule="crowd_level",
        severity=Severity.WARNING,
        state=state,
        zone_id="waiting",
        device_id=None,
        message="Waiting is crowded",
        value=0.85,
        threshold=0.8,
        raised_at=T0,
        updated_at=T0 + timedelta(minutes=minute),
        subject="waiting",
    )


def transition(alert_id: str, kind: str, state: AlertState, minute: int) -> Transition:
    a = alert(alert_id, state, minute)
    return Transition(a, kind, a.updated_at)


A_RAISED = transition("crowd_level-waiting:1", "raised", AlertState.ACTIVE, 1)
A_ACKED = transition("crowd_level-waiting:1", "acknowledged", AlertState.ACKNOWLEDGED, 2)
A_RESOLVED = transition("crowd_level-waiting:1", "resolved", AlertState.RESOLVED, 3)
B_RAISED = transition("crowd_level-counters:1", "raised", AlertState.ACTIVE, 4)
C_RAISED = transition("crowd_level-entrance:1", "raised", AlertState.ACTIVE, 6)
B_ACKED = transition("crowd_level-counters:1", "acknowledged", AlertState.ACKNOWLEDGED, 8)


class Live:
    """The engine's live stream: ``send`` returns once the uplink has queued the event."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[LiveEvent] = asyncio.Queue()

    async def events(self) -> AsyncIterator[LiveEvent]:
        while True:
            yield await self.queue.get()
            self.queue.task_done()

    async def send(self, event: LiveEvent) -> None:
        self.queue.put_nowait(event)
        await self.queue.join()


def alert_event(t: Transition) -> LiveEvent:
    return LiveEvent(0, LiveEventKind.ALERT, t.at, alert=t.alert, transition=t.kind)


def msg_id(t: Transition) -> str:
    return alert_message(SUBJECTS, t.alert, t.kind).msg_id


def test_alert_transitions_dropped_by_a_full_queue_end_in_the_stream_once_at_their_latest(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    async def ready() -> None:
        return None

    async def main() -> tuple[list[tuple[str, str]], int, int]:
        store = AlertStore(tmp_path / "alerts.sqlite3")
        await store.open()
        live = Live()
        resend = AlertResend(tmp_path / "fleet-uplink.json", SUBJECTS, store, ready)
        uplink = FleetUplink(
            config(nats_server.url, queue_size=3),
            SUBJECTS,
            live.events,
            backlog=resend.backlog,
            on_acked=resend.acked,
            on_dropped=resend.dropped,
            resend_dropped=resend.resend_dropped,
        )

        async def happen(*transitions: Transition) -> None:
            for t in transitions:  # as the engine does: stored, then published live
                await store.record([t], {})
                await live.send(alert_event(t))

        task = await start(uplink)
        try:
            await happen(A_RAISED)
            await wait_until("raised stored", lambda: uplink.stats.published == 1)

            nats_server.stop()
            await wait_until("the disconnection", lambda: not uplink.stats.connected)
            # A is acknowledged and resolved, B raised: then zone states push them out
            await happen(A_ACKED, A_RESOLVED, B_RAISED)
            await live.send(zone_event(5, 40))
            await live.send(zone_event(6, 45))
            await happen(C_RAISED)
            await wait_until("3 dropped", lambda: uplink.stats.dropped >= 3)
            # B acknowledged while the server is still away: it is queued (and will
            # go out live), so the re-send of B's latest is the same message again
            await happen(B_ACKED)
            assert uplink.pending == 3

            await asyncio.to_thread(nats_server.start)  # same port, same JetStream store
            await wait_until("re-sent after the drain", lambda: resend.dropped_resent >= 2)
            await wait_until("the queue drained", lambda: uplink.pending == 0)
            reader = await nats.connect(nats_server.url)
            try:
                got = await stored(reader.jetstream())
            finally:
                await reader.close()
            return (
                [
                    (i, p["alert"]["id"])
                    for subject, i, p in got
                    if subject == SUBJECTS.subject(FleetKind.ALERT)
                ],
                uplink.stats.duplicates,
                resend.dropped_resent,
            )
        finally:
            await stop(task)
            await store.close()

    alerts, duplicates, resent = asyncio.run(main())
    ids = [i for i, _ in alerts]
    assert len(ids) == len(set(ids))  # no transition stored twice
    for latest in (A_RESOLVED, B_ACKED, C_RAISED):  # each alert's latest, exactly once
        assert ids.count(msg_id(latest)) == 1, latest.kind
    assert ids.count(msg_id(A_RAISED)) == 1
    # B's latest went out live from the queue and again from the re-send: one copy
    assert duplicates >= 1
    assert resent >= 2  # A's resolved, B's acknowledged
    # the stream ends at each alert's latest transition (the one a newer one must not hide)
    last = {alert_id: i for i, alert_id in alerts}
    assert set(last.values()) == {msg_id(A_RESOLVED), msg_id(B_ACKED), msg_id(C_RAISED)}
