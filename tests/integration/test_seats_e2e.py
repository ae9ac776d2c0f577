"""Counter seats and binary presence end to end: real mosquitto -> hub -> engine -> real InfluxDB.

``gateway.app.build_gateway`` wired for real with an injected clock: the MQTT
source subscribes to a real mosquitto, the hub decodes, the engine debounces
the seats at the clock's now, the writer stores into a real InfluxDB 1.x, and
the API answers from the same engine. Payload times are the clock's times, so
the debounce is exact: nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.app import build_gateway
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.mosquitto import MosquittoServer
from gateway.seats import SeatStatus
from gateway.settings import (
    InfluxConfig,
    PresenceSensor,
    Role,
    SeatTimings,
    Settings,
    Zigbee2MqttSensor,
)
from tests.api_support import TOKENS, api_config, demo_settings

pytestmark = pytest.mark.integration
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 09:00 in Hanoi: open
ANY_PAST = 50 * 366 * 86400


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def site(
    prefix: str, influx_url: str, database: str, broker: MosquittoServer, folder: Path
) -> Settings:
    base = demo_settings()
    seats = [
        PresenceSensor.model_validate(
            {
                "id": f"seat-{n}",
                "kind": "presence",
                "decoder": "presence",
                "topic": f"{prefix}/seat/{n}",
                "zone": "f2-counters",
                "counter": n,
                "occupied_count": 1,
                "interval_s": 600,
            }
        )
        for n in (5, 6)
    ]
    canteen = Zigbee2MqttSensor.model_validate(
        {
            "id": "pir-canteen",
            "kind": "presence",
            "decoder": "zigbee2mqtt",
            "topic": f"{prefix}/z2m/canteen_pir",
            "zone": "f1-canteen",
            "occupied_count": 1,
            "interval_s": 600,
        }
    )
    return base.model_copy(
        update={
            "sensors": [*seats, canteen],
            "cameras": [],
            "api": api_config(),
            "mqtt": base.mqtt.model_copy(
                update={"host": broker.host, "port": broker.port, "client_id": prefix[-20:]}
            ),
            "influxdb": InfluxConfig(url=influx_url, protocol="v1", database=database),
            "validation": base.validation.model_copy(update={"max_age_s": ANY_PAST}),
            "gateway": base.gateway.model_copy(update={"state_dir": folder}),
            "seats": SeatTimings(open_after_s=10, vacant_after_s=300, point_s=60),
        }
    )


def influx(url: str, db: str, query: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{url}/query", params={"db": db, "q": query, "epoch": "s"}, timeout=10)
    r.raise_for_status()
    result = r.json()["results"][0]
    if result.get("error", "").startswith("database not found"):
        return []
    assert "error" not in result, result
    out = []
    for series in result.get("series", []):
        tags = series.get("tags", {})
        for row in series["values"]:
            out.append({**tags, **dict(zip(series["columns"], row, strict=True))})
    return out


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def test_seats_and_binary_presence_from_mqtt_to_influxdb_and_the_api(
    mosquitto: MosquittoServer,
    influxdb1: InfluxDB1Server,
    influxdb1_database: str,
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    settings = site(topic_prefix, influxdb1.url, influxdb1_database, mosquitto, tmp_path)
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{topic_prefix[-12:]}")
    publisher.connect(mosquitto.host, mosquitto.port)
    publisher.loop_start()

    def publish(topic: str, body: dict[str, Any]) -> None:
        publisher.publish(f"{topic_prefix}/{topic}", json.dumps(body), qos=1).wait_for_publish(10)

    def at(seconds: float) -> str:
        return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")

    try:
        asyncio.run(asyncio.wait_for(scenario(settings, publish, at), 120))
    finally:
        publisher.loop_stop()
        publisher.disconnect()

    url, db = influxdb1.url, influxdb1_database
    seat5 = influx(url, db, "SELECT * FROM counter_seat WHERE counter = '5' ORDER BY time")
    states = [(row["time"] - int(T0.timestamp()), row["state"], row.get("open")) for row in seat5]
    assert (0, "unknown", None) in states  # heard, not yet for open_after_s
    assert (11, "open", 1) in states
    assert states[-1][1:] == ("closed", 0)
    assert all(r["service"] == "civil" for r in seat5)
    # the hourly mean of ``open`` is what the staffing view reads: the seat was open
    # from 11 s to its close 700 s in, then closed
    raw = influx(url, db, "SELECT * FROM presence WHERE sensor = 'seat-5' ORDER BY time")
    assert [(r["time"] - int(T0.timestamp()), r["occupied"]) for r in raw] == [
        (0, True),
        (60, False),  # the PIR's own timeout: the counter stays open
        (90, True),
        (400, False),
    ]
    # a binary reading is never a people count
    assert influx(url, db, "SELECT * FROM zone_occupancy WHERE source =~ /seat|pir/") == []
    canteen = influx(
        url, db, "SELECT * FROM zone_occupancy WHERE source = 'fused' AND zone = 'f1-canteen'"
    )
    assert canteen and all(r["method"] == "binary" and r.get("count") is None for r in canteen)
    assert canteen[-1]["occupied"] is True


async def scenario(
    settings: Settings, publish: Callable[[str, dict[str, Any]], None], at: Callable[[float], str]
) -> None:
    clock = Clock()
    gateway = build_gateway(settings, clock=clock)
    engine = gateway.engine
    tasks = [
        asyncio.create_task(gateway.writer.run()),
        asyncio.create_task(gateway.engine.run()),
        asyncio.create_task(gateway.hub.run()),
        asyncio.create_task(gateway.source.run()),
    ]
    app = gateway.services.api
    assert app is not None
    token = {"Authorization": f"Bearer {TOKENS[Role.VIEWER]}"}
    transport = httpx.ASGITransport(app=app)
    try:
        await asyncio.wait_for(engine.wait_ready(), 30)
        await until(_connected(gateway.source), "the MQTT source to subscribe")

        def seat(n: int) -> Any:
            return next(s for s in engine.seats() if s.counter == n)

        async def step_to(seconds: float) -> None:
            clock.now = T0 + timedelta(seconds=seconds)
            await engine.step()

        async def heard(n: int, seconds: float) -> None:
            async def check() -> bool:
                await engine.step()
                last = seat(n).at
                return last is not None and last >= T0 + timedelta(seconds=seconds)

            await until(check, f"seat {n}'s reading at {seconds} s")

        publish("seat/5", {"presence": True, "ts": at(0)})
        publish("seat/6", {"presence": False, "ts": at(0)})
        publish("z2m/canteen_pir", {"occupancy": True, "last_seen": at(0), "battery": 90})
        await heard(5, 0)
        await heard(6, 0)
        assert (seat(5).status, seat(6).status) == (SeatStatus.UNKNOWN, SeatStatus.UNKNOWN)
        await step_to(11)
        assert seat(5).status is SeatStatus.OPEN
        canteen = next(z for z in engine.zones() if z.zone_id == "f1-canteen")
        assert (canteen.method, canteen.presence) == ("binary", "occupied")

        publish("seat/5", {"presence": False, "ts": at(60)})  # the PIR's own timeout
        await step_to(60)
        await heard(5, 60)
        publish("seat/5", {"presence": True, "ts": at(90)})
        await heard(5, 90)
        await step_to(300)
        assert seat(5).status is SeatStatus.OPEN  # a PIR gap is not a closed counter
        assert seat(6).status is SeatStatus.CLOSED  # vacant since 0, for 300 s

        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            body = (await client.get("/api/v1/counters", headers=token)).json()
        assert body["open"] == [5]
        civil = next(s for s in body["services"] if s["service_id"] == "civil")
        assert (civil["counters"], civil["watched"], civil["open"]) == ([5, 6, 7], [5, 6], 1)
        assert [(s["counter"], s["status"]) for s in body["seats"]] == [(5, "open"), (6, "closed")]

        publish("seat/5", {"presence": False, "ts": at(400)})
        await heard(5, 400)
        await step_to(699)
        assert seat(5).status is SeatStatus.OPEN
        await step_to(700)
        assert seat(5).status is SeatStatus.CLOSED
        assert seat(5).since == T0 + timedelta(seconds=400)

        async def stored() -> bool:
            rows = influx(
                settings.influxdb.url,
                settings.influxdb.database,
                "SELECT * FROM counter_seat WHERE counter = '5' AND state = 'closed'",
            )
            return bool(rows)

        await until(stored, "the closed seat in InfluxDB")
    finally:
        for task in reversed(tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await gateway.writer.close()


def _connected(source: Any) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return bool(source.subscribed)

    return check
