"""One contract of the API, run over both floors it is served from.

Every test here runs twice (the ``backend`` fixture): over the in-memory
``MemoryFloor`` (tests/memory_floor.py) that some 190 API, stream and page
tests use, and over the real gateway (``gateway.app.build_gateway``: inbox ->
hub -> engine, points into a real InfluxDB 1.x, alerts in SQLite; see
tests/integration/contract_backends.py). The inputs are the same literal
presence counts and health reports at the same literal times of an injected
clock; the expected answers are literals worked out by hand from the site
file (below), never computed by the code under test.

The choice for levels: the fake now takes its levels from the same pure code
as the engine (``gateway.levels``: thresholds as the worse of occupancy /
capacity and Fruin's LOS, dwell and hysteresis) and its crowd alert from
``gateway.alert_rules``, so the contract asserts LOS, dwell, hysteresis and the
crowd alert's lifecycle on both. What the fake does not model (fusion of
several sources, alert ids, the other alert rules, re-notification over time,
the gateway's own health) is not asserted here; the engine-only tests at the
end of this module check it through the API. The list is in the fake's
docstring.

The site is the demo site (config/demo-site.yaml plus one camera,
``tests.api_support.demo_settings``) with the entrance hall's capacity raised
to 600. The figures the tests rely on:

- f2-waiting "Khu chờ (118 ghế)": 312 m², capacity 180, busy / crowded /
  critical from 50 / 80 / 100 % = 90 / 144 / 180 people (its LOS C/D/E would
  need 347 / 446 / 1041 people, so occupancy speaks first); dwell 60 s,
  hysteresis 10 %: crowded falls below 129.6, busy below 81; alert at crowded.
- f1-entrance "Sảnh vào": 260 m², capacity 600, LOS C/D/E: busy from 289
  people (260 / 0.90 = 288.9: less than 0.90 m² each), crowded from 372
  (260 / 0.70 = 371.4), critical at 600 (capacity; LOS E would be 867);
  alert at crowded, threshold 371.4.
- presence confidence: the sensor's 0.9 x 0.8 (``gateway.zones``) = 0.72.
- alerts: clear_s 60, crowd_dwell_s 0, renotify_s 600 (no test runs 600 s).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.observations import Climate, DeviceHealth, DeviceKind
from gateway.settings import Role
from tests.api_support import CAMERA_PASSWORD, bearer
from tests.integration.contract_backends import (
    START,
    Backend,
    EngineBackend,
    engine_backend,
    memory_backend,
    wait_for,
)

pytestmark = pytest.mark.integration

VIEWER = bearer(Role.VIEWER)
SUPERVISOR = bearer(Role.SUPERVISOR)
MANAGER = bearer(Role.MANAGER)
ADMIN = bearer(Role.ADMIN)
ZONE_IDS = [
    "f1-entrance",
    "f1-post",
    "f1-atm",
    "f1-photocopy",
    "f1-canteen",
    "f2-waiting",
    "f2-counters",
    "f2-landing",
]
Scenario = Callable[[Backend], Awaitable[None]]
Run = Callable[[Scenario], None]


@pytest.fixture(params=["memory", "engine"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Run:
    """Runs a scenario over one floor, on a fresh event loop (bounded: 120 s)."""
    if request.param == "memory":

        async def main(scenario: Scenario) -> None:
            async with memory_backend() as b:
                await scenario(b)

    else:
        influx = request.getfixturevalue("influxdb1")
        database = request.getfixturevalue("influxdb1_database")

        async def main(scenario: Scenario) -> None:
            async with engine_backend(tmp_path / "state", influx.url, database) as b:
                await scenario(b)

    def run(scenario: Scenario) -> None:
        asyncio.run(asyncio.wait_for(main(scenario), 120))

    return run


def at(seconds: int) -> str:
    """The JSON time ``seconds`` after START (2026-12-01T01:30:00Z)."""
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def get(b: Backend, path: str, headers: dict[str, str] = VIEWER, **params: Any) -> Any:
    r = await b.client.get(path, headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def zone(b: Backend, zone_id: str) -> dict[str, Any]:
    body: dict[str, Any] = await get(b, f"/api/v1/zones/{zone_id}")
    return body


async def report_until(b: Backend, zone_id: str, counts: list[tuple[int, int]]) -> list[str]:
    """Report ``(second, count)`` pairs in order; the zone's level after each."""
    levels = []
    for second, count in counts:
        b.clock.now = START + timedelta(seconds=second)
        await b.people(zone_id, count)
        levels.append((await zone(b, zone_id))["level"])
    return levels


def used_sources(z: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in z["sources"] if s["used"]]


# --------------------------------------------------------------------------- zones


def test_a_presence_count_gives_the_zone_its_figures(backend: Run) -> None:
    async def scenario(b: Backend) -> None:
        b.advance(10)
        await b.people("f2-waiting", 100)
        z = await zone(b, "f2-waiting")
        assert {k: z[k] for k in ("zone_id", "floor_id", "name", "occupancy", "capacity")} == {
            "zone_id": "f2-waiting",
            "floor_id": "f2",
            "name": "Khu chờ (118 ghế)",
            "occupancy": 100,
            "capacity": 180,
        }
        assert z["capacity_ratio"] == pytest.approx(100 / 180)
        assert z["density_per_m2"] == pytest.approx(100 / 312)
        assert z["level_of_service"] == "A"  # 3.12 m² each
        assert z["level"] == "calm"  # over 90 people, but not yet for the 60 s dwell
        assert (z["method"], z["known"]) == ("presence", True)
        assert z["confidence"] == pytest.approx(0.72)
        assert z["updated_at"] == at(10)
        [source] = used_sources(z)
        assert source == {
            "source_id": "pc-f2-waiting",
            "kind": "presence",
            "count": 100.0,
            "at": at(10),
            "fresh": True,
            "confidence": pytest.approx(0.72),
            "used": True,
        }
        listed = await get(b, "/api/v1/zones")
        assert [x["zone_id"] for x in listed] == ZONE_IDS
        assert next(x for x in listed if x["zone_id"] == "f2-waiting") == z

    backend(scenario)


def test_zone_filters_and_an_unknown_zone(backend: Run) -> None:
    async def scenario(b: Backend) -> None:
        assert await report_until(b, "f2-waiting", [(10, 100), (70, 100)]) == ["calm", "busy"]
        f2 = await get(b, "/api/v1/zones", floor="f2")
        assert [x["zone_id"] for x in f2] == ["f2-waiting", "f2-counters", "f2-landing"]
        busy = await get(b, "/api/v1/zones", level="busy")
        assert [x["zone_id"] for x in busy] == ["f2-waiting"]
        assert await get(b, "/api/v1/zones", level="critical") == []
        missing = await b.client.get("/api/v1/zones/f9-roof", headers=VIEWER)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "zone_not_found"
        bad = await b.client.get("/api/v1/zones", params={"level": "packed"}, headers=VIEWER)
        assert bad.status_code == 422

    backend(scenario)


def test_a_level_rises_after_its_dwell_and_falls_below_its_hysteresis(backend: Run) -> None:
    async def scenario(b: Backend) -> None:
        levels = await report_until(
            b,
            "f2-waiting",
            [
                (10, 150),  # over busy (90) and crowded (144): both wait out 60 s
                (40, 150),
                (70, 150),  # 60 s at 150: crowded at once, not busy first
                (80, 135),  # under 144 but over 129.6 (144 - 10 %): still crowded
                (90, 125),  # under 129.6, over 81: busy
                (100, 85),  # under 90 but over 81 (90 - 10 %): still busy
                (110, 70),  # under 81: calm
            ],
        )
        assert levels == ["calm", "calm", "crowded", "crowded", "busy", "busy", "calm"]

    backend(scenario)


def test_density_speaks_first_in_a_standing_hall(backend: Run) -> None:
    async def scenario(b: Backend) -> None:
        levels = await report_until(
            b, "f1-entrance", [(10, 290), (40, 290), (70, 290), (80, 380), (140, 380)]
        )
        # 290 of 600 is 48 % (calm by occupancy) but 0.897 m² each (LOS C): busy;
        # 380 is 63 % but 0.684 m² each (LOS D): crowded.
        assert levels == ["calm", "calm", "busy", "busy", "crowded"]
        z = await zone(b, "f1-entrance")
        assert (z["occupancy"], z["level_of_service"]) == (380, "D")
        assert z["capacity_ratio"] == pytest.approx(380 / 600)
        [alert] = await get(b, "/api/v1/alerts")
        assert {k: alert[k] for k in ("rule", "zone_id", "subject", "severity", "state")} == {
            "rule": "crowd_level",
            "zone_id": "f1-entrance",
            "subject": "f1-entrance",
            "severity": "warning",
            "state": "active",
        }
        assert alert["message"] == "Sảnh vào: mật độ đông (380 người)"
        assert (alert["value"], alert["threshold"]) == (380.0, 371.4)

    backend(scenario)


def test_the_site_and_its_floors_add_up_the_zones(backend: Run) -> None:
    async def scenario(b: Backend) -> None:
        b.advance(10)
        await b.people("f2-waiting", 100)
        await b.people("f2-counters", 40)
        site = await get(b, "/api/v1/site")
        assert (site["id"], site["timezone"]) == ("demo-hcc", "Asia/Ho_Chi_Minh")
        assert (site["occupancy"], site["capacity"]) == (140, 1068)
        totals = [(f["id"], f["occupancy"], f["capacity"]) for f in site["floors"]]
        assert totals == [("f1", 0, 748), ("f2", 140, 320)]
        assert len(site["services"]) == 9
        assert await get(b, "/api/v1/floors/f2") == site["floors"][1]
        assert await get(b, "/api/v1/floors") == site["floors"]

    backend(scenario)


def test_climate_readings_against_the_comfort_band(backend: Run) -> None:
    async def scenario(b: Backend) -> None:
        for second, (t, h, co2) in ((10, (27.0, 65.0, 900.0)), (70, (29.4, 66.0, 1300.0))):
            b.clock.now = START + timedelta(seconds=second)
            await b.climate(Climate("f2-waiting", "cl-f2-waiting", b.clock.now, t, h, co2))
        climate = {
            "at": at(70),
            "temperature_c": 29.4,
            "humidity_pct": 66.0,
            "co2_ppm": 1300.0,
            "pm25_ugm3": None,
            # 5-minute means against 26-28 °C, 60-70 %, CO2 up to 1000 ppm
            "temperature_mean_5m": pytest.approx(28.2),
            "humidity_mean_5m": 65.5,
            "co2_mean_5m": 1100.0,
            "temperature_status": "high",
            "humidity_status": "ok",
            "co2_status": "high",
        }
        assert (await zone(b, "f2-waiting"))["climate"] == climate
        refused = await b.client.get("/api/v1/climate", headers=VIEWER)
        assert refused.status_code == 403
        rows = await get(b, "/api/v1/climate", bearer(Role.FACILITY))
        assert [r["zone_id"] for r in rows] == ZONE_IDS
        waiting = next(r for r in rows if r["zone_id"] == "f2-waiting")
        assert waiting == {
            "zone_id": "f2-waiting",
            "name": "Khu chờ (118 ghế)",
            "floor_id": "f2",
            "occupancy": 0,
            "comfort": {
                "temperature_c": [26.0, 28.0],
                "humidity_pct": [60.0, 70.0],
                "co2_ppm_max": 1000.0,
            },
            "climate": climate,
        }
        counters = next(r for r in rows if r["zone_id"] == "f2-counters")
        assert counters["climate"]["temperature_status"] is None  # no reading: no status

    backend(scenario)


# --------------------------------------------------------------------------- alerts


async def crowd_f2_waiting(b: Backend) -> dict[str, Any]:
    """150 people in the waiting hall for 60 s: its crowd alert, raised at +70 s."""
    assert await report_until(b, "f2-waiting", [(10, 150), (70, 150)]) == ["calm", "crowded"]
    [alert] = await get(b, "/api/v1/alerts")
    return dict(alert)


def test_a_crowded_zone_raises_its_alert(backend: Run) -> None:
    async def scenario(b: Backend) -> None:
        alert = await crowd_f2_waiting(b)
        expected = {
            "rule": "crowd_level",
            "severity": "warning",
            "state": "active",
            "zone_id": "f2-waiting",
            "device_id": None,
            "message": "Khu chờ (118 ghế): mật độ đông (150 người)",
            "value": 150.0,
            "threshold": 144.0,
            "raised_at": at(70),
            "updated_at": at(70),
            "acknowledged_at": None,
            "acknowledged_by": None,
            "resolved_at": None,
            "resolved_by": None,
            "note": None,
            "notifications": 1,
            "escalated": False,
            "subject": "f2-waiting",
        }
        assert {k: v for k, v in alert.items() if k != "id"} == expected
        assert await get(b, f"/api/v1/alerts/{alert['id']}") == alert
        assert await get(b, "/api/v1/alerts", zone="f2-waiting") == [alert]
        assert await get(b, "/api/v1/alerts", zone="f1-entrance") == []
        assert await get(b, "/api/v1/alerts", severity="critical") == []
        assert await get(b, "/api/v1/alerts", since=at(70)) == [alert]
        assert await get(b, "/api/v1/alerts", since=at(71)) == []
        assert await get(b, "/api/v1/alerts", until=at(70)) == []
        assert await get(b, "/api/v1/alerts", state="resolved") == []

    backend(scenario)


def test_acknowledge_and_resolve_with_notes_and_roles(backend: Run) -> None:
    async def scenario(b: Backend) -> None:
        alert = await crowd_f2_waiting(b)
        path = f"/api/v1/alerts/{alert['id']}"
        for role in (VIEWER, MANAGER):
            r = await b.client.post(f"{path}/acknowledge", json={"note": "x"}, headers=role)
            assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        b.advance(15)  # +85 s
        r = await b.client.post(
            f"{path}/acknowledge", json={"note": "mở quầy 24"}, headers=SUPERVISOR
        )
        assert r.status_code == 200, r.text
        acked = r.json()
        assert (acked["id"], acked["state"]) == (alert["id"], "acknowledged")
        assert (acked["acknowledged_by"], acked["acknowledged_at"]) == ("Nguyễn Văn An", at(85))
        assert acked["note"] == (
            "mở quầy 24 [acknowledged by Nguyễn Văn An (supervisor) from 127.0.0.1"
            " at 2026-12-01T01:31:25+00:00]"
        )
        again = await b.client.post(f"{path}/acknowledge", headers=SUPERVISOR)
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "invalid_transition"
        b.advance(20)  # +105 s
        r = await b.client.post(f"{path}/resolve", json={"note": "đã mở"}, headers=ADMIN)
        assert r.status_code == 200, r.text
        done = r.json()
        assert (done["state"], done["resolved_by"], done["resolved_at"]) == (
            "resolved",
            "Quản trị",
            at(105),
        )
        # the acknowledgement stays with the alert; the note is the resolve's
        assert (done["acknowledged_by"], done["acknowledged_at"]) == ("Nguyễn Văn An", at(85))
        assert done["note"] == (
            "đã mở [resolved by Quản trị (admin) from 127.0.0.1 at 2026-12-01T01:31:45+00:00]"
        )
        twice = await b.client.post(f"{path}/resolve", headers=ADMIN)
        assert twice.status_code == 409
        assert await get(b, "/api/v1/alerts") == []
        assert await get(b, "/api/v1/alerts", state="resolved") == [done]
        assert await get(b, path) == done
        for missing in (
            await b.client.get("/api/v1/alerts/nope:1", headers=VIEWER),
            await b.client.post("/api/v1/alerts/nope:1/acknowledge", headers=SUPERVISOR),
            await b.client.post("/api/v1/alerts/nope:1/resolve", headers=SUPERVISOR),
        ):
            assert missing.status_code == 404
            assert missing.json()["error"]["code"] == "alert_not_found"

    backend(scenario)


def test_an_alert_resolved_by_hand_comes_back_only_after_its_crowd_has_gone(backend: Run) -> None:
    async def scenario(b: Backend) -> None:
        first = await crowd_f2_waiting(b)
        b.advance(5)  # +75 s
        r = await b.client.post(f"/api/v1/alerts/{first['id']}/resolve", headers=SUPERVISOR)
        assert r.status_code == 200
        # still 150: the crowd has not gone, so no new alert
        assert await report_until(b, "f2-waiting", [(80, 150)]) == ["crowded"]
        assert await get(b, "/api/v1/alerts") == []
        # it goes (busy), then comes back for 60 s: a new alert, with an id of its own
        levels = await report_until(b, "f2-waiting", [(90, 100), (100, 150), (160, 150)])
        assert levels == ["busy", "busy", "crowded"]
        [second] = await get(b, "/api/v1/alerts")
        assert second["id"] != first["id"]
        assert (second["state"], second["raised_at"]) == ("active", at(160))
        resolved = await get(b, "/api/v1/alerts", state="resolved")
        assert [a["id"] for a in resolved] == [first["id"]]

    backend(scenario)


def test_a_worse_crowd_renotifies_the_same_alert(backend: Run) -> None:
    async def scenario(b: Backend) -> None:
        alert = await crowd_f2_waiting(b)
        # 180 (critical, and not over the capacity of 180) for 60 s
        assert await report_until(b, "f2-waiting", [(80, 180), (140, 180)]) == [
            "crowded",
            "critical",
        ]
        [worse] = await get(b, "/api/v1/alerts")
        assert worse["id"] == alert["id"]
        assert (worse["severity"], worse["notifications"]) == ("critical", 2)
        assert worse["message"] == "Khu chờ (118 ghế): quá tải (180 người)"
        assert (worse["value"], worse["threshold"]) == (180.0, 144.0)
        assert (worse["raised_at"], worse["updated_at"]) == (at(70), at(140))

    backend(scenario)


def test_an_alert_resolves_itself_a_minute_after_its_crowd_has_gone(backend: Run) -> None:
    async def scenario(b: Backend) -> None:
        alert = await crowd_f2_waiting(b)
        # busy from +80 s: the condition is gone; not yet a minute at +130 s
        levels = await report_until(b, "f2-waiting", [(80, 120), (130, 120)])
        assert levels == ["busy", "busy"]
        assert [a["id"] for a in await get(b, "/api/v1/alerts")] == [alert["id"]]
        assert await report_until(b, "f2-waiting", [(140, 120)]) == ["busy"]
        assert await get(b, "/api/v1/alerts") == []
        done = await get(b, f"/api/v1/alerts/{alert['id']}")
        assert (done["state"], done["resolved_by"], done["resolved_at"]) == (
            "resolved",
            None,
            at(140),
        )

    backend(scenario)


# --------------------------------------------------------------------------- devices


def test_cameras_and_sensors_with_their_health(backend: Run) -> None:
    async def scenario(b: Backend) -> None:
        before = await get(b, "/api/v1/cameras")
        assert [(c["id"], c["health"]) for c in before] == [("cam-f2-waiting", None)]
        b.advance(10)
        await b.health(
            DeviceHealth(
                "cam-f2-waiting",
                DeviceKind.CAMERA,
                False,
                b.clock.now,
                f"rtsp://admin:{CAMERA_PASSWORD}@10.0.0.21:554/stream1 refused",
            )
        )
        await b.health(
            DeviceHealth(
                "pc-f2-waiting",
                DeviceKind.SENSOR,
                True,
                b.clock.now,
                battery_pct=87.0,
                linkquality=120.0,
            )
        )
        b.advance(10)
        # a report without a battery reading keeps the last one known
        await b.health(DeviceHealth("pc-f2-waiting", DeviceKind.SENSOR, True, b.clock.now))
        [camera] = await get(b, "/api/v1/cameras")
        assert camera == {
            "id": "cam-f2-waiting",
            "name": "Khu chờ – camera 1",
            "zones": ["f2-waiting"],
            "analysis_fps": 2.0,
            "health": {
                "online": False,
                "at": at(10),
                "detail": "rtsp://***:***@10.0.0.21:554/stream1 refused",
                "battery_pct": None,
                "linkquality": None,
                "fps": None,
                "latency_ms": None,
            },
        }
        sensors = {s["id"]: s for s in await get(b, "/api/v1/sensors")}
        assert len(sensors) == 12 + 23  # and a seat sensor per counter
        assert sensors["pc-f2-waiting"] == {
            "id": "pc-f2-waiting",
            "kind": "presence",
            "decoder": "presence",
            "zone": "f2-waiting",
            "door": None,
            "interval_s": 30.0,
            "health": {
                "online": True,
                "at": at(20),
                "detail": "",
                "battery_pct": 87.0,
                "linkquality": None,
                "fps": None,
                "latency_ms": None,
            },
        }
        assert sensors["pc-f2-counters"]["health"] is None

    backend(scenario)


def test_every_read_needs_a_token_and_writes_a_supervisor(backend: Run) -> None:
    async def scenario(b: Backend) -> None:
        for path in (
            "/api/v1/site",
            "/api/v1/zones",
            "/api/v1/zones/f2-waiting",
            "/api/v1/alerts",
            "/api/v1/cameras",
            "/api/v1/sensors",
            "/api/v1/stream",
        ):
            r = await b.client.get(path)
            assert r.status_code == 401, path
            assert r.json()["error"]["code"] == "unauthorized"
        for role in Role:
            assert (await b.client.get("/api/v1/zones", headers=bearer(role))).status_code == 200
        r = await b.client.post("/api/v1/alerts/nope:1/resolve", headers=VIEWER)
        assert r.status_code == 403

    backend(scenario)


# --------------------------------------------------------------------------- the live stream


@dataclass(frozen=True)
class Event:
    event: str
    id: str | None
    data: dict[str, Any]


class Sse:
    """Server-Sent Events frames of one open stream."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next(self, timeout_s: float = 30.0) -> Event:
        fields: dict[str, str] = {}
        async with asyncio.timeout(timeout_s):
            while True:
                line = await anext(self._lines)
                if line == "":
                    if "data" in fields:
                        return Event(
                            fields.get("event", "message"),
                            fields.get("id"),
                            json.loads(fields["data"]),
                        )
                    fields = {}
                    continue
                if line.startswith(":"):
                    continue  # keepalive
                name, _, value = line.partition(": ")
                fields[name] = value

    async def take(self, n: int) -> list[Event]:
        return [await self.next() for _ in range(n)]


class _Stream:
    def __init__(self, b: Backend, headers: dict[str, str]) -> None:
        self._ctx = b.client.stream("GET", "/api/v1/stream", headers=headers)

    async def __aenter__(self) -> Sse:
        response = await self._ctx.__aenter__()
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return Sse(response)

    async def __aexit__(self, *exc: object) -> None:
        await self._ctx.__aexit__(None, None, None)


def stream(b: Backend, **headers: str) -> _Stream:
    return _Stream(b, {**VIEWER, **headers})


def summary(e: Event) -> tuple[Any, ...]:
    if e.event == "zone":
        z = e.data["zone"]
        return ("zone", z["zone_id"], z["occupancy"], z["level"])
    if e.event == "alert":
        a = e.data["alert"]
        return ("alert", e.data["transition"], a["rule"], a["zone_id"], a["state"], a["severity"])
    return (e.event, e.data["device"]["device_id"], e.data["device"]["health"]["online"])


def test_the_stream_follows_zones_and_alert_transitions(backend: Run) -> None:
    async def scenario(b: Backend) -> None:
        async with stream(b) as sse:
            snap = await sse.next()
            assert (snap.event, snap.id) == ("snapshot", None)
            assert [z["zone_id"] for z in snap.data["zones"]] == ZONE_IDS
            assert snap.data["alerts"] == []
            await report_until(b, "f2-waiting", [(10, 150), (40, 150), (70, 150)])
            alert = (await get(b, "/api/v1/alerts"))[0]
            b.advance(5)  # +75 s
            r = await b.client.post(
                f"/api/v1/alerts/{alert['id']}/acknowledge", json={}, headers=SUPERVISOR
            )
            assert r.status_code == 200
            # down to busy at +80 s, calm at +90 s; a minute without the crowd at +140 s
            await report_until(b, "f2-waiting", [(80, 125), (90, 70), (140, 70)])
            events = await sse.take(7)
            assert [summary(e) for e in events] == [
                ("zone", "f2-waiting", 150, "calm"),  # 150 for 0 s: the dwell runs
                ("zone", "f2-waiting", 150, "crowded"),  # +70 s (+40 s changed nothing)
                ("alert", "raised", "crowd_level", "f2-waiting", "active", "warning"),
                ("alert", "acknowledged", "crowd_level", "f2-waiting", "acknowledged", "warning"),
                ("zone", "f2-waiting", 125, "busy"),
                ("zone", "f2-waiting", 70, "calm"),
                ("alert", "resolved", "crowd_level", "f2-waiting", "resolved", "warning"),
            ]
            first_seq = int(events[0].id or 0)
            assert [int(e.id or 0) for e in events] == list(range(first_seq, first_seq + 7))
            assert [e.data["seq"] for e in events] == [int(e.id or 0) for e in events]
            assert {e.data["alert"]["id"] for e in events if e.event == "alert"} == {alert["id"]}
            assert events[2].data["at"] == at(70) and events[6].data["at"] == at(140)
            assert events[6].data["alert"]["resolved_by"] is None

    backend(scenario)


def test_the_stream_carries_device_health_changes(backend: Run) -> None:
    async def scenario(b: Backend) -> None:
        async with stream(b) as sse:
            await sse.next()  # snapshot
            b.advance(10)
            camera = DeviceHealth("cam-f2-waiting", DeviceKind.CAMERA, True, b.clock.now, fps=2.0)
            await b.health(camera)
            b.advance(1)
            await b.health(
                DeviceHealth("cam-f2-waiting", DeviceKind.CAMERA, True, b.clock.now, fps=1.9)
            )
            b.advance(1)  # the same health, other figures: no event; offline: one
            await b.health(
                DeviceHealth("cam-f2-waiting", DeviceKind.CAMERA, False, b.clock.now, "no frames")
            )
            online, offline = await sse.take(2)
            assert [summary(online), summary(offline)] == [
                ("device", "cam-f2-waiting", True),
                ("device", "cam-f2-waiting", False),
            ]
            assert offline.data["device"] == {
                "device_id": "cam-f2-waiting",
                "kind": "camera",
                "health": {
                    "online": False,
                    "at": at(12),
                    "detail": "no frames",
                    "battery_pct": None,
                    "linkquality": None,
                    "fps": None,
                    "latency_ms": None,
                },
            }
        async with stream(b) as sse:
            snap = await sse.next()
            devices = {d["device_id"]: d for d in snap.data["devices"] if d["kind"] != "gateway"}
            assert devices == {"cam-f2-waiting": offline.data["device"]}

    backend(scenario)


def test_a_client_resumes_after_its_last_event_or_gets_a_snapshot(backend: Run) -> None:
    async def scenario(b: Backend) -> None:
        async with stream(b) as sse:
            await sse.next()  # snapshot
            await report_until(b, "f2-waiting", [(10, 150)])
            seen = await sse.next()
        assert summary(seen) == ("zone", "f2-waiting", 150, "calm")
        # while the client is away: the crowd alert, its acknowledgement, a calmer hall
        await report_until(b, "f2-waiting", [(70, 150)])
        alert = (await get(b, "/api/v1/alerts"))[0]
        ack = await b.client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", headers=SUPERVISOR)
        assert ack.status_code == 200
        await report_until(b, "f2-waiting", [(80, 125)])
        async with stream(b, **{"Last-Event-ID": seen.id or ""}) as sse:
            missed = await sse.take(4)
        assert [summary(e) for e in missed] == [
            ("zone", "f2-waiting", 150, "crowded"),
            ("alert", "raised", "crowd_level", "f2-waiting", "active", "warning"),
            ("alert", "acknowledged", "crowd_level", "f2-waiting", "acknowledged", "warning"),
            ("zone", "f2-waiting", 125, "busy"),
        ]
        assert [int(e.id or 0) for e in missed] == [int(seen.id or 0) + i for i in (1, 2, 3, 4)]
        # a resume point the floor never gave (an earlier run's): a fresh snapshot
        async with stream(b, **{"Last-Event-ID": str(int(missed[-1].id or 0) + 1000)}) as sse:
            snap = await sse.next()
        assert (snap.event, snap.id) == ("snapshot", None)
        waiting = next(z for z in snap.data["zones"] if z["zone_id"] == "f2-waiting")
        assert (waiting["occupancy"], waiting["level"]) == (125, "busy")
        [acked] = snap.data["alerts"]
        assert (acked["id"], acked["state"]) == (alert["id"], "acknowledged")

    backend(scenario)


# --------------------------------------------------------------------------- the engine alone
# What the in-memory floor does not model, checked through the API over the real gateway.

EngineScenario = Callable[[EngineBackend], Awaitable[None]]
EngineRun = Callable[[EngineScenario], None]


def test_engine_alerts_and_levels_survive_a_restart(
    tmp_path: Path, influxdb1: Any, influxdb1_database: str
) -> None:
    state = tmp_path / "state"

    async def before(b: EngineBackend) -> str:
        alert = await crowd_f2_waiting(b)
        b.advance(10)  # +80 s
        r = await b.client.post(
            f"/api/v1/alerts/{alert['id']}/acknowledge",
            json={"note": "mở quầy 24"},
            headers=SUPERVISOR,
        )
        assert r.status_code == 200
        return str(alert["id"])

    async def after(b: EngineBackend, alert_id: str) -> None:
        # 20 s later: the level shown before (crowded, 150), not yet heard again
        z = await zone(b, "f2-waiting")
        assert (z["level"], z["occupancy"], z["method"], z["known"]) == (
            "crowded",
            150,
            "none",
            False,
        )
        [alert] = await get(b, "/api/v1/alerts")
        assert (alert["id"], alert["state"], alert["acknowledged_by"]) == (
            "crowd_level:f2-waiting:1",
            "acknowledged",
            "Nguyễn Văn An",
        )
        assert alert["id"] == alert_id and alert["note"].startswith("mở quầy 24 [acknowledged")
        # heard again, still crowded: the same alert, no new one
        assert await report_until(b, "f2-waiting", [(110, 150)]) == ["crowded"]
        assert [a["id"] for a in await get(b, "/api/v1/alerts")] == [alert_id]
        r = await b.client.post(f"/api/v1/alerts/{alert_id}/resolve", headers=SUPERVISOR)
        assert r.status_code == 200
        # the crowd goes and comes back: the raise count was kept too
        await report_until(b, "f2-waiting", [(120, 100), (130, 150), (190, 150)])
        [second] = await get(b, "/api/v1/alerts")
        assert second["id"] == "crowd_level:f2-waiting:2"

    async def main() -> None:
        async with engine_backend(state, influxdb1.url, influxdb1_database) as b:
            alert_id = await before(b)
        restart = START + timedelta(seconds=100)
        async with engine_backend(state, influxdb1.url, influxdb1_database, start=restart) as b:
            await after(b, alert_id)

    asyncio.run(asyncio.wait_for(main(), 120))


def test_engine_an_unacknowledged_alert_is_renotified_every_10_minutes(engine: EngineRun) -> None:
    async def scenario(b: EngineBackend) -> None:
        alert = await crowd_f2_waiting(b)  # raised at +70 s
        # the sensor keeps reporting 150 every 60 s; 600 s after the raise: re-notified
        await report_until(b, "f2-waiting", [(70 + 60 * i, 150) for i in range(1, 10)])
        assert (await get(b, f"/api/v1/alerts/{alert['id']}"))["notifications"] == 1
        await report_until(b, "f2-waiting", [(670, 150)])
        again = await get(b, f"/api/v1/alerts/{alert['id']}")
        assert (again["notifications"], again["updated_at"], again["severity"]) == (
            2,
            at(670),
            "warning",
        )
        assert (again["raised_at"], again["escalated"]) == (at(70), False)

    engine(scenario)


@pytest.fixture
def engine(tmp_path: Path, influxdb1: Any, influxdb1_database: str) -> EngineRun:
    async def main(scenario: EngineScenario) -> None:
        async with engine_backend(tmp_path / "state", influxdb1.url, influxdb1_database) as b:
            await scenario(b)

    def run(scenario: EngineScenario) -> None:
        asyncio.run(asyncio.wait_for(main(scenario), 120))

    return run


def unheard(source_id: str, kind: str) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "kind": kind,
        "count": 0.0,
        "at": None,
        "fresh": False,
        "confidence": 0.0,
        "used": False,
    }


def test_engine_a_zone_is_unknown_until_a_source_is_heard(engine: EngineRun) -> None:
    async def scenario(b: EngineBackend) -> None:
        z = await zone(b, "f2-waiting")
        assert (z["method"], z["known"], z["occupancy"], z["confidence"]) == ("none", False, 0, 0)
        assert z["sources"] == [
            unheard("cam-f2-waiting", "camera"),
            unheard("pc-f2-waiting", "presence"),
        ]
        b.advance(10)
        await b.people("f2-waiting", 100)
        z = await zone(b, "f2-waiting")
        assert z["sources"] == [
            unheard("cam-f2-waiting", "camera"),
            {
                "source_id": "pc-f2-waiting",
                "kind": "presence",
                "count": 100.0,
                "at": at(10),
                "fresh": True,
                "confidence": pytest.approx(0.72),
                "used": True,
            },
        ]
        # 91 s later the presence sensor (every 30 s, stale after 3 x 30 s) is stale:
        # the zone keeps its last figure, but says it is not known
        b.advance(91)
        await b.gateway.engine.step()
        z = await zone(b, "f2-waiting")
        assert (z["method"], z["known"], z["occupancy"], z["confidence"]) == ("none", False, 100, 0)
        assert [(s["source_id"], s["fresh"], s["used"]) for s in z["sources"]] == [
            ("cam-f2-waiting", False, False),
            ("pc-f2-waiting", False, False),
        ]

    engine(scenario)


def test_engine_door_balance_and_a_disagreeing_presence_count(engine: EngineRun) -> None:
    async def scenario(b: EngineBackend) -> None:
        # the entrance hall has door counters: from the start its balance (0) is a figure,
        # not anchored (the gateway started while the center was open)
        z = await zone(b, "f1-entrance")
        assert (z["method"], z["known"], z["occupancy"]) == ("doors", True, 0)
        assert z["confidence"] == pytest.approx(0.3)
        b.advance(10)
        await b.people("f1-entrance", 40)
        z = await zone(b, "f1-entrance")
        assert (z["method"], z["occupancy"], z["disagreement"]) == ("presence", 40, True)
        assert [(s["source_id"], s["count"], s["used"]) for s in z["sources"]] == [
            ("pc-f1-entrance", 40.0, True),
            ("doors", 0.0, False),
        ]

    engine(scenario)


def test_engine_alert_ids_count_the_raises(engine: EngineRun) -> None:
    async def scenario(b: EngineBackend) -> None:
        first = await crowd_f2_waiting(b)
        assert first["id"] == "crowd_level:f2-waiting:1"
        b.advance(5)
        r = await b.client.post(f"/api/v1/alerts/{first['id']}/resolve", headers=SUPERVISOR)
        assert r.status_code == 200
        await report_until(b, "f2-waiting", [(90, 100), (100, 150), (160, 150)])
        [second] = await get(b, "/api/v1/alerts")
        assert second["id"] == "crowd_level:f2-waiting:2"

    engine(scenario)


def test_engine_capacity_exceeded_beside_the_crowd_level(engine: EngineRun) -> None:
    async def scenario(b: EngineBackend) -> None:
        # 185 of 180: over the capacity at once (30 s to raise), critical after the 60 s dwell
        await report_until(b, "f2-waiting", [(10, 185), (40, 185)])
        [capacity] = await get(b, "/api/v1/alerts")
        assert (capacity["id"], capacity["severity"], capacity["raised_at"]) == (
            "capacity:f2-waiting:1",
            "critical",
            at(40),
        )
        assert capacity["message"] == "Khu chờ (118 ghế): vượt sức chứa (185 người, sức chứa 180)"
        assert (capacity["value"], capacity["threshold"]) == (185.0, 180.0)
        await report_until(b, "f2-waiting", [(70, 185)])
        alerts = await get(b, "/api/v1/alerts")
        assert [(a["id"], a["severity"]) for a in alerts] == [
            ("crowd_level:f2-waiting:1", "critical"),
            ("capacity:f2-waiting:1", "critical"),
        ]

    engine(scenario)


async def offline_camera_alert(b: EngineBackend, detail: str) -> dict[str, Any]:
    """The camera reports itself offline at +10 s; its alert, raised 30 s later."""
    b.advance(10)
    await b.health(DeviceHealth("cam-f2-waiting", DeviceKind.CAMERA, False, b.clock.now, detail))
    b.advance(29)
    await b.gateway.engine.step()
    assert await get(b, "/api/v1/alerts") == []
    b.advance(1)
    await b.gateway.engine.step()
    [alert] = await get(b, "/api/v1/alerts")
    return dict(alert)


def test_engine_an_offline_camera_raises_its_alert_after_30_s(engine: EngineRun) -> None:
    async def scenario(b: EngineBackend) -> None:
        alert = await offline_camera_alert(b, "connection refused")
        assert (alert["id"], alert["device_id"], alert["zone_id"], alert["raised_at"]) == (
            "camera_offline:cam-f2-waiting:1",
            "cam-f2-waiting",
            "f2-waiting",
            at(40),
        )
        assert (alert["severity"], alert["subject"]) == ("warning", "cam-f2-waiting")
        assert alert["message"] == "Camera cam-f2-waiting mất tín hiệu: connection refused"
        # the camera's own health, on /cameras and in the alert, at once
        [camera] = await get(b, "/api/v1/cameras")
        assert (camera["health"]["online"], camera["health"]["detail"]) == (
            False,
            "connection refused",
        )

    engine(scenario)


def test_engine_an_alert_never_shows_a_credential_from_a_health_detail(engine: EngineRun) -> None:
    async def scenario(b: EngineBackend) -> None:
        refused = f"rtsp://admin:{CAMERA_PASSWORD}@10.0.0.21:554/stream1 refused"
        alert = await offline_camera_alert(b, refused)
        [camera] = await get(b, "/api/v1/cameras")
        assert CAMERA_PASSWORD not in json.dumps(camera)
        assert CAMERA_PASSWORD not in json.dumps(alert)  # scrubbed by the alert rule too
        assert "rtsp://" in alert["message"]  # the rest of the detail is kept

    engine(scenario)


def test_engine_zone_history_from_influxdb(engine: EngineRun) -> None:
    async def scenario(b: EngineBackend) -> None:
        await report_until(b, "f2-waiting", [(10, 100), (20, 40)])

        async def written() -> dict[str, Any] | None:
            body: dict[str, Any] = await get(
                b, "/api/v1/zones/f2-waiting/history", resolution="1m", start=at(5), end=at(30)
            )
            sources = {s["source"] for s in body["occupancy"]}
            return body if {"fused", "pc-f2-waiting"} <= sources else None

        history = await wait_for(written, "the points in InfluxDB")
        # one 1-minute bucket from 01:30:00 (the range starts at 01:30:05): the sensor's
        # 100 and 40 people, and the engine's fused figure, the same
        bucket = {
            "time": "2026-12-01T01:30:00Z",
            "mean": 70.0,  # (100 + 40) / 2
            "max": 100.0,
            "density": pytest.approx(70 / 312),
            "capacity_ratio": pytest.approx(70 / 180),
        }
        assert history["occupancy"] == [
            {"source": "fused", "points": [bucket]},
            {"source": "pc-f2-waiting", "points": [bucket]},
        ]
        assert history["climate"] == []

    engine(scenario)
