"""The engine in-process with its real SQLite store: lifecycle, persistence, restart, live stream.

The MQTT side is a recording ``publish`` function (the state writer's only
collaborator); tests/integration/test_alerts_e2e.py runs the same against a real
mosquitto through ``floorwatch run``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.alert_store import AlertStore
from gateway.config_loader import load_settings
from gateway.engine import Engine
from gateway.floor_model import FloorModel
from gateway.inbox import ObservationInbox
from gateway.live import AlertState, AlertTransitionError, FloorService, LiveEventKind
from gateway.observations import (
    Climate,
    DeviceHealth,
    DeviceKind,
    DoorTraffic,
    PeopleCount,
    TicketEvent,
    TicketEventKind,
)
from gateway.outbound import OutboundTopics, alert_from_json
from gateway.settings import Settings
from gateway.state_writer import StateWriter

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 09:00 local


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []

    def __call__(self, topic: str, payload: bytes, retain: bool) -> None:
        self.messages.append((topic, payload, retain))

    def retained(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for topic, payload, retain in self.messages:
            if retain:
                out[topic] = payload
        return {t: p for t, p in out.items() if p}


def settings() -> Settings:
    s = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    rules = s.alerts.model_copy(update={"climate_dwell_s": 60, "clear_s": 0})
    return s.model_copy(update={"alerts": rules})


@asynccontextmanager
async def running(
    folder: Path, clock: Clock, publish: Callable[[str, bytes, bool], None]
) -> AsyncIterator[Engine]:
    s = settings()
    writer = StateWriter(OutboundTopics("floorwatch", s.site.id), publish)
    engine = Engine(
        site_id=s.site.id,
        model=FloorModel(s, start=clock()),
        rules=s.alerts,
        store=AlertStore(folder / "alerts.sqlite3"),
        writer=writer,
        sink=None,
        clock=clock,
        tick_s=3600,  # the test drives step() itself
    )
    task = asyncio.create_task(engine.run())
    await asyncio.wait_for(engine.wait_ready(), 10)
    try:
        yield engine
    finally:
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=10)
        assert task in done and task.cancelled(), "the engine did not stop when cancelled"


def co2(ppm: float, when: datetime) -> Climate:
    return Climate("f2-waiting", "cl-f2-waiting", when, co2_ppm=ppm)


async def _raise_ack_restart_resolve(tmp_path: Path) -> None:
    clock, mqtt = Clock(), Recorder()
    async with running(tmp_path, clock, mqtt) as engine:
        service: FloorService = engine  # the contract the API is built against
        engine.observe(co2(1500, clock()))
        await engine.step()
        assert service.alerts() == []  # dwell: 60 s
        clock.advance(60)
        engine.observe(co2(1500, clock()))
        await engine.step()
        [alert] = service.alerts()
        assert (alert.id, alert.state, alert.zone_id) == (
            "co2_high:f2-waiting:1",
            "active",
            "f2-waiting",
        )
        topic = "floorwatch/demo-hcc/alerts/co2_high:f2-waiting:1"
        assert alert_from_json(mqtt.retained()[topic]).state is AlertState.ACTIVE
        acked = await service.acknowledge(alert.id, by="lan", note="opening the doors")
        assert acked.acknowledged_by == "lan"
        assert alert_from_json(mqtt.retained()[topic]).acknowledged_by == "lan"
        with pytest.raises(AlertTransitionError):
            await service.acknowledge(alert.id, by="lan", note=None)

    # restart: the same alert comes back, acknowledged, and is not raised again
    mqtt2 = Recorder()
    async with running(tmp_path, clock, mqtt2) as engine:
        [alert] = engine.alerts()
        assert (alert.id, alert.state, alert.acknowledged_by) == (
            "co2_high:f2-waiting:1",
            AlertState.ACKNOWLEDGED,
            "lan",
        )
        for _ in range(3):
            clock.advance(30)
            engine.observe(co2(1500, clock()))
            await engine.step()
        assert [a.id for a in engine.alerts()] == ["co2_high:f2-waiting:1"]
        assert not any(t.endswith(":2") for t, _, _ in mqtt2.messages), (
            "no second alert for the same condition"
        )
        # the condition clears (5-minute mean back under 1000 ppm)
        clock.advance(301)
        engine.observe(co2(600, clock()))
        await engine.step()
        assert engine.alerts() == []
        [resolved] = engine.alerts(include_resolved=True)
        assert resolved.state is AlertState.RESOLVED and resolved.resolved_by is None
        assert topic not in mqtt2.retained()
        assert mqtt2.messages[-1][:3] == (topic, b"", True)
        history = await engine._store.transitions(resolved.id)
        assert [h.kind for h in history] == ["raised", "acknowledged", "resolved"]
        assert history[1].by == "lan" and history[1].note == "opening the doors"

    # a third start: the raise counter survived, a new raise gets a new id
    async with running(tmp_path, clock, Recorder()) as engine:
        clock.advance(1)
        engine.observe(co2(5000, clock()))
        await engine.step()
        clock.advance(60)
        engine.observe(co2(5000, clock()))
        await engine.step()
        assert [a.id for a in engine.alerts()] == ["co2_high:f2-waiting:2"]
        old = await engine.alert("co2_high:f2-waiting:1")
        assert old.state is AlertState.RESOLVED


async def _live_stream_replay_and_republish(tmp_path: Path) -> None:
    clock, mqtt = Clock(), Recorder()
    async with running(tmp_path, clock, mqtt) as engine:
        assert len(engine.zones()) == 8  # a state for every zone from the start
        stream = engine.subscribe()
        clock.advance(1)  # zone states are published at most once a second
        engine.observe(PeopleCount("f2-waiting", "pc-f2-waiting", 30, clock()))
        await engine.step()
        first = await asyncio.wait_for(anext(stream), 5)
        assert first.kind is LiveEventKind.ZONE and first.zone is not None
        assert (first.zone.zone_id, first.zone.occupancy) == ("f2-waiting", 30)
        replay = engine.events_since(0)
        assert replay is not None and replay[0].seq == 1
        assert [e.seq for e in replay] == list(range(1, len(replay) + 1))
        assert engine.events_since(engine.last_seq) == []
        assert engine.events_since(engine.last_seq + 5) is None  # from an earlier run
        zones = {e.zone.zone_id: e.zone for e in replay if e.zone is not None}
        assert zones["f2-waiting"].occupancy == 30
        # device events: a change of health, not ONVIF motion, not a repeat
        seq = engine.last_seq
        offline = DeviceHealth("pc-f2-waiting", DeviceKind.SENSOR, False, clock(), "stale")
        for obs in (
            offline,
            offline,
            DeviceHealth("cam-x", DeviceKind.CAMERA, True, clock(), "motion"),
        ):
            engine.observe(obs)
        await engine.step()
        devices = [e for e in engine.events_since(seq) or [] if e.kind is LiveEventKind.DEVICE]
        assert [(e.device.device_id, e.device.online) for e in devices if e.device] == [
            ("pc-f2-waiting", False)
        ]
        state_topic = "floorwatch/demo-hcc/zones/f2-waiting/state"
        assert state_topic in mqtt.retained()
        before = len(mqtt.messages)
        engine._writer.republish()  # what a reconnect does
        again = {t for t, _, _ in mqtt.messages[before:]}
        assert state_topic in again
        assert len(again) == len(engine.zones()) + len(engine.alerts())


async def _inbox_from_threads_never_blocks_and_drops_oldest() -> None:
    inbox = ObservationInbox(maxsize=100)
    inbox.bind(asyncio.get_running_loop())

    def camera(n: int) -> None:
        for i in range(n):
            inbox.put(PeopleCount("f2-waiting", "cam-1", i, T0))

    threads = [threading.Thread(target=camera, args=(500,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert inbox.accepted == 2000
    assert inbox.dropped == 1900
    batch = await asyncio.wait_for(inbox.get_batch(1000), 5)
    assert len(batch) == 100
    assert len(inbox) == 0


async def _store_failure_still_publishes(tmp_path: Path) -> None:
    clock, mqtt = Clock(), Recorder()
    async with running(tmp_path, clock, mqtt) as engine:
        store = engine._store
        await store._run(store._close_sync)  # the database goes away under the engine
        engine.observe(PeopleCount("f2-waiting", "pc-f2-waiting", 200, clock()))
        await engine.step()
        clock.advance(61)
        engine.observe(PeopleCount("f2-waiting", "pc-f2-waiting", 200, clock()))
        await engine.step()
        assert engine.store_errors >= 1
        assert "floorwatch/demo-hcc/alerts/crowd_level:f2-waiting:1" in mqtt.retained()


async def _corrupt_store_is_moved_aside(tmp_path: Path) -> None:
    (tmp_path / "alerts.sqlite3").write_bytes(b"this is not a database" * 100)
    clock, mqtt = Clock(), Recorder()
    async with running(tmp_path, clock, mqtt) as engine:
        assert engine.alerts() == []
        engine.observe(PeopleCount("f2-waiting", "pc-f2-waiting", 200, clock()))
        await engine.step()


async def _waiting_tickets_and_door_balances_survive_a_restart(tmp_path: Path) -> None:
    clock, mqtt = Clock(), Recorder()
    async with running(tmp_path, clock, mqtt) as engine:
        for i in range(30):
            engine.observe(TicketEvent("land", f"A{i:03}", TicketEventKind.ISSUED, clock(), "qms"))
        engine.observe(DoorTraffic("d-main", "dc-main", entries=50, exits=8, at=clock()))
        await engine.step()
        clock.advance(2)  # inside the save interval: the stop saves the last change
        engine.observe(TicketEvent("land", "A000", TicketEventKind.CALLED, clock(), "qms", 2))
        await engine.step()
        clock.advance(5)  # the save interval has passed: saved while running (a crash keeps it)
        await engine.step()
        with sqlite3.connect(tmp_path / "alerts.sqlite3") as db:
            [(body,)] = db.execute("SELECT body FROM day_state").fetchall()
        waiting = json.loads(body)["queues"]["land"]["waiting"]
        assert len(waiting) == 29 and "A000" not in waiting

    clock.advance(40)  # the gateway is back 40 s later, the same morning
    async with running(tmp_path, clock, Recorder()) as engine:
        [land] = [w for w in engine._model.service_waits(clock()) if w.service_id == "land"]
        assert (land.waiting, land.open_counters) == (29, 1)
        assert engine._model.doors.balances["f1-entrance"].people == 42
        [zone] = [z for z in engine.zones() if z.zone_id == "f2-waiting"]
        assert zone.waiting_tickets == 29

    clock.now = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)  # the next morning, 08:30 local
    async with running(tmp_path, clock, Recorder()) as engine:
        assert engine._model.service_waits(clock()) == []  # yesterday's tickets are gone
        assert engine._model.doors.balances["f1-entrance"].people == 0


def test_waiting_tickets_and_door_balances_survive_a_restart(tmp_path: Path) -> None:
    asyncio.run(
        asyncio.wait_for(_waiting_tickets_and_door_balances_survive_a_restart(tmp_path), 60)
    )


def test_corrupt_store_is_moved_aside(tmp_path: Path) -> None:
    asyncio.run(asyncio.wait_for(_corrupt_store_is_moved_aside(tmp_path), 60))
    aside = list(tmp_path.glob("alerts.sqlite3.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")


def test_store_failure_still_publishes(tmp_path: Path) -> None:
    asyncio.run(asyncio.wait_for(_store_failure_still_publishes(tmp_path), 60))


def test_raise_ack_restart_resolve(tmp_path: Path) -> None:
    asyncio.run(asyncio.wait_for(_raise_ack_restart_resolve(tmp_path), 60))


def test_live_stream_replay_and_republish(tmp_path: Path) -> None:
    asyncio.run(asyncio.wait_for(_live_stream_replay_and_republish(tmp_path), 60))


def test_inbox_from_threads_never_blocks_and_drops_oldest() -> None:
    asyncio.run(asyncio.wait_for(_inbox_from_threads_never_blocks_and_drops_oldest(), 60))
