"""gateway.fleet.hourly_feed and alert_resend: their state files, on a clock the test moves.

The feed's messages are collected instead of published (the uplink is tested on
a real nats-server in tests/integration/test_fleet_hourly.py); the alert store
is a real SQLite file in the test's folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from gateway.alert_store import AlertStore, StoreError, TransitionKey
from gateway.alerts import Transition
from gateway.fleet.alert_resend import AlertResend, read_cursor, write_cursor
from gateway.fleet.hourly_feed import HourlyFeed
from gateway.fleet.messages import FleetMessage
from gateway.live import Alert, AlertState, LiveEvent, LiveEventKind, Severity, ZoneState
from gateway.observations import DeviceHealth
from tests.unit.test_fleet_hourly import DEVICES, H1, H2, SUBJECTS, TZ, at, health, zone

WAIT_S = 30.0


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def nothing() -> AsyncIterator[LiveEvent]:
    never = asyncio.Event()
    while not never.is_set():
        await never.wait()
        yield LiveEvent(0, LiveEventKind.ZONE, H1)  # never reached: the engine says nothing


async def wait_until(what: str, done: Callable[[], bool]) -> None:
    async def poll() -> None:
        while True:
            if done():
                return
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(poll(), WAIT_S)
    except TimeoutError:
        raise AssertionError(f"still waiting for {what}") from None


Present = Callable[[], tuple[list[ZoneState], list[DeviceHealth]]]


def feed(
    path: Path, clock: Clock, sent: list[FleetMessage], current: Present | None = None
) -> HourlyFeed:
    return HourlyFeed(
        subjects=SUBJECTS,
        tz=TZ,
        devices=DEVICES,
        path=path,
        clock=clock,
        events=nothing,
        offer=sent.append,
        tick_s=0.01,
        save_s=0.01,
        current=current,
    )


async def running(f: HourlyFeed, body: Callable[[], Awaitable[None]]) -> None:
    task = asyncio.create_task(f.run())
    try:
        await wait_until("the feed running", lambda: f.aggregator is not None)
        await body()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_a_steady_zone_and_the_devices_come_from_the_engines_present_picture(
    tmp_path: Path,
) -> None:
    clock = Clock(at(H1, 0))
    sent: list[FleetMessage] = []
    present = ([zone(at(H1, 0), 12)], [health(at(H1, 0), "cam-1", True)])
    f = feed(tmp_path / "hourly.json", clock, sent, current=lambda: present)

    async def body() -> None:
        clock.now = H2
        await wait_until("the hour closed", lambda: f.closed == 1)

    asyncio.run(running(f, body))
    payloads = [json.loads(m.payload) for m in sent]
    hourly = next(p["hourly"] for p in payloads if p["kind"] == "hourly")
    assert hourly["zones"] == {
        "waiting": {"people_mean": 12.0, "people_max": 12, "covered_s": 3600.0}
    }
    health_ = next(p["health"] for p in payloads if p["kind"] == "health")
    assert health_["kinds"]["camera"]["online"] == 1


def test_messages_not_acknowledged_are_offered_again_at_the_next_start(tmp_path: Path) -> None:
    path = tmp_path / "hourly.json"
    clock = Clock(at(H1, 0))
    first: list[FleetMessage] = []
    f = feed(path, clock, first, current=lambda: ([zone(at(H1, 0), 12)], []))

    async def close_one() -> None:
        clock.now = at(H2, 1)
        await wait_until("the hour closed", lambda: f.closed == 1)

    asyncio.run(running(f, close_one))  # stopped with the hour's message unacknowledged
    (message,) = first
    again: list[FleetMessage] = []
    g = feed(path, clock, again)

    async def ack() -> None:
        g.acked(message)
        await asyncio.sleep(0.05)  # a tick saves it

    asyncio.run(running(g, ack))
    assert again == [message]  # the same id and bytes
    third: list[FleetMessage] = []
    asyncio.run(running(feed(path, clock, third), lambda: asyncio.sleep(0.05)))
    assert third == []  # acknowledged: not again, and the hour is not built again


def test_an_unreadable_state_file_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "hourly.json"
    path.write_text("{not json", encoding="utf-8")
    sent: list[FleetMessage] = []
    f = feed(path, Clock(at(H1, 0)), sent)
    asyncio.run(running(f, lambda: asyncio.sleep(0.05)))
    assert f.aggregator is not None and f.aggregator.closed_through is None
    assert json.loads(path.read_text(encoding="utf-8"))["aggregator"]["v"] == 1  # rewritten


def _alert(minute: int, state: AlertState) -> Alert:
    return Alert(
        "capacity-hall:1",
        "capacity",
        Severity.CRITICAL,
        state,
        "hall",
        None,
        "Hall over capacity",
        1.1,
        1.0,
        at(H1, 0),
        at(H1, minute),
    )


RAISED = Transition(_alert(1, AlertState.ACTIVE), "raised", at(H1, 1))
RESOLVED = Transition(_alert(9, AlertState.RESOLVED), "resolved", at(H1, 9))


async def _ready() -> None:
    return None


def test_the_alert_cursor_first_start_takes_the_latest_and_an_unknown_one_sends_nothing(
    tmp_path: Path,
) -> None:
    cursor = tmp_path / "fleet-uplink.json"

    async def main() -> tuple[list[FleetMessage], list[FleetMessage], list[FleetMessage]]:
        store = AlertStore(tmp_path / "alerts.sqlite3")
        await store.open()
        try:
            await store.record([RAISED], {})
            resend = AlertResend(cursor, SUBJECTS, store, _ready)
            first = await resend.backlog()  # no cursor: the history is not sent
            await store.record([RESOLVED], {})
            after = await AlertResend(cursor, SUBJECTS, store, _ready).backlog()
            write_cursor(cursor, TransitionKey("gone:1", "raised", at(H1, 0).isoformat()))
            unknown = await AlertResend(cursor, SUBJECTS, store, _ready).backlog()
            return first, after, unknown
        finally:
            await store.close()

    first, after, unknown = asyncio.run(main())
    assert first == [] and unknown == []
    assert [json.loads(m.payload)["transition"] for m in after] == ["resolved"]
    assert after[0].msg_id == (
        "floorwatch.ha-noi.ba-dinh:alert:capacity-hall:1:resolved:2026-03-09T01:09:00+00:00"
    )


def test_the_cursor_moves_on_with_acknowledged_alerts_only_forward(tmp_path: Path) -> None:
    from gateway.fleet.messages import alert_message, hourly_message
    from tests.unit.test_fleet_hourly import EXPECTED_HOUR

    cursor = tmp_path / "fleet-uplink.json"
    resend = AlertResend(cursor, SUBJECTS, _NoStore(), _ready)
    resend.acked(hourly_message(SUBJECTS, EXPECTED_HOUR))
    assert read_cursor(cursor) is None  # not an alert
    resend.acked(alert_message(SUBJECTS, RESOLVED.alert, "resolved"))
    resend.acked(alert_message(SUBJECTS, RAISED.alert, "raised"))  # older: the backlog
    assert read_cursor(cursor) == TransitionKey(
        "capacity-hall:1", "resolved", (H1 + timedelta(minutes=9)).isoformat()
    )


class _NoStore:
    async def last_transition(self) -> TransitionKey | None:
        return None

    async def transitions_after(self, after: TransitionKey) -> list[tuple[str, Alert]] | None:
        return None

    async def latest_transitions(self, alert_ids: Sequence[str]) -> dict[str, tuple[str, Alert]]:
        return {}


class _BrokenStore:
    async def last_transition(self) -> TransitionKey | None:
        raise StoreError("alerts.sqlite3: disk I/O error")

    async def transitions_after(self, after: TransitionKey) -> list[tuple[str, Alert]] | None:
        raise StoreError("alerts.sqlite3: disk I/O error")

    async def latest_transitions(self, alert_ids: Sequence[str]) -> dict[str, tuple[str, Alert]]:
        raise StoreError("alerts.sqlite3: disk I/O error")


def test_a_store_that_cannot_be_read_resends_nothing_and_stops_nothing(tmp_path: Path) -> None:
    resend = AlertResend(tmp_path / "fleet-uplink.json", SUBJECTS, _BrokenStore(), _ready)
    assert asyncio.run(resend.backlog()) == []


def test_dropped_alert_transitions_come_back_at_their_latest_from_the_store(
    tmp_path: Path,
) -> None:
    from gateway.fleet.messages import alert_message, hourly_message
    from tests.unit.test_fleet_hourly import EXPECTED_HOUR

    async def main() -> tuple[list[FleetMessage], list[FleetMessage]]:
        store = AlertStore(tmp_path / "alerts.sqlite3")
        await store.open()
        try:
            await store.record([RAISED], {})
            await store.record([RESOLVED], {})
            resend = AlertResend(tmp_path / "fleet-uplink.json", SUBJECTS, store, _ready)
            resend.dropped(hourly_message(SUBJECTS, EXPECTED_HOUR))  # comes back by itself
            resend.dropped(alert_message(SUBJECTS, RAISED.alert, "raised"))
            first = await resend.resend_dropped()
            again = await resend.resend_dropped()  # nothing dropped since
            return first, again
        finally:
            await store.close()

    first, again = asyncio.run(main())
    assert first == [alert_message(SUBJECTS, RESOLVED.alert, "resolved")]
    assert again == []


def test_a_store_that_cannot_be_read_resends_the_dropped_transition_itself(
    tmp_path: Path,
) -> None:
    from gateway.fleet.messages import alert_message

    raised = alert_message(SUBJECTS, RAISED.alert, "raised")
    resend = AlertResend(tmp_path / "fleet-uplink.json", SUBJECTS, _BrokenStore(), _ready)
    resend.dropped(raised)
    assert asyncio.run(resend.resend_dropped()) == [raised]
    assert resend.dropped_resent == 1


def test_a_state_file_that_cannot_be_written_stops_no_hour(tmp_path: Path) -> None:
    clock = Clock(at(H1, 0))
    sent: list[FleetMessage] = []
    path = tmp_path / "missing-folder" / "hourly.json"
    f = feed(path, clock, sent, current=lambda: ([zone(at(H1, 0), 12)], []))

    async def body() -> None:
        await asyncio.sleep(0.05)  # saves fail meanwhile
        clock.now = H2
        await wait_until("the hour closed", lambda: f.closed == 1)

    asyncio.run(running(f, body))
    assert [json.loads(m.payload)["kind"] for m in sent] == ["hourly"]
    assert not path.exists()
