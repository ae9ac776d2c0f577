"""The control room's planning views in a real headless Chromium, driven by Playwright.

Two weeks of simulated history in a real InfluxDB 1.x (``seed_history``), a real
``PlanningService`` over it, the in-memory floor for the live zones. The page's
clock and the API's clock are both fixed at Monday 21 September 2026, 10:00 site
time, so "tomorrow" is Tuesday 22 September. A manager gets the staffing plan
(and no HVAC tab), facility staff the HVAC advice (and no staffing tab), a
supervisor neither. Screenshots go to artifacts/control-room-plan-*.png.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from gateway.live import ZoneClimateState
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.process import free_port
from gateway.planning.seed import seed_history
from gateway.planning.service import PlanningService
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
LUNCH = datetime(2026, 9, 21, 12, 0, tzinfo=TZ)  # closed 11:30-13:30
FIRST = date(2026, 9, 7)  # two weeks of history before it, no holiday in them
TOMORROW = "2026-09-22"


@pytest.fixture(scope="module")
def server(influxdb1: InfluxDB1Server) -> Iterator[LiveServer]:
    db = f"plan_page_{free_port('127.0.0.1')}"
    influx = InfluxConfig(url=influxdb1.url, protocol="v1", database=db)
    site = demo_settings().model_copy(update={"influxdb": influx})
    seed_history(site, influx, FIRST, 14, seed=7)
    config = api_config(stream_keepalive_s=1)
    clock = [NOW]  # the API's clock: a test may move it
    floor = MemoryFloor(site, clock=lambda: clock[0])
    app, _, _ = build_app(floor, site=site, config=config, clock=lambda: clock[0])
    app.state.test_clock = clock
    app.state.planning = PlanningService.from_settings(site)
    live = LiveServer(app, config, floor).start()
    # The waiting hall filling up, stuffy and warm; the canteen empty.
    live.call(floor.set_count, "f2-waiting", 120)
    climate = ZoneClimateState(
        temperature_c=28.9,
        humidity_pct=66,
        co2_ppm=1250,
        temperature_status="high",
        humidity_status="ok",
        co2_status="high",
    )
    live.call(floor.set_climate, "f2-waiting", climate)
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


class Watched:
    """A page logged in with one role; console errors and non-local requests recorded."""

    def __init__(self, browser: Any, server: LiveServer, role: Role, width: int, height: int):
        self.context = browser.new_context(
            viewport={"width": width, "height": height},
            accept_downloads=True,
            locale="vi-VN",
        )
        self.page = self.context.new_page()
        self.page.clock.set_fixed_time(NOW)
        self.errors: list[str] = []
        self.external: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on(
            "request",
            lambda r: None if r.url.startswith(server.url) else self.external.append(r.url),
        )
        self.page.goto(server.url + "/")
        self.page.fill("#token", TOKENS[role])
        self.page.click("#login-form button[type=submit]")
        playwright_api.expect(self.page.locator("#stream-status")).to_have_class(
            re.compile(r"\blive\b")
        )
        # Logged in (the first /session answered 401): from now on no request may fail.
        self.page.on(
            "response",
            lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        # A failed request is logged as well; the response listener has it already.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def close(self, expected_errors: int = 0) -> None:
        self.context.close()
        assert self.external == [], f"the page fetched something not local: {self.external}"
        assert len(self.errors) == expected_errors, self.errors


def shot(page: Any, name: str) -> Path:
    return screenshot(page, f"control-room-plan-{name}")


def tabs(page: Any) -> list[str]:
    return [t.get_attribute("data-view") for t in page.locator("#views .view-tab").all()]


def test_manager_sees_tomorrows_staffing_plan(server: LiveServer, browser: Any) -> None:
    expect = playwright_api.expect
    reply = httpx.get(
        f"{server.url}/api/v1/planning/staffing",
        params={"date": TOMORROW},
        headers=bearer(Role.MANAGER),
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    plan = reply.json()
    short = [(g["id"], h["hour"]) for g in plan["groups"] for h in g["hours"] if h["short"]]
    assert short, "the seeded history should make some hour short of counters"

    w = Watched(browser, server, Role.MANAGER, 1920, 1080)
    page = w.page
    assert tabs(page) == ["floor", "staffing"]  # no HVAC tab for a manager
    expect(page.locator("#room")).to_be_visible()  # the floor stays the default screen
    expect(page.locator("#staffing-view")).to_be_hidden()
    page.click('#views .view-tab[data-view="staffing"]')
    expect(page.locator("#room")).to_be_hidden()
    view = page.locator("#staffing-view")
    expect(view.locator("#staffing-date")).to_have_value(TOMORROW)
    expect(view.locator("section.plan-group")).to_have_count(len(plan["groups"]))
    expect(page.locator("#user")).to_have_text("Trần Quản Lý (Quản lý)")  # the role in Vietnamese
    # The date as Vietnamese administrative texts write it.
    expect(view.locator("#staffing-meta")).to_contain_text("Thứ Ba, ngày 22 tháng 9 năm 2026")
    land = view.locator('section.plan-group[data-group="land"]')
    expect(land.locator("h3")).to_contain_text("Đất đai")
    assert plan["groups"][0]["id"] == "land"
    nine = next(h for h in plan["groups"][0]["hours"] if h["hour"] == 9)
    counters = land.locator('tbody tr:nth-child(2) td[data-hour="9"]')
    expect(counters).to_have_text(f"{nine['counters_needed']}/{nine['counters_available']}")
    expect(view.locator("td.short.counters")).to_have_count(len(short))
    expect(view.locator("#staffing-short")).to_contain_text("Nhu cầu vượt số quầy hiện có")
    shot(page, "1-staffing-1920")

    with page.expect_download() as info:
        page.click("#staffing-csv")
    download = info.value
    assert download.suggested_filename == f"staffing-{TOMORROW}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert {r["date"] for r in rows} == {TOMORROW}
    assert len(rows) == sum(len(g["hours"]) for g in plan["groups"])

    page.fill("#staffing-date", "2026-09-26")  # a Saturday: mornings only
    page.dispatch_event("#staffing-date", "change")
    expect(view.locator("#staffing-meta")).to_contain_text("Thứ Bảy")
    expect(land.locator("thead th")).to_have_count(1 + 5)  # 07:30-11:30: hours 7 to 11
    expect(land.locator('td[data-hour="14"]')).to_have_count(0)
    expect(page.locator("#staffing-csv")).to_have_attribute(
        "href", "/api/v1/planning/staffing.csv?date=2026-09-26"
    )
    page.fill("#staffing-date", TOMORROW)
    page.dispatch_event("#staffing-date", "change")
    expect(view.locator("td.short.counters")).to_have_count(len(short))

    page.click(".lang-toggle >> visible=true")
    expect(page.locator('#views .view-tab[data-view="staffing"]')).to_have_text("Staffing plan")
    expect(view.locator("#staffing-short")).to_contain_text("Demand exceeds the counters")
    page.set_viewport_size({"width": 1366, "height": 768})
    shot(page, "2-staffing-laptop-english")
    page.click('#views .view-tab[data-view="floor"]')
    expect(page.locator("#room")).to_be_visible()
    shot(page, "2b-floor-laptop-with-tabs")
    page.set_viewport_size({"width": 800, "height": 1000})  # a narrow window: panels stack
    page.click('#views .view-tab[data-view="staffing"]')
    shot(page, "2c-staffing-narrow")
    page.click(".lang-toggle >> visible=true")  # back to Vietnamese for the next pages
    w.close()


def test_facility_sees_hvac_advice_and_others_see_no_tabs(server: LiveServer, browser: Any) -> None:
    expect = playwright_api.expect
    w = Watched(browser, server, Role.FACILITY, 1920, 1080)
    page = w.page
    assert tabs(page) == ["floor", "hvac"]  # no staffing tab for facility staff
    expect(page.locator("#room")).to_be_visible()
    page.click('#views .view-tab[data-view="hvac"]')
    view = page.locator("#hvac-view")
    waiting = view.locator('section.hvac-zone[data-zone="f2-waiting"]')
    expect(waiting.locator('li.action.warning[data-code="increase_outdoor_air"]')).to_contain_text(
        "ít nhất 3.000 m³/h"  # TCVN 5687: 25 m3/h for each of 120 people; vi-VN groups by "."
    )
    expect(waiting.locator(".hvac-figures td.v").first).to_have_text("28,9 °C")  # decimal comma
    expect(page.locator("#user")).to_have_text("Phạm Kỹ Thuật (Kỹ thuật tòa nhà)")
    expect(waiting.locator('li.action[data-code="cool"]')).to_be_visible()
    expect(waiting.locator(".hvac-people")).to_contain_text("120 người")
    expect(view.locator("section.hvac-zone").first).to_have_attribute("data-zone", "f2-waiting")
    expect(view.locator("section.hvac-zone")).to_have_count(len(server.floor.zones()))
    # Only the waiting hall has climate figures: every other card says there are none, and
    # none says "nothing to change" (Không cần điều chỉnh) about figures it does not have.
    no_data = view.locator('li.action.no-data[data-code="no_data"]')
    expect(no_data).to_have_count(len(server.floor.zones()) - 1)
    expect(no_data.first).to_have_text(
        "Chưa có số liệu nhiệt độ, độ ẩm, CO₂ của khu vực này: chưa đưa ra được khuyến nghị"
    )
    expect(
        view.locator('section.hvac-zone[data-zone="f2-waiting"] li.action.no-data')
    ).to_have_count(0)
    expect(view.locator("li.action.none")).to_have_count(0)
    expect(view.locator("#hvac-zones")).not_to_contain_text("Không cần điều chỉnh")
    shot(page, "3-hvac-1920")
    more_air = waiting.locator('li.action[data-code="increase_outdoor_air"]')
    # The gateway's own sentence (Vietnamese, for the BMS) is the tooltip.
    expect(more_air).to_have_attribute("title", re.compile("tăng gió tươi lên ít nhất 3.000 m³/h"))
    page.click(".lang-toggle >> visible=true")
    expect(more_air).to_contain_text("raise outdoor air to at least 3,000 m³/h")
    expect(waiting.locator(".hvac-figures td.v").first).to_have_text("28.9 °C")
    expect(view.locator('li.action.no-data[data-code="no_data"]').first).to_have_text(
        "No temperature, humidity or CO₂ figures for this zone: no advice yet"
    )
    page.click(".lang-toggle >> visible=true")
    expect(more_air).to_contain_text("tăng gió tươi lên ít nhất 3.000 m³/h")

    # A zone with a thermometer only: nothing to change, on the figures it has.
    entrance = ZoneClimateState(temperature_c=27.0, temperature_status="ok")
    server.call(server.floor.set_climate, "f1-entrance", entrance)
    page.click('#views .view-tab[data-view="hvac"]')  # showing the view reloads it
    card = view.locator('section.hvac-zone[data-zone="f1-entrance"]')
    expect(card.locator("li.action.none")).to_have_text(
        "✔ Không cần điều chỉnh theo số liệu hiện có (thiếu số liệu độ ẩm, CO₂)"
    )
    expect(card.locator("li.action.no-data")).to_have_count(0)
    expect(card.locator(".hvac-figures td.v").first).to_have_text("27,0 °C")

    # Lunch break: the empty zones get a set-back and the pre-cooling time for 13:30.
    server.app.state.test_clock[0] = LUNCH
    try:
        page.clock.set_fixed_time(LUNCH)
        page.click('#views .view-tab[data-view="hvac"]')  # showing the view reloads it
        canteen = view.locator('section.hvac-zone[data-zone="f1-canteen"]')
        expect(canteen.locator(".chip")).to_have_text("ngoài giờ làm việc")
        expect(canteen.locator('li.action[data-code="setback"]')).to_contain_text("Khu vực trống")
        expect(canteen.locator('li.action[data-code="precool_planned"]')).to_contain_text("13:30")
        page.set_viewport_size({"width": 1366, "height": 768})
        shot(page, "4-hvac-laptop-lunch")
    finally:
        server.app.state.test_clock[0] = NOW
    w.close()

    admin = Watched(browser, server, Role.ADMIN, 1366, 768)
    assert tabs(admin.page) == ["floor", "staffing", "hvac"]
    admin.close()
    for role in (Role.SUPERVISOR, Role.VIEWER):
        other = Watched(browser, server, role, 1366, 768)
        assert tabs(other.page) == []
        expect(other.page.locator("#views")).to_be_hidden()
        expect(other.page.locator("#staffing-view")).to_be_hidden()
        other.close()


def test_without_planning_the_views_say_why(browser: Any) -> None:
    """No PlanningService on this gateway: the API answers 503 and the view says so."""
    expect = playwright_api.expect
    config = api_config(stream_keepalive_s=1)
    floor = MemoryFloor(demo_settings(), clock=lambda: NOW)
    app, _, _ = build_app(floor, config=config, clock=lambda: NOW)
    with LiveServer(app, config, floor) as server:
        w = Watched(browser, server, Role.ADMIN, 1366, 768)
        w.page.click('#views .view-tab[data-view="staffing"]')
        error = w.page.locator("#staffing-error")
        expect(error).to_have_text("Chưa có số liệu để lập kế hoạch.")
        expect(w.page.locator("section.plan-group")).to_have_count(0)
        w.page.click('#views .view-tab[data-view="hvac"]')
        expect(w.page.locator("#hvac-error")).to_have_text("Chưa có số liệu để lập kế hoạch.")
        w.close(expected_errors=2)  # the two 503 answers
        assert all(e.startswith("503 ") for e in w.errors), w.errors
