"""Hourly aggregates and alert re-sends through a real nats-server into a real InfluxDB 1.x.

The site side is the gateway's own: ``HourlyFeed`` (fed like the engine and the
hub feed it, on a clock the test moves), ``AlertResend`` over a real SQLite
``AlertStore``, and ``FleetUplink`` publishing to JetStream. The central side is
``floorwatch fleet run``'s worker writing to InfluxDB. What is asserted is what
the stream and the database hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
from nats.js import JetStreamContext

from gateway.alert_store import AlertStore, TransitionKey
from gateway.alerts import Transition
from gateway.fleet.alert_resend import AlertResend, read_cursor
from gateway.fleet.central_config import CentralConfig
from gateway.fleet.central_run import build
from gateway.fleet.central_worker import FleetWorker
from gateway.fleet.hourly_feed import HourlyFeed
from gateway.fleet.hourly_records import plan_counters
from gateway.fleet.messages import MSG_ID_HEADER, FleetMessage, FleetSubjects
from gateway.fleet.uplink import FleetUplink
from gateway.live import Alert, AlertState, LiveEvent, LiveEventKind, Severity, ZoneState
from gateway.observations import DeviceHealth, TicketEvent
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.nats import NatsServer
from gateway.settings import FleetConfig
from tests.unit.test_fleet_hourly import (
    DEVICES,
    H0,
    H1,
    H2,
    TZ,
    at,
    health,
    plan,
    ticket,
    zone,
)

WAIT_S = 60.0  # a bound on waits, never an expectation of speed
PLAN = plan(12.0)
A = FleetSubjects("floorwatch", "ha-noi", "ba-dinh")
STREAM = "FLOORWATCH"


def central(nats_url: str, influx_url: str, db: str, tmp: Path) -> CentralConfig:
    return CentralConfig.model_validate(
        {
            "nats": {"url": nats_url, "stream": STREAM, "fetch_wait_s": 0.2},
            "influxdb": {
                "protocol": "v1",
                "url": influx_url,
                "database": db,
                "flush_interval_s": 0.05,
                "retry_min_s": 0.05,
                "retry_max_s": 0.2,
            },
            "state_dir": str(tmp),
        }
    )


@contextlib.asynccontextmanager
async def running(cfg: CentralConfig) -> AsyncIterator[FleetWorker]:
    """A ``floorwatch fleet run`` worker and its writer, for the test's duration."""
    writer, worker = build(cfg, name="w")
    tasks = [asyncio.create_task(writer.run()), asyncio.create_task(worker.run())]
    try:
        await wait_until("the worker bound", worker.ready.is_set)
        yield worker
    finally:
        await stop(*tasks)
        await writer.close()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Live:
    """The engine's live stream as the test drives it (one subscriber at a time)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[LiveEvent] = asyncio.Queue()

    async def events(self) -> AsyncIterator[LiveEvent]:
        while True:
            yield await self.queue.get()
            self.queue.task_done()  # the reader asks for the next one: it has handled this

    async def send(self, event: LiveEvent) -> None:
        """Hand the event over and return once the reader has handled it."""
        self.queue.put_nowait(event)
        await self.queue.join()


def uplink_config(url: str) -> FleetConfig:
    return FleetConfig.model_validate(
        {
            "enabled": True,
            "url": url,
            "province": A.province,
            "stream": STREAM,
            "publish_timeout_s": 30.0,  # no retry of a slow ack on a loaded machine
            "retry_min_s": 0.05,
            "retry_max_s": 0.5,
            "heartbeat_s": 0,  # the stream's messages counted are the feed's
        }
    )


async def wait_until(what: str, done: Callable[[], Awaitable[bool] | bool]) -> None:
    async def poll() -> None:
        while True:
            result = done()
            if not isinstance(result, bool):
                result = await result
            if result:
                return
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(poll(), WAIT_S)
    except TimeoutError:
        raise AssertionError(f"still waiting for {what} after {WAIT_S:.0f} s") from None


async def stored(js: JetStreamContext, kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(Nats-Msg-Id, payload) of the stream's messages of one kind, in order."""
    info = await js.stream_info(STREAM)
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(STREAM, seq)
        if (msg.subject or "").endswith(f".{kind}"):
            out.append(((msg.headers or {}).get(MSG_ID_HEADER, ""), json.loads(msg.data or b"")))
    return out


async def stream_messages(js: JetStreamContext) -> int:
    return (await js.stream_info(STREAM)).state.messages


async def stop(*tasks: asyncio.Task[None]) -> None:
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def site_stream(server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(server.url)
    try:
        js = nc.jetstream()
        await js.add_stream(name=STREAM, subjects=["floorwatch.>"], duplicate_window=600)
        yield js
    finally:
        await nc.close()


def steps(since: datetime, until: datetime) -> list[Any]:
    """The unit tests' simulated hour (08:00-09:00 in Hà Nội), [since, until)."""
    items: list[Any] = [
        zone(at(H0, 50), 10),
        health(at(H0, 50), "cam-1", True),
        health(at(H0, 50), "cam-2", True),
        health(at(H0, 50), "s-1", True),
        ticket(at(H0, 55), "A1", "issued"),
        ticket(at(H1, 5), "A2", "issued"),
        ticket(at(H1, 5), "A1", "called", 1),
        ticket(at(H1, 10), "A3", "issued"),
        ticket(at(H1, 15), "A1", "served", 1),
        ticket(at(H1, 20), "A3", "called", 1),
        ticket(at(H1, 25), "A2", "called", 2),
        zone(at(H1, 30), 20),
        health(at(H1, 30), "cam-2", False),
        ticket(at(H1, 40), "A4", "issued"),
        zone(at(H1, 45), 5),
        health(at(H1, 45), "cam-2", True),
    ]
    return [i for i in items if since <= when(i) < until]


def when(item: Any) -> datetime:
    if isinstance(item, ZoneState):
        return item.updated_at
    at_: datetime = item.at
    return at_


async def play(items: list[Any], clock: Clock, live: Live, feed: HourlyFeed) -> None:
    for item in items:
        clock.now = when(item)
        if isinstance(item, ZoneState):
            await live.send(LiveEvent(0, LiveEventKind.ZONE, item.updated_at, zone=item))
        elif isinstance(item, DeviceHealth):
            await live.send(LiveEvent(0, LiveEventKind.DEVICE, item.at, device=item))
        else:
            assert isinstance(item, TicketEvent)
            feed.observe(item)


class Site:
    """One run of a gateway's fleet side: the uplink and the hourly feed."""

    def __init__(self, server: NatsServer, path: Path, clock: Clock) -> None:
        self.live = Live()
        self.uplink = FleetUplink(
            uplink_config(server.url),
            A,
            _silent,
            on_acked=lambda m: self.feed.acked(m),
        )
        self.feed = HourlyFeed(
            subjects=A,
            tz=TZ,
            devices=DEVICES,
            path=path,
            clock=clock,
            events=self.live.events,
            offer=self.uplink.offer,
            plan_of=lambda day: PLAN if day == date(2026, 3, 9) else None,
            tick_s=0.05,
            save_s=0.05,
        )
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.tasks = [
            asyncio.create_task(self.uplink.run()),
            asyncio.create_task(self.feed.run()),
        ]
        await wait_until("the feed running", lambda: self.feed.aggregator is not None)

    async def stop(self) -> None:
        await stop(*reversed(self.tasks))


async def _silent() -> AsyncIterator[LiveEvent]:
    """An engine that emits nothing (the hourly feed offers its messages itself)."""
    never = asyncio.Event()
    while not never.is_set():
        await never.wait()
        yield LiveEvent(0, LiveEventKind.ZONE, H0)


def test_a_simulated_hour_is_stored_once_across_a_restart_and_a_second_publish(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    db = influxdb1_database
    cfg = central(nats_server.url, influxdb1.url, db, tmp_path / "central")
    path = tmp_path / "fleet-hourly.json"
    clock = Clock(at(H0, 50))

    async def main() -> tuple[list[tuple[str, dict[str, Any]]], int, dict[str, Any]]:
        async with site_stream(nats_server) as js, running(cfg) as worker:
            first = Site(nats_server, path, clock)
            await first.start()
            await wait_until("the plan acknowledged", lambda: first.uplink.stats.published >= 1)
            await play(steps(at(H0, 50), at(H1, 21)), clock, first.live, first.feed)
            clock.now = at(H1, 21)
            await wait_until(
                "hour 07:00 acknowledged",
                lambda: first.feed.closed == 1 and not first.feed.unacked,
            )
            await first.stop()  # saves the open hour at 01:21 UTC

            clock.now = at(H1, 22)  # a minute later the gateway is back
            again = Site(nats_server, path, clock)
            await again.start()
            await again.live.send(
                LiveEvent(0, LiveEventKind.ZONE, clock.now, zone=zone(clock.now, 10))
            )
            for device in DEVICES:
                item = health(clock.now, device, True)
                await again.live.send(LiveEvent(0, LiveEventKind.DEVICE, clock.now, device=item))
            await play(steps(at(H1, 22), H2), clock, again.live, again.feed)
            clock.now = H2 + timedelta(seconds=1)
            await wait_until("hour 08:00 closed", lambda: again.feed.closed == 1)
            await wait_until("hour 08:00 acknowledged", lambda: not again.feed.unacked)
            await again.stop()
            got = await stored(js, "hourly")
            # Published twice more: with its id (within the window: dropped) and
            # without it (as after the window: stored in the stream again).
            sent = FleetMessage(
                f"{A.site_root}.hourly", got[-1][0], json.dumps(got[-1][1]).encode()
            )
            ack = await js.publish(sent.subject, sent.payload, headers=sent.headers)
            assert ack.duplicate
            await js.publish(sent.subject, sent.payload)
            total = await stream_messages(js)
            await wait_until("the worker has all", lambda: worker.stats.acked >= total)
            kv = await js.key_value("fleet_sites")
            site = json.loads((await kv.get("ha-noi.ba-dinh")).value or b"{}")
            return await stored(js, "hourly"), again.uplink.stats.duplicates, site

    hourly, duplicates, site = asyncio.run(main())
    assert site["hours"] == {
        "hourly": "2026-03-09T01:00:00+00:00",
        "health": "2026-03-09T01:00:00+00:00",
    }
    assert site["plan"]["day"] == "2026-03-09"
    assert [i for i, _ in hourly] == [
        "floorwatch.ha-noi.ba-dinh:hourly:2026-03-09T00:00:00+00:00",
        "floorwatch.ha-noi.ba-dinh:hourly:2026-03-09T01:00:00+00:00",
        "",  # the copy published without an id
    ]
    assert duplicates >= 1  # the plan, sent again at the restart, was already stored
    planned = plan_counters(PLAN)["civil"][8]
    got = influxdb1.rows(
        "SELECT tickets, called, waits, wait_p50_s, wait_p90_s, wait_max_s, counters_open,"
        " counters_planned FROM service_hourly WHERE site = 'ba-dinh'",
        db,
    )
    assert [r[1:] for r in got] == [
        [1, 0, 0, None, None, None, 0, None],  # 07:00: A1 issued
        [3, 3, 3, 600.0, 1200.0, 1200.0, 2, planned],  # 08:00, once, A2's wait across the restart
    ]
    zones = influxdb1.rows("SELECT people_mean, people_max, covered_s FROM zone_hourly", db)
    assert [r[1:] for r in zones] == [[10.0, 10, 600.0], [11.271, 20, 3540.0]]
    devices = influxdb1.rows(
        "SELECT configured, online, down, downtime_s FROM device_hourly WHERE kind = 'camera'", db
    )
    assert [r[1:] for r in devices] == [[2, 2, 0, 0.0], [2, 2, 1, 900.0]]
    plans = influxdb1.rows("SELECT counters FROM staffing_plan GROUP BY service", db)
    assert [r[1] for r in plans] == [
        plan_counters(PLAN)["civil"][8],
        plan_counters(PLAN)["civil"][9],
    ]


def alert(state: AlertState, minute: int) -> Alert:
    return Alert(
        id="crowd_level-waiting:1",
        rule="crowd_level",
        severity=Severity.WARNING,
        state=state,
        zone_id="waiting",
        device_id=None,
        message="Waiting is crowded",
        value=0.85,
        threshold=0.8,
        raised_at=at(H1, 0),
        updated_at=at(H1, minute),
        subject="waiting",
    )


RAISED = Transition(alert(AlertState.ACTIVE, 1), "raised", at(H1, 1))
ACKED = Transition(alert(AlertState.ACKNOWLEDGED, 3), "acknowledged", at(H1, 3), "an")
RESOLVED = Transition(alert(AlertState.RESOLVED, 6), "resolved", at(H1, 6))


def test_alert_transitions_lost_at_a_stop_while_nats_was_away_arrive_after_the_next_start_once(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    db = influxdb1_database
    cfg = central(nats_server.url, influxdb1.url, db, tmp_path / "central")
    cursor = tmp_path / "fleet-uplink.json"

    async def ready() -> None:
        return None

    def run(store: AlertStore, live: Live) -> tuple[FleetUplink, AlertResend]:
        resend = AlertResend(cursor, A, store, ready)
        uplink = FleetUplink(
            uplink_config(nats_server.url),
            A,
            live.events,
            backlog=resend.backlog,
            on_acked=resend.acked,
        )
        return uplink, resend

    def event(t: Transition) -> LiveEvent:
        return LiveEvent(0, LiveEventKind.ALERT, t.at, alert=t.alert, transition=t.kind)

    async def main() -> tuple[list[tuple[str, dict[str, Any]]], int, int]:
        async with site_stream(nats_server):
            pass  # the province's stream layout (floorwatch.>), as the central side reads it
        store = AlertStore(tmp_path / "alerts.sqlite3")
        await store.open()
        try:
            live = Live()
            uplink, _ = run(store, live)
            task = asyncio.create_task(uplink.run())
            await store.record([RAISED], {})
            await live.send(event(RAISED))
            await wait_until("raised acknowledged", lambda: uplink.stats.published == 1)
            assert read_cursor(cursor) == TransitionKey(
                RAISED.alert.id, "raised", RAISED.at.isoformat()
            )

            nats_server.stop()  # NATS away: two more transitions, then the gateway stops
            await wait_until("the disconnection", lambda: not uplink.stats.connected)
            for t in (ACKED, RESOLVED):
                await store.record([t], {})
                await live.send(event(t))
            await stop(task)  # what was queued is lost with the process
            assert uplink.pending == 2

            await asyncio.to_thread(nats_server.start)  # same store
            again, resend = run(store, Live())
            task = asyncio.create_task(again.run())
            await wait_until("two re-sent", lambda: again.stats.published == 2)
            assert resend.resent == 2
            await stop(task)

            # A cursor that lags (written before the last acks reached it): the
            # transitions come again within the duplicate window and are dropped.
            cursor.write_text(
                json.dumps(
                    {"alert_id": RAISED.alert.id, "kind": "raised", "at": RAISED.at.isoformat()}
                )
            )
            third, _ = run(store, Live())
            task = asyncio.create_task(third.run())
            await wait_until("two duplicates", lambda: third.stats.duplicates == 2)
            await stop(task)
            dup, new = third.stats.duplicates, third.stats.published

            nc = await nats.connect(nats_server.url)
            try:
                js = nc.jetstream()
                async with running(cfg) as worker:
                    await wait_until("the worker has all", lambda: worker.stats.acked >= 3)
                return await stored(js, "alert"), dup, new
            finally:
                await nc.close()
        finally:
            await store.close()

    alerts, dup, new = asyncio.run(main())
    assert (dup, new) == (2, 0)
    assert [p["transition"] for _, p in alerts] == ["raised", "acknowledged", "resolved"]
    assert len({i for i, _ in alerts}) == 3  # once each
    got = influxdb1.rows("SELECT transition, state FROM alerts WHERE site = 'ba-dinh'", db)
    assert [r[1:] for r in got] == [
        ["raised", "active"],
        ["acknowledged", "acknowledged"],
        ["resolved", "resolved"],
    ]
