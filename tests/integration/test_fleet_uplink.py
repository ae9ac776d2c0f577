"""The fleet uplink against a real nats-server with JetStream on a free loopback port.

Each test runs a FleetUplink fed by a live-event feed the test controls and reads
the stream back with its own nats-py client: what lands, on which subject, under
which Nats-Msg-Id, and that nothing is stored twice across retries, a restarted
publisher and a server that goes away and comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.api import StreamConfig

from gateway.fleet.messages import MSG_ID_HEADER, FleetSubjects, zone_message
from gateway.fleet.uplink import FleetUplink
from gateway.live import (
    Alert,
    AlertState,
    LiveEvent,
    LiveEventKind,
    Severity,
    ZoneClimateState,
    ZoneState,
)
from gateway.peers.nats import NatsServer
from gateway.settings import CrowdLevel, FleetConfig

T0 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
SUBJECTS = FleetSubjects("floorwatch", "ha-noi", "phuong-ba-dinh")
STREAM = "FLOORWATCH"
WAIT_S = 60.0  # a bound on waits for events, never an expectation of speed
# Tests that count duplicates must not see a retry caused by a slow ack on a loaded
# machine (a timed-out publish the server had stored comes back as a duplicate).
PATIENT: dict[str, object] = {"publish_timeout_s": 30.0}


def config(url: str, **overrides: object) -> FleetConfig:
    base: dict[str, object] = {
        "enabled": True,
        "url": url,
        "province": SUBJECTS.province,
        "stream": STREAM,
        "publish_timeout_s": 1.0,
        "retry_min_s": 0.05,
        "retry_max_s": 0.5,
        "heartbeat_s": 0,  # these tests count the messages they offer (heartbeats: their own)
    }
    return FleetConfig.model_validate({**base, **overrides})


def zone(minute: int, occupancy: int) -> ZoneState:
    return ZoneState(
        "waiting",
        "f1",
        "Khu chờ",
        occupancy,
        100,
        occupancy / 100,
        occupancy / 120,
        None,
        CrowdLevel.BUSY if occupancy >= 50 else CrowdLevel.CALM,
        "camera",
        0.9,
        (),
        False,
        ZoneClimateState(),
        None,
        None,
        T0 + timedelta(minutes=minute),
    )


def zone_event(minute: int, occupancy: int) -> LiveEvent:
    return LiveEvent(minute, LiveEventKind.ZONE, T0, zone=zone(minute, occupancy))


def alert_event(transition: str, state: AlertState, minute: int) -> LiveEvent:
    alert = Alert(
        id="crowd_level-waiting",
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
    at = alert.updated_at
    return LiveEvent(100 + minute, LiveEventKind.ALERT, at, alert=alert, transition=transition)


class Feed:
    """The engine's live stream as the test drives it."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[LiveEvent] = asyncio.Queue()

    async def events(self) -> AsyncIterator[LiveEvent]:
        while True:
            yield await self.queue.get()

    def send(self, *events: LiveEvent) -> None:
        for event in events:
            self.queue.put_nowait(event)


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


async def stored(js: JetStreamContext) -> list[tuple[str, str, dict[str, Any]]]:
    """(subject, Nats-Msg-Id, payload) of every message in the stream, in stream order."""
    info = await js.stream_info(STREAM)
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(STREAM, seq)
        headers = msg.headers or {}
        out.append(
            (msg.subject or "", headers.get(MSG_ID_HEADER, ""), json.loads(msg.data or b"{}"))
        )
    return out


async def stream_count(js: JetStreamContext) -> int:
    try:
        info = await js.stream_info(STREAM)
    except nats.js.errors.NotFoundError:
        return 0
    return info.state.messages


async def start(uplink: FleetUplink) -> asyncio.Task[None]:
    task = asyncio.create_task(uplink.run())
    await asyncio.sleep(0)
    return task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


EVENTS = [
    zone_event(0, 12),
    zone_event(1, 55),
    alert_event("raised", AlertState.ACTIVE, 1),
    alert_event("acknowledged", AlertState.ACKNOWLEDGED, 3),
    zone_event(5, 30),
    alert_event("resolved", AlertState.RESOLVED, 6),
]


def test_states_and_transitions_land_in_the_stream_on_their_subjects(
    nats_server: NatsServer,
) -> None:
    async def main() -> None:
        feed = Feed()
        uplink = FleetUplink(config(nats_server.url, **PATIENT), SUBJECTS, feed.events)
        task = await start(uplink)
        reader = await nats.connect(nats_server.url)
        try:
            js = reader.jetstream()
            feed.send(*EVENTS)
            await wait_until("6 published", lambda: uplink.stats.published == len(EVENTS))
            got = await stored(js)
            info = await js.stream_info(STREAM)
        finally:
            await reader.close()
            await stop(task)
        assert info.config.subjects == ["floorwatch.ha-noi.phuong-ba-dinh.>"]
        assert [s for s, _, _ in got] == [
            "floorwatch.ha-noi.phuong-ba-dinh.zone",
            "floorwatch.ha-noi.phuong-ba-dinh.zone",
            "floorwatch.ha-noi.phuong-ba-dinh.alert",
            "floorwatch.ha-noi.phuong-ba-dinh.alert",
            "floorwatch.ha-noi.phuong-ba-dinh.zone",
            "floorwatch.ha-noi.phuong-ba-dinh.alert",
        ]
        assert got[0][1] == (
            "floorwatch.ha-noi.phuong-ba-dinh:zone:waiting:2026-03-09T02:00:00+00:00"
        )
        assert [p.get("transition") for _, _, p in got] == [
            None,
            None,
            "raised",
            "acknowledged",
            None,
            "resolved",
        ]
        occupancy = [p["zone"]["occupancy"] for _, _, p in got if p["kind"] == "zone"]
        assert occupancy == [12, 55, 30]
        assert {p["site"] for _, _, p in got} == {"phuong-ba-dinh"}
        assert uplink.stats.duplicates == 0
        assert uplink.pending == 0

    asyncio.run(main())


def test_a_restarted_publisher_resending_the_same_ids_is_not_stored_twice(
    nats_server: NatsServer,
) -> None:
    async def main() -> None:
        reader = await nats.connect(nats_server.url)
        js = reader.jetstream()
        try:
            first_feed = Feed()
            first = FleetUplink(config(nats_server.url, **PATIENT), SUBJECTS, first_feed.events)
            task = await start(first)
            first_feed.send(*EVENTS[:4])
            await wait_until("4 published", lambda: first.stats.published == 4)
            await stop(task)

            # the gateway restarts and sends its recent events again, then new ones
            again_feed = Feed()
            again = FleetUplink(config(nats_server.url, **PATIENT), SUBJECTS, again_feed.events)
            task = await start(again)
            again_feed.send(*EVENTS)
            await wait_until(
                "6 acknowledged",
                lambda: again.stats.published + again.stats.duplicates == len(EVENTS),
            )
            await stop(task)
            got = await stored(js)
        finally:
            await reader.close()
        assert (again.stats.duplicates, again.stats.published) == (4, 2)
        ids = [i for _, i, _ in got]
        assert len(ids) == len(EVENTS)
        assert len(set(ids)) == len(ids)

    asyncio.run(main())


def test_the_server_down_then_up_the_uplink_reconnects_and_publishes_what_follows(
    nats_server: NatsServer,
) -> None:
    async def main() -> None:
        feed = Feed()
        uplink = FleetUplink(config(nats_server.url), SUBJECTS, feed.events)
        task = await start(uplink)
        try:
            feed.send(zone_event(0, 10), zone_event(1, 11))
            await wait_until("2 published", lambda: uplink.stats.published == 2)

            nats_server.stop()
            await wait_until("the disconnection", lambda: not uplink.stats.connected)
            feed.send(*(zone_event(m, 10 + m) for m in range(2, 12)))
            await wait_until("a failed attempt", lambda: uplink.stats.failures > 0)
            assert uplink.stats.published == 2  # nothing could land while the server is down

            await asyncio.to_thread(nats_server.start)  # same port, same JetStream store
            feed.send(zone_event(12, 22))
            await wait_until("the queue drained", lambda: uplink.pending == 0)
            reader = await nats.connect(nats_server.url)
            try:
                js = reader.jetstream()
                await wait_until("13 stored", lambda: _count_is(js, 13))
                got = await stored(js)
                assert uplink.stats.connected
            finally:
                await reader.close()
        finally:
            await stop(task)
        occupancy = [p["zone"]["occupancy"] for _, _, p in got]
        assert occupancy == list(range(10, 23))  # all of them, in order, once each
        assert len({i for _, i, _ in got}) == 13

    asyncio.run(main())


def test_an_uplink_started_before_its_server_connects_when_it_comes(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats")

    async def main() -> None:
        feed = Feed()
        uplink = FleetUplink(config(server.url), SUBJECTS, feed.events)
        task = await start(uplink)
        try:
            feed.send(zone_event(0, 5), zone_event(1, 6))
            await wait_until("2 failed connects", lambda: uplink.stats.client_errors >= 2)
            await asyncio.to_thread(server.start)
            await wait_until("2 published", lambda: uplink.stats.published == 2)
            reader = await nats.connect(server.url)
            try:
                got = await stored(reader.jetstream())
            finally:
                await reader.close()
        finally:
            await stop(task)
            server.stop()
        assert [p["zone"]["occupancy"] for _, _, p in got] == [5, 6]

    asyncio.run(main())


def test_on_connection_the_current_states_are_sent_once(nats_server: NatsServer) -> None:
    async def main() -> None:
        current = [zone_message(SUBJECTS, zone(7, 70))]
        feed = Feed()
        uplink = FleetUplink(config(nats_server.url), SUBJECTS, feed.events, lambda: current)
        task = await start(uplink)
        await wait_until("the snapshot", lambda: uplink.stats.published == 1)
        await stop(task)
        again = FleetUplink(config(nats_server.url), SUBJECTS, feed.events, lambda: current)
        task = await start(again)
        await wait_until("the snapshot again", lambda: again.stats.duplicates == 1)
        await stop(task)
        reader = await nats.connect(nats_server.url)
        try:
            assert await stream_count(reader.jetstream()) == 1
        finally:
            await reader.close()

    asyncio.run(main())


def test_without_create_stream_a_missing_stream_is_retried_not_fatal(
    nats_server: NatsServer,
) -> None:
    async def main() -> None:
        feed = Feed()
        uplink = FleetUplink(config(nats_server.url, create_stream=False), SUBJECTS, feed.events)
        task = await start(uplink)
        feed.send(zone_event(0, 1))
        await wait_until("a failure", lambda: uplink.stats.failures >= 2)
        assert uplink.stats.published == 0
        reader = await nats.connect(nats_server.url)
        try:
            js = reader.jetstream()
            # the operator creates the stream: the waiting message goes out
            await js.add_stream(name=STREAM, subjects=[SUBJECTS.site_wildcard])
            await wait_until("1 published", lambda: uplink.stats.published == 1)
            assert await stream_count(js) == 1
        finally:
            await reader.close()
            await stop(task)

    asyncio.run(main())


def test_a_message_another_stream_took_stays_queued_and_is_not_counted_published(
    nats_server: NatsServer,
) -> None:
    """The uplink sends no Nats-Expected-Stream (docs/fleet.md, *Partitions*): it reads
    the stream in JetStream's acknowledgement instead, and one not its own is a failure."""

    async def main() -> None:
        reader = await nats.connect(nats_server.url)
        try:
            js = reader.jetstream()
            await js.add_stream(name=STREAM, subjects=["floorwatch.hue.another-site.>"])
            await js.add_stream(name="STRAY", subjects=[SUBJECTS.site_wildcard])
            feed = Feed()
            cfg = config(nats_server.url, create_stream=False)
            uplink = FleetUplink(cfg, SUBJECTS, feed.events)
            task = await start(uplink)
            feed.send(zone_event(0, 1))
            await wait_until("two failures", lambda: uplink.stats.failures >= 2)
            assert uplink.stats.published == 0
            assert uplink.pending == 1  # kept, to go out once the servers are put right
            assert (await js.stream_info("STRAY")).state.messages == 1  # stored there once
            # put right: the stray stream goes, the site's stream takes its subjects
            await js.delete_stream("STRAY")
            await js.update_stream(StreamConfig(name=STREAM, subjects=[SUBJECTS.site_wildcard]))
            await wait_until("1 published", lambda: uplink.stats.published == 1)
            assert await stream_count(js) == 1
            await stop(task)
        finally:
            await reader.close()

    asyncio.run(main())


async def _count_is(js: JetStreamContext, n: int) -> bool:
    return await stream_count(js) == n


def test_an_overflow_while_down_drops_the_oldest_and_sends_the_present_after(
    nats_server: NatsServer,
) -> None:
    async def main() -> None:
        present = [zone_message(SUBJECTS, zone(99, 99))]
        feed = Feed()
        cfg = config(nats_server.url, queue_size=3)
        uplink = FleetUplink(cfg, SUBJECTS, feed.events, lambda: present)
        task = await start(uplink)
        try:
            await wait_until("the first snapshot", lambda: uplink.stats.published == 1)
            nats_server.stop()
            await wait_until("the disconnection", lambda: not uplink.stats.connected)
            feed.send(*(zone_event(m, m) for m in range(10)))
            await wait_until("7 dropped", lambda: uplink.stats.dropped >= 7)
            assert uplink.pending == 3
            await asyncio.to_thread(nats_server.start)
            await wait_until("the queue drained", lambda: uplink.pending == 0)
            reader = await nats.connect(nats_server.url)
            try:
                got = await stored(reader.jetstream())
            finally:
                await reader.close()
        finally:
            await stop(task)
        occupancy = [p["zone"]["occupancy"] for _, _, p in got]
        # the first snapshot; of the ten events the queue held the newest three, and
        # the present queued on reconnection pushed out one more; the present itself
        # was already stored under the same id: JetStream answered "duplicate"
        assert occupancy == [99, 8, 9]
        assert uplink.stats.dropped == 8
        # at least the present; a publish retried while the server came back adds one
        assert uplink.stats.duplicates >= 1

    asyncio.run(main())


def test_on_stop_the_queue_goes_out_before_the_uplink_ends(nats_server: NatsServer) -> None:
    async def main() -> None:
        feed = Feed()
        uplink = FleetUplink(config(nats_server.url), SUBJECTS, feed.events)
        task = await start(uplink)
        await wait_until("connected", lambda: uplink.stats.connected)
        reader = await nats.connect(nats_server.url)
        try:
            js = reader.jetstream()
            await wait_until("the stream exists", lambda: _stream_exists(js))
            for m in range(20):  # queued without giving the publisher a turn, then stopped
                message = zone_message(SUBJECTS, zone(m, m))
                uplink.offer(message)
            await stop(task)
            assert uplink.pending == 0
            got = await stored(js)
        finally:
            await reader.close()
        assert [p["zone"]["occupancy"] for _, _, p in got] == list(range(20))

    asyncio.run(main())


def test_a_stop_that_comes_with_a_publish_ack_still_stops_the_uplink(
    nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nats-py waits for an ack in ``asyncio.wait_for``, which on Python 3.11 returns the
    ack when a cancellation arrives with it: the cancellation is lost. The uplink's
    TaskGroup cancels it once (a gateway's or the fleet demo's Ctrl-C), so it must stop
    all the same. The real publish is wrapped to lose the stop, as wait_for does."""
    real_publish = JetStreamContext.publish
    entered = asyncio.Event()

    async def publish(self: JetStreamContext, *args: Any, **kwargs: Any) -> Any:
        if not entered.is_set():
            entered.set()
            with contextlib.suppress(asyncio.CancelledError):  # the stop, lost
                await asyncio.Event().wait()
        return await real_publish(self, *args, **kwargs)

    monkeypatch.setattr(JetStreamContext, "publish", publish)

    async def main() -> None:
        feed = Feed()
        uplink = FleetUplink(config(nats_server.url), SUBJECTS, feed.events)
        task = await start(uplink)
        for m in range(5):
            uplink.offer(zone_message(SUBJECTS, zone(m, m)))
        await wait_until("a publish under way", entered.is_set)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=WAIT_S)
        assert task in done, "the uplink carried on after its stop"
        assert task.cancelled()
        assert uplink.pending == 0  # what was queued still went out on the way down
        reader = await nats.connect(nats_server.url)
        try:
            got = await stored(reader.jetstream())
        finally:
            await reader.close()
        assert [p["zone"]["occupancy"] for _, _, p in got] == list(range(5))

    asyncio.run(main())


async def _stream_exists(js: JetStreamContext) -> bool:
    try:
        await js.stream_info(STREAM)
    except nats.js.errors.NotFoundError:
        return False
    return True
