"""The API over the real engine (gateway.engine.Engine), not the in-memory floor.

Presence counts go into the engine; the zone, its crowd alert, an
acknowledgement through the API and the live stream's resume are checked
end to end. The engine's clock is a settable one, so dwell times pass at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from prometheus_client import CollectorRegistry

from api.app import create_app
from api.server import serve_api
from gateway.alert_store import AlertStore
from gateway.engine import Engine
from gateway.floor_model import FloorModel
from gateway.observations import PeopleCount
from gateway.outbound import OutboundTopics
from gateway.settings import Role
from gateway.state_writer import StateWriter
from tests.api_support import api_config, bearer, demo_settings, unreachable_history

pytestmark = pytest.mark.integration
T = TypeVar("T")


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def wait_for(check: Callable[[], Awaitable[T | None]], timeout_s: float = 10.0) -> T:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


async def scenario(tmp_path: Path) -> None:
    site = demo_settings()
    clock = Clock()
    published: list[tuple[str, bytes, bool]] = []
    engine = Engine(
        site_id=site.site.id,
        model=FloorModel(site, start=clock()),
        rules=site.alerts,
        store=AlertStore(tmp_path / "alerts.sqlite3"),
        writer=StateWriter(
            OutboundTopics("floorwatch", site.site.id), lambda t, p, r: published.append((t, p, r))
        ),
        sink=None,
        clock=clock,
        tick_s=0.05,
    )
    config = api_config()
    app = create_app(
        config, site, engine, unreachable_history(site), CollectorRegistry(), clock=clock
    )
    ports: list[int] = []
    async with asyncio.TaskGroup() as tg:
        engine_task = tg.create_task(engine.run())
        api_task = tg.create_task(serve_api(app, config, on_started=ports.append))
        try:
            await wait_for(lambda: _true(bool(ports)))
            await engine.wait_ready()
            base = f"http://127.0.0.1:{ports[0]}"
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                await check_with_engine(client, engine, clock)
        finally:
            api_task.cancel()
            engine_task.cancel()


async def _true(value: bool) -> bool | None:
    return value or None


async def check_with_engine(client: httpx.AsyncClient, engine: Engine, clock: Clock) -> None:
    viewer, supervisor = bearer(Role.VIEWER), bearer(Role.SUPERVISOR)
    zones = (await client.get("/api/v1/zones", headers=viewer)).json()
    assert {z["zone_id"] for z in zones} >= {"f2-waiting", "f1-entrance"}

    async def crowded_alert() -> dict[str, Any] | None:
        # 170 of 180 seats, reported again as time passes the dwell.
        clock.now += timedelta(seconds=20)
        engine.observe(PeopleCount("f2-waiting", "pc-f2-waiting", 170, clock.now, 0.9))
        alerts = (
            await client.get("/api/v1/alerts", params={"zone": "f2-waiting"}, headers=viewer)
        ).json()
        return next((a for a in alerts if a["rule"] == "crowd_level"), None)

    alert = await wait_for(crowded_alert)
    assert alert["state"] == "active"
    zone = (await client.get("/api/v1/zones/f2-waiting", headers=viewer)).json()
    assert zone["occupancy"] == 170 and zone["level"] in ("crowded", "critical")
    seq = engine.last_seq

    r = await client.post(
        f"/api/v1/alerts/{alert['id']}/acknowledge", json={"note": "mở quầy 24"}, headers=supervisor
    )
    assert r.status_code == 200, r.text
    acked = r.json()
    assert acked["state"] == "acknowledged" and acked["acknowledged_by"] == "Nguyễn Văn An"
    assert "mở quầy 24 [acknowledged by Nguyễn Văn An (supervisor) from 127.0.0.1" in acked["note"]
    again = await client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=supervisor)
    assert again.status_code == 409

    # A client that saw everything up to `seq` resumes and gets the acknowledgement.
    async with client.stream(
        "GET", "/api/v1/stream", headers={**viewer, "Last-Event-ID": str(seq)}
    ) as s:
        assert s.status_code == 200
        event, data = None, None
        async for line in s.aiter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "alert":
                data = json.loads(line[6:])
                if data["transition"] == "acknowledged":
                    break
            elif line.startswith("data: ") and event == "snapshot":
                pytest.fail("resumed with a snapshot instead of the replay")
        assert data is not None and data["alert"]["id"] == alert["id"]


def test_the_api_over_the_real_engine(tmp_path: Path) -> None:
    asyncio.run(asyncio.wait_for(scenario(tmp_path), 60))
