"""Planning on real stored history: six simulated weeks in a real InfluxDB 1.x, then the
forecast, the backtest, the staffing plan and HVAC conditions read back with InfluxQL.

The weeks are played by the sensor simulator's model (seeded) and written in the
gateway's line protocol (``gateway.planning.seed``). 31 August - 2 September 2026
are public holidays (National Day): the center is closed and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.config_loader import load_settings
from gateway.influx_query import HistoryError
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.mosquitto import MosquittoServer
from gateway.peers.process import free_port
from gateway.planning.backtest import render_backtest
from gateway.planning.history import InfluxHistory
from gateway.planning.hvac import ZoneConditions
from gateway.planning.report import plan_csv, render_plan
from gateway.planning.seed import SeedReport, seed_history
from gateway.planning.service import PlanningService, tomorrow_plan_text
from gateway.settings import InfluxConfig, Settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FIRST = date(2026, 8, 3)  # a Monday
DAYS = 42  # to Sunday 13 September
TARGET = date(2026, 9, 16)  # a Wednesday, two weeks after National Day
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module")
def stored(
    influxdb1: InfluxDB1Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, SeedReport]]:
    base = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    db = f"planning_{free_port('127.0.0.1')}"
    influx = InfluxConfig(url=influxdb1.url, protocol="v1", database=db)
    settings = base.model_copy(update={"influxdb": influx})
    report = seed_history(settings, influx, FIRST, DAYS, seed=7)
    try:
        yield settings, report
    finally:
        if influxdb1.running:
            influxdb1.drop_database(db)


def test_history_is_stored_without_the_holidays(stored: tuple[Settings, SeedReport]) -> None:
    settings, report = stored
    assert set(report.days_closed) >= {date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2)}
    history = InfluxHistory(settings.influxdb, settings.site.id, TZ)
    tickets = history.hourly_tickets(FIRST, FIRST + timedelta(days=DAYS))
    assert set(tickets) == {s.id for s in settings.services}
    days = {d for hours in tickets.values() for (d, _) in hours}
    assert date(2026, 9, 2) not in days and date(2026, 9, 3) in days
    assert not any(d.weekday() == 6 for d in days)  # closed on Sundays
    monday = sum(v for h in tickets.values() for (d, _), v in h.items() if d == FIRST)
    assert 450 <= monday <= 620  # the simulator brings ~535 ticket holders a weekday
    hours = {h for hs in tickets.values() for (_, h) in hs}
    assert 12 not in hours and hours <= set(range(7, 17))  # lunch break, opening hours
    entries = history.hourly_entries(FIRST, FIRST + timedelta(days=7), ["d-main", "d-side"])
    assert sum(v for (d, _), v in entries.items() if d == FIRST) > monday  # companions etc.
    occupancy = history.hourly_occupancy(FIRST, FIRST + timedelta(days=1))
    assert max(occupancy["f2-waiting"].values()) > 30


def test_staffing_plan_from_stored_history(stored: tuple[Settings, SeedReport]) -> None:
    settings, _ = stored
    service = PlanningService.from_settings(settings)
    plan = service.staffing_plan(TARGET)
    print(render_plan(plan))
    assert plan.arrivals_source == "tickets"
    groups = {g.group.id: g for g in plan.groups}
    assert set(groups) == {s.id for s in settings.services}
    land = groups["land"]
    assert land.forecast_basis == "same weekday"
    assert date(2026, 9, 2) not in land.reference_days and len(land.reference_days) == 5
    # Service times measured from called -> served (the simulator draws them around config).
    for g in plan.groups:
        configured = next(s.service_time_s for s in settings.services if s.id == g.group.id)
        assert g.group.source == "tickets"
        assert 0.6 * configured < g.group.service_time_s < 1.4 * configured
    total = sum(h.arrivals for g in plan.groups for h in g.hours)
    assert 400 < total < 650
    nine = [h for g in plan.groups for h in g.hours if h.hour == 9]
    assert sum(h.needed for h in nine) >= 5
    assert all(h.counters_open is not None for h in nine if h.arrivals > 3)
    rows = plan_csv(plan).splitlines()
    assert len(rows) == 1 + 9 * 9  # header + 9 groups x 9 open hours


def test_backtest_on_stored_history(stored: tuple[Settings, SeedReport]) -> None:
    settings, _ = stored
    service = PlanningService.from_settings(settings)
    results = service.backtest(2, date(2026, 9, 14))
    for r in results[:2]:
        print(render_backtest(r))
    overall = results[0]
    assert overall.group == "all" and len(overall.days) == 9  # 12 open days minus 3 holidays
    assert overall.mape is not None and overall.mape < 0.6
    assert overall.bias_pct is not None and abs(overall.bias_pct) < 0.25
    assert {r.group for r in results[1:]} == {s.id for s in settings.services}


def test_hvac_conditions_and_advice_from_stored_readings(
    stored: tuple[Settings, SeedReport],
) -> None:
    settings, _ = stored
    history = InfluxHistory(settings.influxdb, settings.site.id, TZ)
    now = datetime(2026, 9, 11, 10, 0, tzinfo=TZ)
    conditions = history.latest_conditions(now)
    waiting = conditions["f2-waiting"]
    assert waiting.occupancy > 10 and waiting.co2_ppm is not None
    assert waiting.temperature_c is not None and 24 < waiting.temperature_c < 30
    service = PlanningService.from_settings(settings)
    advice = {a.zone_id: a for a in service.hvac_advice(conditions, now)}
    assert advice["f2-waiting"].outdoor_air_m3h == pytest.approx(25 * waiting.occupancy)
    late = datetime(2026, 9, 11, 21, 0, tzinfo=TZ)
    night = service.hvac_advice(history.latest_conditions(late), late)
    assert night and all("setback" in a.codes for a in night if a.occupancy == 0)
    # Pre-cooling from the stored occupancy forecast: before the morning rise.
    early = service.hvac_advice(
        {"f2-waiting": ZoneConditions(occupancy=0, temperature_c=30.0)},
        datetime(2026, 9, 16, 7, 0, tzinfo=TZ),
    )[0]
    assert early.rise_at is not None and early.rise_at.hour in (7, 8, 9)
    assert early.precool_start is not None and early.precool_start < early.rise_at


def test_demo_plan_for_tomorrow(stored: tuple[Settings, SeedReport]) -> None:
    settings, _ = stored
    text = tomorrow_plan_text(settings, datetime(2026, 9, 15, 18, 0, tzinfo=TZ))
    print(text)
    assert "staffing plan for Wednesday 16 September 2026" in text
    saturday = tomorrow_plan_text(settings, datetime(2026, 9, 12, 18, 0, tzinfo=TZ))
    assert "next open day 2026-09-14" in saturday


def test_unreachable_database_is_a_history_error() -> None:
    config = InfluxConfig(url=f"http://127.0.0.1:{free_port('127.0.0.1')}", protocol="v1")
    with pytest.raises(HistoryError, match="cannot reach"):
        InfluxHistory(config, "x", TZ).hourly_tickets(FIRST, FIRST + timedelta(days=1))


def test_cli_prints_the_plan_backtest_and_advice(
    stored: tuple[Settings, SeedReport], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from gateway.cli import app

    settings, _ = stored
    env = {
        "FLOORWATCH_INFLUXDB__URL": settings.influxdb.url,
        "FLOORWATCH_INFLUXDB__DATABASE": settings.influxdb.database,
    }
    site = str(ROOT / "config" / "demo-site.yaml")
    runner = CliRunner()
    out = tmp_path / "plan.csv"
    args = ["plan", "staffing", "-c", site, "--date", "2026-09-16", "--csv", str(out)]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "staffing plan for Wednesday 16 September 2026" in result.output
    assert out.read_text(encoding="utf-8").startswith("date,hour,group,")
    args = ["plan", "backtest", "-c", site, "--weeks", "2", "--until", "2026-09-14"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    # 31 Aug .. 13 Sep: 10 weekdays and 2 Saturday mornings, less National Day (31 Aug .. 2 Sep)
    assert "backtest [all]: 9 days (2026-09-03 .. 2026-09-12)" in result.output
    args = ["plan", "hvac", "-c", site, "--at", "2026-07-01T10:00:00"]  # before the history
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "no zone has readings in the last 30 minutes" in result.output
    args = ["plan", "hvac", "-c", site, "--at", "2026-09-11T10:00:00"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "f2-waiting: " in result.output
    assert "-> floorwatch/demo-hcc/hvac/f2-waiting/advice" in result.output
    refused = runner.invoke(app, ["plan", "simulate-history", "-c", site], env=env)
    assert refused.exit_code == 2 and "--yes" in refused.output


def test_api_endpoints_for_managers_and_facility(stored: tuple[Settings, SeedReport]) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from api.routes import planning
    from gateway.settings import Role
    from tests.api_support import bearer, build_app

    settings, _ = stored
    evening = datetime(2026, 9, 15, 18, 0, tzinfo=TZ)
    app, _, _ = build_app(site=settings, clock=lambda: evening)
    if not any(getattr(r, "path", "") == "/api/v1/planning/staffing" for r in app.routes):
        app.include_router(planning.router)
    with TestClient(app) as client:
        assert (
            client.get("/api/v1/planning/staffing", headers=bearer(Role.MANAGER)).status_code == 503
        )
        app.state.planning = PlanningService.from_settings(settings)
        manager = bearer(Role.MANAGER)
        body = client.get("/api/v1/planning/staffing", headers=manager).json()
        assert body["date"] == "2026-09-16"  # tomorrow by the app's clock
        assert len(body["groups"]) == 9 and body["arrivals_source"] == "tickets"
        assert "land 09" in body["short_hours"]
        nine = next(h for h in body["groups"][0]["hours"] if h["hour"] == 9)
        assert nine["counters_needed"] >= 1 and 0 <= nine["service_level"] <= 1
        csv_reply = client.get("/api/v1/planning/staffing.csv?date=2026-09-16", headers=manager)
        assert csv_reply.status_code == 200 and csv_reply.text.startswith("date,hour,group")
        assert "staffing-2026-09-16.csv" in csv_reply.headers["content-disposition"]
        reply = client.get("/api/v1/planning/backtest?weeks=2", headers=manager)
        assert reply.status_code == 200 and reply.json()[0]["group"] == "all"
        assert len(reply.json()[0]["days"]) == 9  # two weeks before 15 Sep, minus holidays
        assert (
            client.get("/api/v1/planning/staffing", headers=bearer(Role.FACILITY)).status_code
            == 403
        )
        facility = bearer(Role.FACILITY)
        advice = client.get("/api/v1/planning/hvac", headers=facility)
        assert advice.status_code == 200
        assert {a["zone"] for a in advice.json()} == {z.id for z in settings.zones}
        # 18:00, closed, nobody in (the in-memory floor): every zone gets a set-back.
        assert all("setback" in {x["code"] for x in a["actions"]} for a in advice.json())
        one = client.get("/api/v1/planning/hvac/f2-waiting", headers=facility).json()
        assert one["zone"] == "f2-waiting" and one["outdoor_air"]["needed_m3h"] == 0
        assert client.get("/api/v1/planning/hvac/nowhere", headers=facility).status_code == 404
        assert client.get("/api/v1/planning/hvac", headers=manager).status_code == 403


def test_advisor_publishes_retained_advice_on_mqtt(
    stored: tuple[Settings, SeedReport], mosquitto: MosquittoServer, topic_prefix: str
) -> None:
    """Advice for every zone reaches a real broker, retained: a late subscriber gets it."""
    import asyncio
    import json
    import queue

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from gateway.planning.advisor import HvacAdvisor
    from tests.memory_floor import MemoryFloor

    settings, _ = stored
    evening = datetime(2026, 9, 15, 18, 0, tzinfo=TZ)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{topic_prefix[-8:]}")
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    sent: list[mqtt.MQTTMessageInfo] = []
    try:
        advisor = HvacAdvisor(
            PlanningService.from_settings(settings),
            MemoryFloor(settings, clock=lambda: evening),
            lambda topic, payload, retain: sent.append(pub.publish(topic, payload, 1, retain)),
            base_topic=topic_prefix,
            site_id=settings.site.id,
            interval_s=300,
            clock=lambda: evening,
        )
        advice = asyncio.run(advisor.publish_once())
        assert len(advice) == len(settings.zones) == advisor.published
        for info in sent:
            info.wait_for_publish(timeout=10)
    finally:
        pub.loop_stop()
        pub.disconnect()
    got: queue.Queue[tuple[str, bool, dict[str, Any]]] = queue.Queue()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{topic_prefix[-8:]}")
    sub.on_message = lambda _c, _u, m: got.put((m.topic, m.retain, json.loads(m.payload)))
    sub.connect("127.0.0.1", mosquitto.port)
    sub.subscribe(f"{topic_prefix}/{settings.site.id}/hvac/+/advice", qos=1)
    sub.loop_start()
    try:
        messages = [got.get(timeout=10) for _ in settings.zones]
    finally:
        sub.loop_stop()
        sub.disconnect()
    topics = {t for t, _, _ in messages}
    assert topics == {f"{topic_prefix}/demo-hcc/hvac/{z.id}/advice" for z in settings.zones}
    assert all(retain for _, retain, _ in messages)
    waiting = next(body for t, _, body in messages if "/f2-waiting/" in t)
    assert waiting["zone"] == "f2-waiting" and waiting["actions"][0]["code"] == "setback"


def test_door_counts_only_plan_one_pooled_group(influxdb1: InfluxDB1Server) -> None:
    """A center without a queue system: arrivals from the entrance doors, all counters pooled."""
    from gateway.influx_writer import make_client
    from gateway.planning.seed import simulated_days

    base = load_settings(ROOT / "config" / "demo-site.yaml", {}).settings
    db = f"planning_doors_{free_port('127.0.0.1')}"
    influx = InfluxConfig(url=influxdb1.url, protocol="v1", database=db)
    settings = base.model_copy(update={"influxdb": influx})
    client = make_client(influx)
    client.prepare()
    try:
        for _, lines in simulated_days(settings, date(2026, 9, 7), 7, 3, {}):
            doors = [line for line in lines if line.startswith("door_traffic")]
            if doors:
                client.write("\n".join(doors))
        plan = PlanningService.from_settings(settings).staffing_plan(date(2026, 9, 16))
    finally:
        client.close()
        influxdb1.drop_database(db)
    print(render_plan(plan))
    assert plan.arrivals_source == "doors"
    (group,) = plan.groups
    assert (group.group.id, group.group.counters) == ("all", 23)
    assert group.forecast_basis == "same weekday" and group.reference_days == (date(2026, 9, 9),)
    total = sum(h.arrivals for h in group.hours)
    assert 300 < total < 700  # door entries / 1.6 per ticket holder


def test_api_answers_503_when_the_planning_history_is_away(
    stored: tuple[Settings, SeedReport],
) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from gateway.settings import Role
    from tests.api_support import bearer, build_app

    settings, _ = stored
    away = settings.model_copy(
        update={"influxdb": settings.influxdb.model_copy(update={"url": "http://127.0.0.1:9"})}
    )
    app, _, _ = build_app(site=away)
    app.state.planning = PlanningService.from_settings(away)
    with TestClient(app) as client:
        for path in ("/api/v1/planning/staffing", "/api/v1/planning/backtest?weeks=1"):
            r = client.get(path, headers=bearer(Role.MANAGER))
            assert r.status_code == 503, path
            assert r.json()["error"]["code"] == "history_unavailable"
            assert "did not answer" in r.json()["error"]["message"]
            assert "127.0.0.1:9" not in r.text  # the database's address stays inside
