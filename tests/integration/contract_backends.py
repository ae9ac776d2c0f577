"""The two floors the API contract runs over: the in-memory ``MemoryFloor`` and the real gateway.

Both serve the same app (``api.app.create_app``) with uvicorn on a free
loopback port, on the test's own event loop, and take the same inputs:

- ``people(zone, count)``: the zone's presence sensor (``pc-<zone>``) reports
  ``count`` at the clock's now, with the confidence 0.9 of a mmWave counter;
- ``health(report)``: a camera or sensor health report;
- ``climate(reading)``: a climate sensor's reading;
- ``advance(seconds)``: the clock moves on (nothing reads the wall clock).

The engine backend is ``gateway.app.build_gateway`` wired for real: its
observation inbox (what camera workers feed) drains into the hub, which writes
points to a real InfluxDB 1.x and hands every observation to the engine; the
engine keeps its alerts in SQLite under the test's folder. Only the MQTT
source and the camera workers are not started: the inputs come through the
inbox instead. Each input returns once the engine has evaluated the floor
with it (``Engine.step`` at the clock's now), so a test reads the API
afterwards with no waiting on timing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, TypeVar

import httpx
from fastapi import FastAPI

from api.server import serve_api
from gateway.app import Gateway, build_gateway
from gateway.observations import Climate, DeviceHealth, PeopleCount
from gateway.settings import ApiConfig, InfluxConfig, Settings
from tests.api_support import api_config, build_app, demo_settings
from tests.memory_floor import MemoryFloor

#: Tuesday 2026-12-01, 08:30 in Hanoi: the center is open.
START = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
READING_CONFIDENCE = 0.9
T = TypeVar("T")


def contract_site() -> Settings:
    """The demo site, its entrance hall's safety maximum raised to 600 people.

    With 260 m² and Fruin LOS C/D/E, the hall is busy from 289 people by density
    (less than 0.90 m² each) while 289 / 600 is only 48 % of its capacity: the
    density mapping speaks first, as it does in a standing hall.
    """
    site = demo_settings()
    zones = [
        z.model_copy(update={"capacity": 600}) if z.id == "f1-entrance" else z for z in site.zones
    ]
    return site.model_copy(update={"zones": zones})


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Backend(Protocol):
    name: str
    clock: Clock
    client: httpx.AsyncClient

    async def people(self, zone_id: str, count: int) -> None: ...

    async def health(self, report: DeviceHealth) -> None: ...

    async def climate(self, reading: Climate) -> None: ...

    def advance(self, seconds: float) -> None: ...


async def wait_for(
    check: Callable[[], Awaitable[T | None]], what: str, timeout_s: float = 30.0
) -> T:
    """Poll ``check`` until it gives a value; a bounded wait that names what it waited for.

    The bound is generous (a loaded machine is slow, never wrong): a passing test
    waits only as long as the gateway takes.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = await check()
        if value is not None:
            return value
        if loop.time() > deadline:
            raise TimeoutError(f"waited {timeout_s} s for {what}")
        await asyncio.sleep(0.01)


class MemoryBackend:
    name = "memory"

    def __init__(self, floor: MemoryFloor, clock: Clock, client: httpx.AsyncClient) -> None:
        self.floor = floor
        self.clock = clock
        self.client = client

    async def people(self, zone_id: str, count: int) -> None:
        self.floor.set_count(zone_id, count)

    async def health(self, report: DeviceHealth) -> None:
        self.floor.set_device(report)

    async def climate(self, reading: Climate) -> None:
        self.floor.add_climate(reading)

    def advance(self, seconds: float) -> None:
        self.clock.now += timedelta(seconds=seconds)


class EngineBackend:
    name = "engine"

    def __init__(self, gateway: Gateway, clock: Clock, client: httpx.AsyncClient) -> None:
        self.gateway = gateway
        self.clock = clock
        self.client = client

    async def people(self, zone_id: str, count: int) -> None:
        obs = PeopleCount(zone_id, f"pc-{zone_id}", count, self.clock.now, READING_CONFIDENCE)
        self.gateway.inbox.put(obs)
        engine = self.gateway.engine

        async def seen() -> bool | None:
            await engine.step()
            zone = next(z for z in engine.zones() if z.zone_id == zone_id)
            reading = next((s for s in zone.sources if s.source_id == obs.source_id), None)
            return True if reading is not None and reading.at == obs.at else None

        await wait_for(seen, f"the engine to evaluate {obs}")

    async def health(self, report: DeviceHealth) -> None:
        self.gateway.inbox.put(report)
        engine = self.gateway.engine

        async def seen() -> bool | None:
            known = {d.device_id: d for d in engine.devices()}.get(report.device_id)
            if known is None or known.at != report.at:
                return None
            await engine.step()  # publishes the device event
            return True

        await wait_for(seen, f"the engine to take {report}")

    async def climate(self, reading: Climate) -> None:
        self.gateway.inbox.put(reading)
        engine = self.gateway.engine

        async def seen() -> bool | None:
            await engine.step()
            zone = next(z for z in engine.zones() if z.zone_id == reading.zone_id)
            return True if zone.climate.at == reading.at else None

        await wait_for(seen, f"the engine to evaluate {reading}")

    def advance(self, seconds: float) -> None:
        self.clock.now += timedelta(seconds=seconds)


@contextlib.asynccontextmanager
async def _served(app: FastAPI, config: ApiConfig) -> AsyncIterator[httpx.AsyncClient]:
    """The app under uvicorn on a free loopback port of this loop, and a client of it."""
    ports: list[int] = []
    server = asyncio.create_task(serve_api(app, config, on_started=ports.append))
    try:
        await wait_for(lambda: _value(ports[0] if ports else None), "the API to listen")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[0]}", timeout=10) as client:
            yield client
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server


async def _value(value: T | None) -> T | None:
    return value


@contextlib.asynccontextmanager
async def memory_backend() -> AsyncIterator[MemoryBackend]:
    clock = Clock()
    site = contract_site()
    floor = MemoryFloor(site, clock=clock, dwell=True)
    config = api_config()
    app, _, _ = build_app(floor, site=site, config=config, clock=clock)
    async with _served(app, config) as client:
        yield MemoryBackend(floor, clock, client)


@contextlib.asynccontextmanager
async def engine_backend(
    state_dir: Path, influx_url: str, database: str, *, start: datetime = START
) -> AsyncIterator[EngineBackend]:
    """The gateway on ``state_dir``: a second one on the same folder is a restart."""
    clock = Clock(start)
    base = contract_site()
    settings = base.model_copy(
        update={
            "api": api_config(),
            "influxdb": InfluxConfig(url=influx_url, protocol="v1", database=database),
            "gateway": base.gateway.model_copy(update={"state_dir": state_dir}),
        }
    )
    gateway = build_gateway(settings, clock=clock)
    app = gateway.services.api
    if app is None:
        raise RuntimeError("the gateway built no API")
    tasks = [
        asyncio.create_task(gateway.writer.run(), name="influx-writer"),
        asyncio.create_task(gateway.engine.run(), name="engine"),
        asyncio.create_task(gateway.hub.run(), name="hub"),
    ]
    try:
        await asyncio.sleep(0)  # the engine's run() creates what wait_ready() waits on
        await asyncio.wait_for(gateway.engine.wait_ready(), 30)
        async with _served(app, settings.api) as client:
            yield EngineBackend(gateway, clock, client)
    finally:
        for task in reversed(tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await gateway.writer.close()
