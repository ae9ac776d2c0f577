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
def observations(settings: Settings) -> list[Observation]:
    """What the simulated sensors said over the DAYS opening hours (the nights left out)."""
    model = CenterModel(settings, 7, FIRST_DAY)
    said: list[Observation] = []
    for d in range(DAYS):
        day = FIRST_DAY + timedelta(days=d)
        if d:
            model.step(day - timedelta(minutes=1))  # the night, silently
        said.extend(_observations(settings, model.step(day + DAY_LENGTH)))
    return said


@pytest.fixture(scope="module")
def database(
    influxdb1: InfluxDB1Server, settings: Settings, observations: list[Observation]
) -> Iterator[str]:
    db = "t_dashboards_queries"
    influxdb1.create_database(db)
    zones = zone_geometries(settings.zones)
    lines: list[str] = []
    for obs in observations:
        lines.extend(to_lines(settings.site.id, obs, zones))
    for d in range(DAYS):
        lines.extend(_engine_lines(settings, FIRST_DAY + timedelta(days=d)))
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


# --------------------------------------------------------------------------- values, not just series
#
# The panels are read for the values the scenario is known to produce: for the
# simulated sensors, the figures each panel stands for ("visitors per day",
# "counters in use per hour", "mean CO2 per 10 minutes") computed in Python from
# the observations written, with the local calendar; for the points written by
# hand (the engine's states and alerts, camera events, the staffing plan), their
# literal values.


def _answered(
    server: InfluxDB1Server, db: str, query: str, tag_keys: list[str]
) -> dict[tuple[str, ...], list[list[Any]]]:
    series = server.query(query, db, epoch="ms").get("series", [])
    return {
        tuple(s.get("tags", {}).get(k, "") for k in tag_keys): [list(r) for r in s["values"]]
        for s in series
    }


def _panel_queries(server: InfluxDB1Server, db: str, settings: Settings) -> list[str]:
    queries = []
    for model in build_dashboards(settings):
        dashboard = dashboard_json(model)
        variables = _variables(dashboard, server, db)
        for panel, target in _targets(dashboard):
            from_ms, to_ms = _range_ms(panel)
            interval = grafana_interval(
                from_ms, to_ms, MAX_DATA_POINTS, panel.get("interval") or "30s"
            )
            queries.append(
                expand(
                    target["query"],
                    from_ms=from_ms,
                    to_ms=to_ms,
                    interval_ms=interval,
                    variables=variables,
                )
            )
    return queries


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _local_days() -> list[datetime]:
    """The local days the panels' range covers (its start to the day of its end)."""
    days, day = [], RANGE_FROM
    while day <= RANGE_TO:
        days.append(day)
        day += timedelta(days=1)
    return days


def _ten_minutes(at: datetime) -> int:
    local = at.astimezone(TZ)
    return _ms(local.replace(minute=local.minute - local.minute % 10, second=0, microsecond=0))


def test_the_sensor_panels_show_what_the_simulated_days_did(
    influxdb1: InfluxDB1Server,
    database: str,
    settings: Settings,
    observations: list[Observation],
) -> None:
    queries = _panel_queries(influxdb1, database, settings)

    def panel(fragment: str, tag_keys: list[str]) -> dict[tuple[str, ...], list[list[Any]]]:
        [query] = [q for q in queries if fragment in q]
        return _answered(influxdb1, database, query, tag_keys)

    days = _local_days()
    # Visitors per day: entries per local day at each door from outside (not the stairs).
    outside = {d.id for d in settings.doors if d.from_zone is None}
    assert outside == {"d-main", "d-side"}
    doors = [o for o in observations if isinstance(o, DoorTraffic) and o.door_id in outside]
    assert panel('sum("entries") FROM "door_traffic"', ["door"]) == {
        (door,): [
            [
                _ms(day),
                sum(
                    o.entries
                    for o in doors
                    if o.door_id == door and o.at.astimezone(TZ).date() == day.date()
                ),
            ]
            for day in days
        ]
        for door in sorted({o.door_id for o in doors})
    }
    # Tickets issued per day, per service group.
    tickets = [o for o in observations if isinstance(o, TicketEvent)]
    issued = [o for o in tickets if o.event == "issued"]
    assert panel('sum("count") FROM "queue"', ["service"]) == {
        (service,): [
            [
                _ms(day),
                sum(
                    1
                    for o in issued
                    if o.service_id == service and o.at.astimezone(TZ).date() == day.date()
                ),
            ]
            for day in days
        ]
        for service in sorted({o.service_id for o in issued})
    }
    # Counters in use per hour: distinct counters that called a ticket in that local hour.
    called = [o for o in tickets if o.event == "called" and o.counter is not None]
    hours = [
        RANGE_FROM + timedelta(hours=h)
        for h in range(int((RANGE_TO - RANGE_FROM).total_seconds() // 3600) + 1)
    ]
    in_use = panel('count(distinct("counter")) FROM "queue"', [])[()]
    assert in_use == [
        [_ms(hour), len({o.counter for o in called if hour <= o.at < hour + timedelta(hours=1)})]
        for hour in hours
    ]
    assert max(n for _, n in in_use) >= 5, "the simulated mornings open several counters"
    # Climate per zone: the mean of each quantity over each 10 minutes.
    climate = [o for o in observations if isinstance(o, Climate)]
    for field, attribute in (
        ("temperature", "temperature_c"),
        ("humidity", "humidity_pct"),
        ("co2", "co2_ppm"),
    ):
        for zone in sorted({o.zone_id for o in climate}):
            matching = [
                q for q in queries if f'mean("{field}") FROM "climate"' in q and f"'{zone}'" in q
            ]
            if not matching:
                continue  # the facility board shows the zones with climate panels only
            buckets: dict[int, list[float]] = {}
            for o in climate:
                value = getattr(o, attribute)
                if o.zone_id == zone and value is not None and RANGE_FROM <= o.at <= RANGE_TO:
                    buckets.setdefault(_ten_minutes(o.at), []).append(value)
            expected = [[t, pytest.approx(sum(v) / len(v))] for t, v in sorted(buckets.items())]
            [query] = matching
            answered = _answered(influxdb1, database, query, [])
            assert answered.get((), []) == expected, f"{field} in {zone}"
    # Device health: each sensor online, with the last battery level it reported.
    health = sorted((o for o in observations if isinstance(o, DeviceHealth)), key=lambda o: o.at)
    table = panel('FROM "device_health"', ["device", "kind"])
    last_battery = {o.device_id: o.battery_pct for o in health if o.battery_pct is not None}
    assert {k: (r[0][1], r[0][3]) for k, r in table.items()} == {
        (o.device_id, "sensor"): (True, last_battery.get(o.device_id)) for o in health
    }


def _at_ms(day: int, minutes: int) -> int:
    return int((FIRST_DAY + timedelta(days=day, minutes=minutes)).timestamp() * 1000)


def test_the_engine_panels_show_the_literal_scenario(
    influxdb1: InfluxDB1Server, database: str, settings: Settings
) -> None:
    """What the scenario wrote by hand, read through the panels: known values, not "some"."""
    queries = _panel_queries(influxdb1, database, settings)

    def series(fragment: str, tag_keys: list[str]) -> dict[tuple[str, ...], list[list[Any]]]:
        [query] = [q for q in queries if fragment in q]
        return _answered(influxdb1, database, query, tag_keys)

    zones = settings.zones
    last_count = series('last("count") FROM "zone_occupancy"', ["zone"])
    # The last state of zone i: day 3, minute 200 + i, 90 % of the capacity.
    assert last_count[("f2-waiting",)] == [
        [_at_ms(2, 200 + [z.id for z in zones].index("f2-waiting")), 162]  # 180 x 0.9
    ]
    assert {k[0]: v[0][1] for k, v in last_count.items()} == {
        z.id: int(z.capacity * 0.9) for z in zones
    }
    ratios = series('last("capacity_ratio") FROM "zone_occupancy"', ["zone"])
    assert {k[0]: v[0][1] for k, v in ratios.items()} == {z.id: 0.9 for z in zones}
    levels = series('last("level") FROM "zone_occupancy"', ["zone"])
    assert {k[0]: [r[1] for r in v] for k, v in levels.items()} == {
        z.id: ["calm", "busy", "crowded"] * 3 for z in zones
    }
    waiting = series('max("waiting") FROM "zone_occupancy"', ["zone"])
    assert {k[0]: [r[1] for r in v] for k, v in waiting.items()} == {
        "f2-waiting": [2, 12, 18] * 3  # 20 tickets x 0.1, 0.6, 0.9
    }
    waits = series('mean("expected_wait_s") FROM "zone_occupancy"', ["zone"])
    assert {k[0]: [r[1] for r in v] for k, v in waits.items()} == {
        "f2-waiting": [60, 360, 540] * 3  # 600 s x 0.1, 0.6, 0.9
    }
    alerts = series('last("state") AS "state"', ["zone", "device", "rule", "severity"])
    assert {k: [r[1:] for r in v] for k, v in alerts.items()} == {
        ("f2-waiting", "", "crowd_level", "warning"): [
            ["active", "crowd_level in f2-waiting", 1, 0.8]
        ],
        ("f2-counters", "", "co2_high", "warning"): [
            ["resolved", "co2_high in f2-counters", 1, 0.8]
        ],
    }
    # New alerts per hour: the raised crowd_level alert of each day (the resolved co2_high
    # point is no raise), in the hour it was raised (09:00 local)
    raised = series("\"transition\" = 'raised'", ["severity"])
    assert raised == {("warning",): [[_at_ms(day, 120), 1] for day in range(DAYS)]}
    events = series('FROM "camera_events"', ["camera", "event"])
    assert {k: [r[1] for r in v] for k, v in events.items()} == {
        ("cam-f2-hall", "motion"): [False],  # cleared a minute after it started
        ("cam-f2-hall", "tamper"): [True],
    }
    plan = series('FROM "staffing_plan"', [])
    assert plan[()] == [
        [_at_ms(day, (hour - 7) * 60), 2 * len(settings.services)]  # 2 counters per group
        for day in range(DAYS)
        for hour in range(8, 17)
    ]
