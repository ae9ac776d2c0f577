"""The staffing plan stored in a real InfluxDB 1.x and read back by the managers' dashboard.

Two simulated weeks of the demo site are seeded (``gateway.planning.seed``);
then the plan of the next open day is written by ``PlanPublisher`` and by
``floorwatch plan staffing --store``, and the dashboard's own "Counters: plan
vs actual" query (built by ``dashboards.managers``, its macros and variables
expanded as Grafana does, ``dashboards.influxql.expand``) returns the planned
counters hour by hour.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from time import monotonic, sleep
from zoneinfo import ZoneInfo

import pytest

from dashboards.build import dashboard_json
from dashboards.common import site_view
from dashboards.influxql import expand, grafana_interval
from dashboards.managers import managers
from dashboards.texts import texts
from gateway.config_loader import load_settings
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.process import free_port
from gateway.peers.victoriametrics import VictoriaMetricsServer
from gateway.planning.plan_points import plan_lines
from gateway.planning.publisher import PlanPublisher, influx_write
from gateway.planning.service import PlanningService
from gateway.planning.staffing import StaffingPlan
from gateway.settings import InfluxConfig, Settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FIRST = date(2026, 11, 9)  # a Monday; two weeks to Sunday 22 November
DAYS = 14
MONDAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def settings(influxdb1: InfluxDB1Server) -> Iterator[Settings]:
    from gateway.planning.seed import seed_history

    base = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    db = f"plan_store_{free_port('127.0.0.1')}"
    influx = InfluxConfig(url=influxdb1.url, protocol="v1", database=db)
    settings = base.model_copy(update={"influxdb": influx})
    seed_history(settings, influx, FIRST, DAYS, seed=7)
    try:
        yield settings
    finally:
        if influxdb1.running:
            influxdb1.drop_database(db)


def _plan_query(settings: Settings, server: InfluxDB1Server, day: date) -> str:
    """The panel's plan target (B), expanded for the local day ``day`` with every service."""
    dashboard = dashboard_json(managers(site_view(settings), texts("en")).build())
    [panel] = [p for p in dashboard["panels"] if p.get("title") == "Counters: plan vs actual"]
    [target] = [t for t in panel["targets"] if t["refId"] == "B"]
    variables: dict[str, list[str]] = {}
    for variable in dashboard["templating"]["list"]:
        query = expand(variable["query"], from_ms=0, to_ms=0, interval_ms=1, variables=variables)
        result = server.query(query, settings.influxdb.database)
        variables[variable["name"]] = sorted(
            {row[1] for s in result.get("series", []) for row in s["values"]}
        )
    assert variables["service"] == sorted(s.id for s in settings.services)
    start = datetime.combine(day, time(0), tzinfo=TZ)
    from_ms = int(start.timestamp() * 1000)
    to_ms = int((start + timedelta(days=1)).timestamp() * 1000)
    interval = grafana_interval(from_ms, to_ms, 800, panel.get("interval") or "30s")
    return expand(
        target["query"], from_ms=from_ms, to_ms=to_ms, interval_ms=interval, variables=variables
    )


def _dashboard_plan(settings: Settings, server: InfluxDB1Server, day: date) -> dict[int, int]:
    """Local hour -> the panel's "plan" value for ``day``."""
    query = _plan_query(settings, server, day)
    [series] = server.query(query, settings.influxdb.database, epoch="ms")["series"]
    return {
        datetime.fromtimestamp(at / 1000, TZ).hour: int(value)
        for at, value in series["values"]
        if value is not None
    }


def _planned(plan: StaffingPlan) -> dict[int, int]:
    out: dict[int, int] = {}
    for group in plan.groups:
        for h in group.hours:
            out[h.hour] = out.get(h.hour, 0) + h.staffed
    return out


def _stored_totals(settings: Settings, server: InfluxDB1Server, day: date) -> dict[int, int]:
    rows = server.rows(
        "SELECT counters FROM staffing_plan WHERE service = 'all'", settings.influxdb.database
    )
    local = [(datetime.fromtimestamp(r[0] / 1e9, TZ), int(r[1])) for r in rows]
    return {at.hour: n for at, n in local if at.date() == day}


def test_publisher_stores_today_and_the_next_open_day_for_the_dashboard(
    settings: Settings, influxdb1: InfluxDB1Server
) -> None:
    """Started on a Monday morning: today's plan and the next open day's, hour by hour in the panel.

    Tuesday 24 November 2026 is Vietnam Cultural Day (a public holiday): the next open day
    after Monday 23 is Wednesday 25.
    """
    service = PlanningService.from_settings(settings)
    now = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)
    publisher = PlanPublisher(
        service, settings.influxdb, clock=lambda: now, config=settings.planning, poll_s=0.05
    )

    async def started() -> None:
        task = asyncio.create_task(publisher.run())
        try:
            async with asyncio.timeout(60):
                while True:
                    if publisher.published:
                        break
                    await asyncio.sleep(0.05)
        finally:
            task.cancel()

    asyncio.run(started())
    assert publisher.published == [MONDAY, MONDAY + timedelta(days=2)]
    for day in publisher.published:
        expected = _planned(service.staffing_plan(day))
        assert set(expected) == set(range(7, 12)) | set(range(13, 17))  # open hours only
        assert sum(expected.values()) > 0
        assert _dashboard_plan(settings, influxdb1, day) == expected
        assert _stored_totals(settings, influxdb1, day) == expected  # service=all


def test_an_evening_round_writes_the_next_open_day(settings: Settings) -> None:
    """Saturday evening: Sunday is closed, the next open day is Monday."""
    service = PlanningService.from_settings(settings)
    written: list[str] = []
    saturday = datetime(2026, 11, 28, 18, 30, tzinfo=TZ)
    publisher = PlanPublisher(
        service, written.append, clock=lambda: saturday, config=settings.planning
    )
    assert asyncio.run(publisher.publish_once(include_today=True))
    assert publisher.published == [date(2026, 11, 30)]
    [body] = written
    assert body.splitlines() == service.staffing_lines(date(2026, 11, 30))


def test_a_failed_round_is_counted_and_retried(settings: Settings) -> None:
    service = PlanningService.from_settings(settings)
    dead = InfluxConfig(url=f"http://127.0.0.1:{free_port('127.0.0.1')}", protocol="v1")
    publisher = PlanPublisher(
        service,
        dead,
        clock=lambda: datetime(2026, 11, 23, 19, 0, tzinfo=TZ),
        config=settings.planning,
    )
    assert not asyncio.run(publisher.publish_once())
    assert (publisher.failures, publisher.published) == (1, [])


def test_cli_store_writes_the_plan_the_dashboard_reads(
    settings: Settings, influxdb1: InfluxDB1Server
) -> None:
    from typer.testing import CliRunner

    from gateway.cli import app

    day = date(2026, 11, 26)
    env = {
        "FLOORWATCH_INFLUXDB__URL": settings.influxdb.url,
        "FLOORWATCH_INFLUXDB__DATABASE": settings.influxdb.database,
        "FLOORWATCH_INFLUXDB__PROTOCOL": "v1",
    }
    site = str(ROOT / "config" / "demo-site.yaml")
    args = ["plan", "staffing", "-c", site, "--date", day.isoformat(), "--store"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "stored " in result.output and "staffing_plan" in result.output
    expected = _planned(PlanningService.from_settings(settings).staffing_plan(day))
    assert _dashboard_plan(settings, influxdb1, day) == expected
    env["FLOORWATCH_INFLUXDB__URL"] = f"http://127.0.0.1:{free_port('127.0.0.1')}"
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 1  # no database: the history cannot be read


def test_write_function_posts_to_v1(settings: Settings, influxdb1: InfluxDB1Server) -> None:
    line = "staffing_plan,service=probe,site=x counters=3i 0"
    influx_write(settings.influxdb)(line)
    rows = influxdb1.rows(
        "SELECT counters FROM staffing_plan WHERE service = 'probe'", settings.influxdb.database
    )
    assert rows == [[0, 3]]


def test_plan_lines_through_v2_into_victoriametrics(
    settings: Settings, victoriametrics: VictoriaMetricsServer, victoriametrics_site: str
) -> None:
    """The v2 path (influxdb-client's write API) of the same lines: VictoriaMetrics keeps them."""
    day = date(2026, 11, 27)
    plan = PlanningService.from_settings(settings).staffing_plan(day)
    config = InfluxConfig(url=victoriametrics.url, protocol="v2", bucket="floorwatch", org="t")
    influx_write(config)("\n".join(plan_lines(victoriametrics_site, plan, TZ)))
    expected = sorted(
        (int(datetime.combine(day, time(hour), tzinfo=TZ).timestamp() * 1000), float(n))
        for hour, n in _planned(plan).items()
    )
    labels = {"site": victoriametrics_site, "service": "all"}

    def stored() -> list[tuple[int, float]]:
        return sorted(victoriametrics.export_series("staffing_plan_counters", labels))

    deadline = monotonic() + 30
    while stored() != expected and monotonic() < deadline:
        sleep(0.1)  # VictoriaMetrics makes new samples searchable within a second
    assert stored() == expected
