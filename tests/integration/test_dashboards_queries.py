"""Every dashboard query runs against a real InfluxDB 1.x holding simulated data, and returns series.

The data: three simulated weekdays of the demo site (sensors.simulator's
CenterModel), turned into observations and written as line protocol by
gateway/points.py, the gateway's own writer path. The engine's points (the
fused ``zone_occupancy`` with ``level``, and ``alerts``) are written by the
engine's own line functions (gateway.points.zone_state_lines, alert_lines);
the staffing plan as the contract in docs/dashboards.md describes it. Each
query is expanded the way Grafana's InfluxDB datasource does ($timeFilter,
$__interval, variables) before it is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from dashboards.build import build_dashboards, dashboard_json
from dashboards.influxql import expand, grafana_interval
from gateway.config_loader import load_settings
from gateway.live import Alert, AlertState, Severity, ZoneClimateState, ZoneState
from gateway.observations import (
    Climate,
    DeviceHealth,
    DeviceKind,
    DoorTraffic,
    Observation,
    PeopleCount,
    TicketEvent,
)
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.points import alert_lines, to_lines, zone_geometries, zone_state_lines
from gateway.settings import CrowdLevel, Settings, ZoneConfig, ZoneKind
from sensors.simulator.model import CenterModel
from sensors.simulator.readings import (
    ClimateReading,
    DoorCountReading,
    PresenceReading,
    SimReading,
    TicketReading,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAYS = 3
FIRST_DAY = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)  # a Monday
DAY_LENGTH = timedelta(hours=11)
RANGE_FROM = FIRST_DAY.replace(hour=0)
RANGE_TO = FIRST_DAY + timedelta(days=DAYS + 1)
MAX_DATA_POINTS = 800  # a panel about 800 px wide


def _observations(settings: Settings, readings: list[SimReading]) -> Iterator[Observation]:
    sensors = {s.id: s for s in settings.sensors}
    totals: dict[str, tuple[int, int]] = {}
    for r in readings:
        sensor = sensors[r.sensor_id]
        if isinstance(r, PresenceReading):
            yield PeopleCount(
                zone_id=sensor.zone or "", source_id=r.sensor_id, count=r.count, at=r.at
            )
        elif isinstance(r, DoorCountReading):
            entries, exits = r.entries, r.exits
            if r.cumulative:
                before = totals.get(r.sensor_id, (entries, exits))
                totals[r.sensor_id] = (entries, exits)
                entries, exits = max(0, entries - before[0]), max(0, exits - before[1])
            yield DoorTraffic(
                door_id=sensor.door or "",
                source_id=r.sensor_id,
                entries=entries,
                exits=exits,
                at=r.at,
            )
        elif isinstance(r, ClimateReading):
            yield Climate(
                zone_id=sensor.zone or "",
                sensor_id=r.sensor_id,
                at=r.at,
                temperature_c=r.temperature_c,
                humidity_pct=r.humidity_pct,
                co2_ppm=r.co2_ppm,
                pm25_ugm3=r.pm25_ugm3,
            )
            yield DeviceHealth(
                device_id=r.sensor_id,
                kind=DeviceKind.SENSOR,
                online=True,
                at=r.at,
                battery_pct=r.battery_pct,
                linkquality=r.linkquality,
            )
        elif isinstance(r, TicketReading):
            yield TicketEvent(
                service_id=r.service_id,
                ticket=r.ticket,
                event=r.event,
                at=r.at,
                source_id=r.sensor_id,
                counter=r.counter,
            )


def _engine_lines(settings: Settings, day: datetime) -> list[str]:
    """The engine's points (gateway.points.zone_state_lines / alert_lines) and the plan's."""
    site = settings.site.id
    lines = []
    for i, zone in enumerate(settings.zones):
        for minute, level, share in ((0, "calm", 0.1), (120, "busy", 0.6), (200, "crowded", 0.9)):
            at = day + timedelta(minutes=minute + i)
            lines += zone_state_lines(site, _zone_state(zone, CrowdLevel(level), share, at))
    raised = day + timedelta(hours=2)
    lines += alert_lines(
        site, _alert("crowd_level", "f2-waiting", AlertState.ACTIVE, raised), "raised"
    )
    lines += alert_lines(
        site, _alert("co2_high", "f2-counters", AlertState.RESOLVED, raised), "resolved"
    )
    for detail, minutes in (("motion", 30), ("motion_cleared", 31), ("tampered", 300)):
        event = DeviceHealth(
            "cam-f2-hall", DeviceKind.CAMERA, True, day + timedelta(minutes=minutes), detail
        )
        lines += to_lines(site, event, {})  # camera_events, as the hub writes them
    for service in settings.services:
        for hour in range(8, 17):
            ns = int(day.replace(hour=hour).timestamp()) * 10**9
            lines.append(f"staffing_plan,service={service.id},site={site} counters=2i {ns}")
    return lines


def _zone_state(zone: ZoneConfig, level: CrowdLevel, share: float, at: datetime) -> ZoneState:
    count = int(zone.capacity * share)
    return ZoneState(
        zone_id=zone.id,
        floor_id=zone.floor,
        name=zone.name,
        occupancy=count,
        capacity=zone.capacity,
        capacity_ratio=share,
        density_per_m2=count / zone.area_m2,
        level_of_service=None,
        level=level,
        method="presence",
        confidence=0.9,
        sources=(),
        disagreement=False,
        climate=ZoneClimateState(),
        waiting_tickets=int(20 * share) if zone.kind is ZoneKind.WAITING else None,
        expected_wait_s=600 * share if zone.kind is ZoneKind.WAITING else None,
        updated_at=at.astimezone(UTC),
    )


def _alert(rule: str, zone: str, state: AlertState, at: datetime) -> Alert:
    return Alert(
        id=f"{rule}:{zone}",
        rule=rule,
        severity=Severity.WARNING,
        state=state,
        zone_id=zone,
        device_id=None,
        message=f"{rule} in {zone}",
        value=1.0,
        threshold=0.8,
        raised_at=at.astimezone(UTC),
        updated_at=at.astimezone(UTC),
    )


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(ROOT / "config" / "demo-site.yaml", {}).settings


@pytest.fixture(scope="module")
def database(influxdb1: InfluxDB1Server, settings: Settings) -> Iterator[str]:
    db = "t_dashboards_queries"
    influxdb1.create_database(db)
    zones = zone_geometries(settings.zones)
    model = CenterModel(settings, 7, FIRST_DAY)
    lines: list[str] = []
    for d in range(DAYS):
        day = FIRST_DAY + timedelta(days=d)
        if d:
            model.step(day - timedelta(minutes=1))  # the night, silently
        for obs in _observations(settings, model.step(day + DAY_LENGTH)):
            lines.extend(to_lines(settings.site.id, obs, zones))
        lines.extend(_engine_lines(settings, day))
    for start in range(0, len(lines), 5000):
        response = httpx.post(
            f"{influxdb1.url}/write",
            params={"db": db, "precision": "ns"},
            content="\n".join(lines[start : start + 5000]).encode(),
            timeout=30.0,
        )
        assert response.status_code == 204, response.text
    try:
        yield db
    finally:
        influxdb1.drop_database(db)


def _tag_values(server: InfluxDB1Server, db: str, query: str) -> list[str]:
    result = server.query(query, db)
    return sorted({row[1] for s in result.get("series", []) for row in s["values"]})


def _variables(dashboard: dict[str, Any], server: InfluxDB1Server, db: str) -> dict[str, list[str]]:
    """Each query variable set to "All" of what its own query returns (as Grafana does)."""
    values: dict[str, list[str]] = {}
    for variable in dashboard["templating"]["list"]:
        query = expand(variable["query"], from_ms=0, to_ms=0, interval_ms=1, variables=values)
        found = _tag_values(server, db, query)
        assert found, f"variable {variable['name']}: {query} returned nothing"
        values[variable["name"]] = found
    return values


def _targets(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel, target


def _range_ms(panel: dict[str, Any]) -> tuple[int, int]:
    to_ms = int(RANGE_TO.astimezone(UTC).timestamp() * 1000)
    if panel.get("timeFrom") == "now-7d/d":  # the heatmap: 7 days from a local midnight
        return int((RANGE_TO.replace(hour=0) - timedelta(days=7)).timestamp() * 1000), to_ms
    return int(RANGE_FROM.timestamp() * 1000), to_ms


def _zones_without_co2(server: InfluxDB1Server, db: str, settings: Settings) -> set[str]:
    """Zones whose climate sensor has no CO2 probe (the simulated Tasmota devices)."""
    result = server.query('SELECT count("co2") FROM "climate" GROUP BY "zone"', db)
    with_co2 = {s["tags"]["zone"] for s in result.get("series", []) if s["values"][0][1]}
    return {z.id for z in settings.zones} - with_co2


def test_every_panel_query_returns_series(
    influxdb1: InfluxDB1Server, database: str, settings: Settings
) -> None:
    """Every target returns series; a CO2 target only where the zone's sensor measures CO2."""
    no_co2 = _zones_without_co2(influxdb1, database, settings)
    assert no_co2 != {z.id for z in settings.zones}, "no simulated sensor measures CO2"
    checked = 0
    for model in build_dashboards(settings):
        dashboard = dashboard_json(model)
        variables = _variables(dashboard, influxdb1, database)
        for panel, target in _targets(dashboard):
            from_ms, to_ms = _range_ms(panel)
            interval = grafana_interval(
                from_ms, to_ms, MAX_DATA_POINTS, panel.get("interval") or "30s"
            )
            query = expand(
                target["query"],
                from_ms=from_ms,
                to_ms=to_ms,
                interval_ms=interval,
                variables=variables,
            )
            series = influxdb1.query(query, database).get("series", [])
            if '"co2"' in query and any(f"'{zone}'" in query for zone in no_co2):
                assert not series  # the panel says "No data" for a sensor without CO2
                continue
            where = f"{dashboard['title']} / {panel['title']} / {target['refId']}: {query}"
            assert series, f"no series: {where}"
            assert any(v is not None for s in series for row in s["values"] for v in row[1:]), (
                f"only nulls: {where}"
            )
            checked += 1
    assert checked >= 30


def test_heatmap_cells_are_the_value_at_that_hour(
    influxdb1: InfluxDB1Server, database: str, settings: Settings
) -> None:
    """The 10:00 row holds, per day, the peak capacity ratio between 10:00 and 11:00 local."""
    from dashboards.common import site_view
    from dashboards.managers import hour_query

    view = site_view(settings)
    day = FIRST_DAY + timedelta(days=1)
    from_ms = int((day.replace(hour=0)).timestamp() * 1000)
    to_ms = from_ms + 86_400_000
    query = expand(
        hour_query(view, 10),
        from_ms=from_ms,
        to_ms=to_ms,
        interval_ms=60_000,
        variables={"site": [settings.site.id], "zone": ["f2-waiting"]},
    )
    [series] = influxdb1.query(query, database, epoch="ms")["series"]
    [(at, value)] = [row for row in series["values"] if row[1] is not None]
    ten = day.replace(hour=10)
    assert at == int(ten.timestamp() * 1000)
    direct = max(
        row[1]
        for row in influxdb1.rows(
            "SELECT capacity_ratio FROM zone_occupancy WHERE zone = 'f2-waiting'", database
        )
        if ten <= datetime.fromtimestamp(row[0] / 1e9, UTC) < ten + timedelta(hours=1)
    )
    assert value == pytest.approx(direct)
