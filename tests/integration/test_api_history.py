"""Zone history against a real InfluxDB 1.x: what was written comes back, per bucket."""

from __future__ import annotations

import asyncio
import warnings
from datetime import UTC, datetime, timedelta

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from api.history import HistoryReader
from api.influxql import Resolution
from gateway.observations import Climate, PeopleCount
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.points import to_lines, zone_geometries
from gateway.settings import InfluxConfig, Role
from tests.api_support import bearer, build_app, demo_settings

pytestmark = pytest.mark.integration
SITE = demo_settings()
# Three hours ago, on an hour boundary (buckets are aligned to the epoch).
T0 = (datetime.now(UTC) - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)


def write(server: InfluxDB1Server, db: str, lines: list[str]) -> None:
    server.create_database(db)
    r = httpx.post(f"{server.url}/write", params={"db": db}, content="\n".join(lines), timeout=10)
    assert r.status_code == 204, r.text


def morning_lines() -> list[str]:
    zones = zone_geometries(SITE.zones)
    lines: list[str] = []
    # 30 minutes, one count a minute: presence 10..39, door balance 100 flat.
    for i in range(30):
        at = T0 + timedelta(minutes=i)
        lines += to_lines(
            SITE.site.id, PeopleCount("f2-waiting", "pc-f2-waiting", 10 + i, at), zones
        )
        lines += to_lines(SITE.site.id, PeopleCount("f2-waiting", "doors", 100, at), zones)
        lines += to_lines(
            SITE.site.id,
            Climate("f2-waiting", "cl-f2-waiting", at, temperature_c=26 + i / 10, co2_ppm=600 + i),
            zones,
        )
    # Another zone and another site must not leak in.
    lines += to_lines(SITE.site.id, PeopleCount("f2-counters", "pc-f2-counters", 77, T0), zones)
    lines += to_lines("other-site", PeopleCount("f2-waiting", "pc-f2-waiting", 999, T0), zones)
    return lines


def reader(server: InfluxDB1Server, db: str) -> HistoryReader:
    return HistoryReader(InfluxConfig(url=server.url, protocol="v1", database=db), SITE.site.id)


def test_history_returns_what_was_written(
    influxdb1: InfluxDB1Server, influxdb1_database: str
) -> None:
    write(influxdb1, influxdb1_database, morning_lines())
    h = asyncio.run(
        reader(influxdb1, influxdb1_database).zone_history(
            "f2-waiting", T0, T0 + timedelta(hours=1), Resolution.M15
        )
    )
    by_source = {s.tag: s.rows for s in h.occupancy}
    assert set(by_source) == {"pc-f2-waiting", "doors"}
    presence = by_source["pc-f2-waiting"]
    assert [t for t, _ in presence] == [T0, T0 + timedelta(minutes=15)]
    first, second = presence[0][1], presence[1][1]
    assert first["mean"] == pytest.approx(sum(range(10, 25)) / 15)  # minutes 0..14
    assert first["max"] == 24 and second["max"] == 39
    assert first["capacity_ratio"] == pytest.approx((first["mean"] or 0) / 180)
    assert [v["mean"] for _, v in by_source["doors"]] == [100, 100]
    [climate] = h.climate
    assert climate.tag == "cl-f2-waiting"
    assert climate.rows[0][1]["co2"] == pytest.approx(607)
    assert climate.rows[0][1]["temperature"] == pytest.approx(26.7)
    assert climate.rows[0][1]["humidity"] is None


def test_history_at_one_minute_and_an_injection_attempt(
    influxdb1: InfluxDB1Server, influxdb1_database: str
) -> None:
    write(influxdb1, influxdb1_database, morning_lines())
    r = reader(influxdb1, influxdb1_database)
    h = asyncio.run(r.zone_history("f2-waiting", T0, T0 + timedelta(minutes=5), Resolution.M1))
    presence = next(s for s in h.occupancy if s.tag == "pc-f2-waiting")
    assert [v["mean"] for _, v in presence.rows] == [10, 11, 12, 13, 14]
    sneaky = asyncio.run(
        r.zone_history("x' OR zone =~ /.*/ OR zone='y", T0, T0 + timedelta(hours=1), Resolution.M15)
    )
    assert sneaky.occupancy == [] and sneaky.climate == []


def test_history_of_a_database_not_yet_created_is_empty(influxdb1: InfluxDB1Server) -> None:
    h = asyncio.run(
        reader(influxdb1, "never_written_here").zone_history(
            "f2-waiting", T0, T0 + timedelta(hours=1), Resolution.H1
        )
    )
    assert h.occupancy == [] and h.climate == []


def test_history_through_the_api(influxdb1: InfluxDB1Server, influxdb1_database: str) -> None:
    write(influxdb1, influxdb1_database, morning_lines())
    app, _, _ = build_app(history=reader(influxdb1, influxdb1_database))
    params = {
        "resolution": "15m",
        "start": T0.isoformat(),
        "end": (T0 + timedelta(hours=1)).isoformat(),
    }
    with TestClient(app) as client:
        for role in Role:
            r = client.get("/api/v1/zones/f2-waiting/history", params=params, headers=bearer(role))
            assert r.status_code == 200, r.text
        body = r.json()
        assert body["resolution"] == "15m"
        presence = next(s for s in body["occupancy"] if s["source"] == "pc-f2-waiting")
        assert [p["max"] for p in presence["points"]] == [24, 39]
        assert body["climate"][0]["sensor"] == "cl-f2-waiting"
        assert client.get("/api/v1/zones/f2-waiting/history", params=params).status_code == 401
