"""Counters actually open on the control-room page, in a real headless Chromium.

The live side: the in-memory floor's counter seats (``MemoryFloor.set_seats``)
shown in the counters panel, refreshed while the page is open, and a zone
known only by binary presence shown as occupied, not as a number. The planning
side: a week of simulated history and the day's ``counter_seat`` points in a
real InfluxDB 1.x, read by a real ``PlanningService``: the staffing table
shows per hour the counters planned against those with somebody behind them.
Page and API clocks are fixed at Monday 21 September 2026, 10:00 site time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.process import free_port
from gateway.planning.seed import seed_history
from gateway.planning.service import PlanningService
from gateway.seats import SeatState, SeatStatus
from gateway.settings import InfluxConfig, Role
from tests.api_support import (
    TOKENS,
    LiveServer,
    api_config,
    bearer,
    build_app,
    chromium,
    demo_settings,
    screenshot,
)
from tests.memory_floor import MemoryFloor

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 9, 21, 10, 0, tzinfo=TZ)  # a Monday, the center open
TODAY = "2026-09-21"


def seat_lines() -> str:
    """Today's counter_seat points, one a minute, as the engine writes them.

    civil: counter 5 open 08:00-10:00; counter 6 open 08:00-09:00, closed after;
    counter 7 closed 08:00-09:30, open 09:30-10:00 -> 2.0 at 8h, 1.5 at 9h.
    """
    lines = []
    start = datetime(2026, 9, 21, 8, 0, tzinfo=TZ)
    for minute in range(120):
        at = start + timedelta(minutes=minute)
        opened = {5: True, 6: minute < 60, 7: minute >= 90}
        for counter, is_open in opened.items():
            state = "open" if is_open else "closed"
            lines.append(
                f"counter_seat,counter={counter},service=civil,site=demo-hcc"
                f' state="{state}",open={int(is_open)}i {int(at.timestamp())}'
            )
    return "\n".join(lines)


@pytest.fixture(scope="module")
def server(influxdb1: InfluxDB1Server) -> Iterator[LiveServer]:
    db = f"seats_page_{free_port('127.0.0.1')}"
    influx = InfluxConfig(url=influxdb1.url, protocol="v1", database=db)
    site = demo_settings().model_copy(update={"influxdb": influx})
    seed_history(site, influx, date(2026, 9, 14), 7, seed=7)
    r = httpx.post(
        f"{influxdb1.url}/write", params={"db": db, "precision": "s"}, content=seat_lines()
    )
    assert r.status_code == 204, r.text
    config = api_config(stream_keepalive_s=1)
    floor = MemoryFloor(site, clock=lambda: NOW)
    app, _, _ = build_app(floor, site=site, config=config, clock=lambda: NOW)
    app.state.planning = PlanningService.from_settings(site)
    live = LiveServer(app, config, floor).start()
    at = NOW.astimezone(TZ)
    live.call(
        floor.set_seats,
        [
            SeatState(5, "civil", SeatStatus.OPEN, at - timedelta(hours=2), True, at),
            SeatState(6, "civil", SeatStatus.CLOSED, at - timedelta(hours=1), False, at),
            SeatState(7, "civil", SeatStatus.UNKNOWN, at, None, None),
        ],
    )
    live.call(floor.set_count, "f2-waiting", 0, "binary")
    live.call(floor.set_presence, "f2-waiting", "occupied")
    try:
        yield live
    finally:
        live.stop()
        if influxdb1.running:
            influxdb1.drop_database(db)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def login(browser: Any, server: LiveServer, role: Role) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="vi-VN")
    page = context.new_page()
    page.clock.set_fixed_time(NOW)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/")
    page.fill("#token", TOKENS[role])
    page.click("#login-form button[type=submit]")
    playwright_api.expect(page.locator("#stream-status")).to_have_class(re.compile(r"\blive\b"))
    return context, page, errors


def test_the_live_page_shows_which_counters_are_staffed(server: LiveServer, browser: Any) -> None:
    expect = playwright_api.expect
    context, page, errors = login(browser, server, Role.SUPERVISOR)
    panel = page.locator("#counters-panel")
    expect(panel).to_be_visible()
    expect(page.locator("#counters-summary")).to_have_text("1/3 đang mở")
    expect(panel.locator('li.seat[data-counter="5"]')).to_have_class(re.compile(r"\bopen\b"))
    expect(panel.locator('li.seat[data-counter="5"]')).to_contain_text(
        "Quầy 5 — đang mở · từ 08:00"
    )
    expect(panel.locator('li.seat[data-counter="6"]')).to_contain_text("Quầy 6 — đóng")
    expect(panel.locator('li.seat[data-counter="7"]')).to_contain_text("Quầy 7 — không rõ")
    # a zone known only by binary presence: occupied, no number of people
    canteen = page.locator('g.zone[data-zone="f2-waiting"]')
    expect(canteen.locator(".zone-level")).to_have_text("Có người")
    expect(canteen.locator(".zone-count")).to_have_text(re.compile(r"^–/"))
    screenshot(page, "control-room-seats-1-live")

    # a clerk sits down at counter 7: the panel follows within its refresh
    at = NOW
    floor = server.floor
    server.call(
        floor.set_seats,
        [
            SeatState(5, "civil", SeatStatus.OPEN, at - timedelta(hours=2), True, at),
            SeatState(6, "civil", SeatStatus.CLOSED, at - timedelta(hours=1), False, at),
            SeatState(7, "civil", SeatStatus.OPEN, at, True, at),
        ],
    )
    expect(page.locator("#counters-summary")).to_have_text("2/3 đang mở", timeout=15000)
    page.click(".lang-toggle >> visible=true")
    expect(panel.locator('li.seat[data-counter="7"]')).to_contain_text("Counter 7 — open")
    context.close()
    assert errors == []


def test_the_staffing_table_shows_planned_against_staffed(server: LiveServer, browser: Any) -> None:
    expect = playwright_api.expect
    reply = httpx.get(
        f"{server.url}/api/v1/planning/staffing",
        params={"date": TODAY},
        headers=bearer(Role.MANAGER),
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    civil = next(g for g in reply.json()["groups"] if g["id"] == "civil")
    by_hour = {h["hour"]: h for h in civil["hours"]}
    assert by_hour[8]["counters_open_seats"] == pytest.approx(2.0)
    assert by_hour[9]["counters_open_seats"] == pytest.approx(1.5)
    assert by_hour[14]["counters_open_seats"] is None  # not lived yet: not known

    context, page, errors = login(browser, server, Role.MANAGER)
    page.click('#views .view-tab[data-view="staffing"]')
    view = page.locator("#staffing-view")
    page.fill("#staffing-date", TODAY)
    page.dispatch_event("#staffing-date", "change")
    group = view.locator('section.plan-group[data-group="civil"]')
    expect(group.locator("tbody th", has_text="Quầy có người (cảm biến ghế)")).to_have_count(1)
    expect(group.locator("tbody th", has_text="Quầy theo kế hoạch")).to_have_count(1)
    seats_row = group.locator("tbody tr", has_text="Quầy có người")
    expect(seats_row.locator('td[data-hour="8"]')).to_have_text("2,0")
    expect(seats_row.locator('td[data-hour="9"]')).to_have_text("1,5")
    expect(seats_row.locator('td[data-hour="14"]')).to_have_text("–")
    # the seeded week plans 3 civil counters at 8h and 2 at 9h: both hours short of the plan
    assert (by_hour[8]["counters_staffed"], by_hour[9]["counters_staffed"]) == (3, 2)
    for hour in (8, 9):
        cell = seats_row.locator(f'td[data-hour="{hour}"]')
        expect(cell).to_have_class(re.compile(r"\bhigh\b"))
    planned_row = group.locator("tbody tr", has_text="Quầy theo kế hoạch")
    expect(planned_row.locator('td[data-hour="9"]')).to_have_text("2")
    # a group without seat sensors shows no such rows
    land = view.locator('section.plan-group[data-group="land"]')
    expect(land.locator("tbody th", has_text="Quầy có người")).to_have_count(0)
    screenshot(page, "control-room-seats-2-staffing")
    context.close()
    assert errors == []
