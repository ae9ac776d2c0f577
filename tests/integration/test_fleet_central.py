"""``floorwatch fleet run``'s worker against a real nats-server and a real InfluxDB 1.x.

Sites' messages are built by the uplink's pure builder and published with
nats-py (as the uplink does: one ``js.publish`` with its ``Nats-Msg-Id``);
the workers under test read them through the shared durable pull consumer,
write through the InfluxWriter and keep each site's state in ``fleet_sites``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from pydantic import SecretStr

from gateway.fleet.central import record_lines
from gateway.fleet.central_config import CentralConfig
from gateway.fleet.central_run import build
from gateway.fleet.central_worker import FleetWorker
from gateway.fleet.cli import read_facts
from gateway.fleet.messages import (
    FleetMessage,
    FleetSubjects,
    alert_message,
    decode,
    device_message,
    zone_message,
)
from gateway.fleet.status import StreamFacts
from gateway.live import Alert, AlertState, Severity, ZoneClimateState, ZoneState
from gateway.observations import DeviceHealth, DeviceKind
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.nats import NatsServer
from gateway.peers.process import free_port
from gateway.settings import CrowdLevel, FleetConfig
from tests.peers.victoriametrics import TokenPeer

T0 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
A = FleetSubjects("floorwatch", "ha-noi", "ba-dinh")
B = FleetSubjects("floorwatch", "ha-noi", "hoan-kiem")
STREAM = "FLOORWATCH"
WAIT_S = 60.0  # a bound on waits for events, never an expectation of speed


def central(nats_url: str, influx_url: str, db: str, tmp: Path, **nats: Any) -> CentralConfig:
    return CentralConfig.model_validate(
        {
            "nats": {"url": nats_url, "stream": STREAM, "fetch_wait_s": 0.2, **nats},
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


def zone(minute: int, occupancy: int, zone_id: str = "waiting") -> ZoneState:
    return ZoneState(
        zone_id,
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


def alert(state: AlertState, minute: int) -> Alert:
    return Alert(
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


async def publish(js: JetStreamContext, *messages: FleetMessage) -> None:
    for m in messages:
        await js.publish(m.subject, m.payload, headers=m.headers)


@asynccontextmanager
async def stream(server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(server.url)
    try:
        js = nc.jetstream()
        await js.add_stream(name=STREAM, subjects=["floorwatch.>"], duplicate_window=600)
        yield js
    finally:
        await nc.close()


@asynccontextmanager
async def running(cfg: CentralConfig, name: str = "w") -> AsyncIterator[FleetWorker]:
    writer, worker = build(cfg, name=name)
    tasks = [asyncio.create_task(writer.run()), asyncio.create_task(worker.run())]
    try:
        await wait_until(f"worker {name} bound", worker.ready.is_set)
        yield worker
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await writer.close()


async def wait_until(what: str, done: Callable[[], bool]) -> None:
    async def poll() -> None:
        while True:
            if done():
                return
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(poll(), WAIT_S)
    except TimeoutError:
        raise AssertionError(f"still waiting for {what} after {WAIT_S:.0f} s") from None


def write_v1(influx: InfluxDB1Server, db: str, body: str) -> None:
    influx.create_database(db)
    url = f"{influx.url}/write"
    httpx.post(url, params={"db": db}, content=body, auth=influx.auth).raise_for_status()


def rows(influx: InfluxDB1Server, db: str, q: str) -> list[list[Any]]:
    return influx.rows(q, db)


def test_sites_messages_become_points_and_the_latest_state_per_site(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    db = influxdb1_database
    cfg = central(nats_server.url, influxdb1.url, db, tmp_path)
    health = DeviceHealth("cam-1", DeviceKind.CAMERA, False, T0 + timedelta(minutes=3), "no frames")

    async def main() -> dict[str, Any]:
        async with stream(nats_server) as js, running(cfg) as worker:
            await publish(
                js,
                zone_message(A, zone(1, 20)),
                zone_message(A, zone(2, 70)),
                alert_message(A, alert(AlertState.ACTIVE, 2), "raised"),
                device_message(A, health),
                zone_message(B, zone(1, 5, "hall")),
            )
            await wait_until("5 acked", lambda: worker.stats.acked == 5)
            kv = await js.key_value("fleet_sites")
            states = {}
            for key in ("ha-noi.ba-dinh", "ha-noi.hoan-kiem"):
                states[key] = json.loads((await kv.get(key)).value or b"{}")
            info = await js.consumer_info(STREAM, cfg.nats.consumer)
            assert (info.num_pending, info.num_ack_pending) == (0, 0)
            return states

    states = asyncio.run(main())
    got = rows(
        influxdb1,
        db,
        "SELECT count, level FROM zone_occupancy WHERE province='ha-noi' GROUP BY site, zone",
    )
    assert sorted((r[1], r[2]) for r in got) == [(5, "calm"), (20, "calm"), (70, "busy")]
    assert [r[1:] for r in rows(influxdb1, db, "SELECT transition, site FROM alerts")] == [
        ["raised", "ba-dinh"]
    ]
    assert [r[1] for r in rows(influxdb1, db, "SELECT online FROM device_health")] == [False]
    a = states["ha-noi.ba-dinh"]
    assert a["last_seen"] == (T0 + timedelta(minutes=3)).isoformat()
    assert a["zones"]["waiting"]["occupancy"] == 70
    assert list(a["alerts"]) == ["crowd_level-waiting"]
    assert a["devices"]["cam-1"]["online"] is False
    assert set(a["kinds"]) == {"zone", "alert", "device"}
    assert states["ha-noi.hoan-kiem"]["zones"]["hall"]["occupancy"] == 5


def test_a_worker_stopped_before_its_ack_the_messages_come_again_and_are_stored_once(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    db = influxdb1_database
    cfg = central(nats_server.url, influxdb1.url, db, tmp_path, ack_wait_s=1.0)
    messages = [zone_message(A, zone(i, 10 + i)) for i in range(6)]

    async def main() -> tuple[int, int]:
        async with stream(nats_server) as js:
            await publish(js, *messages)
            # The first worker: fetches on the shared durable, writes the points, dies unacked.
            nc = await nats.connect(nats_server.url)
            psub = await nc.jetstream().pull_subscribe(
                "floorwatch.>",
                durable=cfg.nats.consumer,
                stream=STREAM,
                config=ConsumerConfig(ack_wait=cfg.nats.ack_wait_s),
            )
            fetched = await psub.fetch(6, timeout=WAIT_S)
            assert len(fetched) == 6
            body = "\n".join(
                line
                for m in fetched
                for line in record_lines(decode("floorwatch", m.subject, m.data))
            )
            await asyncio.to_thread(write_v1, influxdb1, db, body)
            await nc.close()  # no ack
            async with running(cfg, "second") as worker:
                try:
                    await wait_until("6 acked", lambda: worker.stats.acked == 6)
                except AssertionError as exc:
                    info = await js.consumer_info(STREAM, cfg.nats.consumer)
                    raise AssertionError(f"{exc}: {worker.stats}, {info}") from None
                info = await js.consumer_info(STREAM, cfg.nats.consumer)
                return worker.stats.redelivered, info.num_ack_pending

    redelivered, ack_pending = asyncio.run(main())
    assert (redelivered, ack_pending) == (6, 0)  # each came a second time, all acknowledged
    got = rows(influxdb1, db, "SELECT count FROM zone_occupancy")
    assert [r[1] for r in got] == [10, 11, 12, 13, 14, 15]  # six points, not twelve


def test_two_workers_on_one_durable_store_each_message_once(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    db = influxdb1_database
    n = 40
    one = central(nats_server.url, influxdb1.url, db, tmp_path / "1", batch=4)
    two = central(nats_server.url, influxdb1.url, db, tmp_path / "2", batch=4)

    async def main() -> tuple[int, int]:
        async with stream(nats_server) as js, running(one, "one") as w1, running(two, "two") as w2:
            await publish(js, *(zone_message(A if i % 2 else B, zone(i, i)) for i in range(n)))
            await wait_until("all acked", lambda: w1.stats.acked + w2.stats.acked >= n)
            info = await js.consumer_info(STREAM, one.nats.consumer)
            assert (info.num_pending, info.num_ack_pending) == (0, 0)
            return w1.stats.acked, w2.stats.acked

    a, b = asyncio.run(main())
    # together each once; how JetStream shares the batches between them is its own
    # scheduling (usually both get some), not something this test may rely on
    assert a + b == n, (a, b)
    got = rows(influxdb1, db, "SELECT count FROM zone_occupancy GROUP BY site")
    assert sorted(r[1] for r in got) == list(range(n))


def test_a_batch_held_by_a_full_spool_stays_with_its_worker(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """The database away and the spool full: the writer holds the batch, the worker marks it
    in progress, and JetStream does not hand it to the other worker on the same durable."""
    dead = f"http://127.0.0.1:{free_port('127.0.0.1')}"
    held = central(nats_server.url, dead, "nowhere", tmp_path / "1", ack_wait_s=2.0)
    held = held.model_copy(
        update={
            "influxdb": held.influxdb.model_copy(
                update={"spool": held.influxdb.spool.model_copy(update={"max_bytes": 1})}
            )
        }
    )
    other = central(nats_server.url, dead, "nowhere", tmp_path / "2", ack_wait_s=2.0)

    async def main() -> tuple[int, int, int]:
        async with stream(nats_server) as js:
            await publish(js, *(zone_message(A, zone(i, i)) for i in range(3)))
            async with running(held, "held") as w1:
                return await hold(js, w1)

    async def hold(js: JetStreamContext, w1: FleetWorker) -> tuple[int, int, int]:
        await wait_until("the batch fetched", lambda: w1.stats.fetched == 3)
        async with running(other, "other") as w2:
            # Four marks: two ack waits have passed since the batch was fetched.
            await wait_until("4 in-progress marks", lambda: w1.stats.in_progress >= 4)
            info = await js.consumer_info(STREAM, held.nats.consumer)
            return w2.stats.fetched, info.num_ack_pending, w1.stats.acked

    assert asyncio.run(main()) == (0, 3, 0)


def test_fleet_status_shows_what_the_central_store_holds_from_the_bucket(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    cfg = central(nats_server.url, influxdb1.url, influxdb1_database, tmp_path)
    site_cfg = FleetConfig.model_validate({"url": nats_server.url, "stream": STREAM})

    async def main() -> StreamFacts:
        async with stream(nats_server) as js, running(cfg) as worker:
            await publish(js, zone_message(A, zone(1, 20)), zone_message(A, zone(7, 30)))
            await wait_until("2 acked", lambda: worker.stats.acked == 2)
        return await read_facts(site_cfg, STREAM)

    facts = asyncio.run(main())
    assert facts.stored == {"ha-noi.ba-dinh": T0 + timedelta(minutes=7)}


def test_v2_protocol_into_victoriametrics_a_repeat_past_the_window_is_stored_once(
    nats_server: NatsServer,
    victoriametrics_token: TokenPeer,
    victoriametrics_site: str,
    tmp_path: Path,
) -> None:
    """The central store by the v2 protocol with its token (VictoriaMetrics behind vmauth).
    The same three states are published twice without message ids (as a repeat older than
    the duplicate window would be): the stream holds six, the store three samples."""
    site = FleetSubjects("floorwatch", "ha-noi", victoriametrics_site)
    cfg = central(nats_server.url, victoriametrics_token.url, "province", tmp_path)
    v2 = cfg.influxdb.model_copy(
        update={"protocol": "v2", "token": SecretStr(victoriametrics_token.token)}
    )
    cfg = cfg.model_copy(update={"influxdb": v2})
    messages = [zone_message(site, zone(i, 10 * i)) for i in range(3)]

    async def main() -> int:
        async with stream(nats_server) as js, running(cfg) as worker:
            for m in messages * 2:
                await js.publish(m.subject, m.payload)  # no Nats-Msg-Id: JetStream keeps both
            await wait_until("6 acked", lambda: worker.stats.acked == 6)
            return (await js.stream_info(STREAM)).state.messages

    assert asyncio.run(main()) == 6
    samples = victoriametrics_token.backend.export_series(
        "zone_occupancy_count", {"site": victoriametrics_site, "province": "ha-noi"}
    )
    start_ms = int(T0.timestamp() * 1000)
    assert sorted(samples) == [(start_ms + 60_000 * i, 10.0 * i) for i in range(3)]


def test_an_undecodable_message_is_terminated_and_a_zone_nobody_counts_writes_nothing(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str, tmp_path: Path
) -> None:
    db = influxdb1_database
    cfg = central(nats_server.url, influxdb1.url, db, tmp_path)
    uncounted = dataclasses.replace(zone(2, 0), method="none")

    async def main() -> tuple[int, int]:
        async with stream(nats_server) as js, running(cfg) as worker:
            await js.publish("floorwatch.ha-noi.ba-dinh.zone", b"{not json")
            await publish(js, zone_message(A, uncounted), zone_message(A, zone(3, 33)))
            await wait_until(
                "2 acked, 1 rejected",
                lambda: (worker.stats.acked, worker.stats.rejected) == (2, 1),
            )
            info = await js.consumer_info(STREAM, cfg.nats.consumer)
            return info.num_pending, info.num_ack_pending

    assert asyncio.run(main()) == (0, 0)  # the bad one is settled too: not delivered again
    assert [r[1] for r in rows(influxdb1, db, "SELECT count FROM zone_occupancy")] == [33]
