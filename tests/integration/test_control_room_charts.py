"""The staffing view's charts in a real headless Chromium, driven by Playwright.

Two weeks of simulated history in a real InfluxDB 1.x (``seed_history``), a real
``PlanningService`` over it; the page's and the API's clocks fixed at Monday 21
September 2026, 10:00 site time (see test_control_room_planning.py). The charts are
read back from the SVG the page drew and set against the API's own JSON: one mark
per open hour, each mark's height in proportion to the API's figure. Screenshots go
to artifacts/control-room-charts-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

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
FIRST = date(2026, 9, 7)  # two weeks of history before it
TOMORROW = "2026-09-22"
PAST = "2026-09-18"  # a Friday with its own ticket data: counters actually open that day

# Every mark of one series of a chart: hour, the figure it carries, and its geometry.
MARKS_JS = """(args) => {
  const [chart, series] = args;
  const g = document.querySelector(`#${chart} [data-series="${series}"]`);
  if (!g) return null;
  const base = document.querySelector(`#${chart} .grid line.axis`).y1.baseVal.value;
  return [...g.querySelectorAll("[data-hour]")].map((m) => {
    const a = (name) => m.getAttribute(name);
    return {
      hour: Number(a("data-hour")), value: Number(a("data-value")), tag: m.tagName,
      cls: m.getAttribute("class"), base,
      top: m.tagName === "rect" ? Number(a("y")) : m.tagName === "line" ? Number(a("y1")) : Number(a("cy")),
      height: m.tagName === "rect" ? Number(a("height")) : null,
      x: m.tagName === "rect" ? Number(a("x")) + Number(a("width")) / 2
        : m.tagName === "line" ? (Number(a("x1")) + Number(a("x2"))) / 2 : Number(a("cx")),
      tip: m.querySelector("title").textContent,
    };
  });
}"""


@pytest.fixture(scope="module")
def server(influxdb1: InfluxDB1Server) -> Iterator[LiveServer]:
    db = f"plan_charts_{free_port('127.0.0.1')}"
    influx = InfluxConfig(url=influxdb1.url, protocol="v1", database=db)
    site = demo_settings().model_copy(update={"influxdb": influx})
    seed_history(site, influx, FIRST, 14, seed=7)
    config = api_config(stream_keepalive_s=1)
    floor = MemoryFloor(site, clock=lambda: NOW)
    app, _, _ = build_app(floor, site=site, config=config, clock=lambda: NOW)
    app.state.planning = PlanningService.from_settings(site)
    live = LiveServer(app, config, floor).start()
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


def get(server: LiveServer, path: str, **params: Any) -> Any:
    reply = httpx.get(
        f"{server.url}{path}", params=params, headers=bearer(Role.MANAGER), timeout=60
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def center_hours(plan: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The whole center per open hour, summed from the API's groups."""
    out: dict[int, dict[str, Any]] = {}
    for g in plan["groups"]:
        for h in g["hours"]:
            t = out.setdefault(
                h["hour"], {"needed": 0, "available": 0, "short": False, "open": 0.0}
            )
            t["needed"] += h["counters_needed"]
            t["available"] += h["counters_available"]
            t["short"] = t["short"] or h["short"]
            actual = h["counters_open_actual"]
            t["open"] = None if t["open"] is None or actual is None else t["open"] + actual
    return out


def assert_in_proportion(marks: list[dict[str, Any]], expected: dict[int, float]) -> float:
    """One mark per hour, each carrying the expected figure, drawn to one common scale."""
    assert [m["hour"] for m in marks] == sorted(expected), "one mark per hour, in order"
    scales = []
    for m in marks:
        assert m["value"] == pytest.approx(expected[m["hour"]], abs=1e-9), m
        drawn = m["base"] - m["top"]  # how far above the axis the mark is
        if m["height"] is not None:
            assert m["height"] == pytest.approx(drawn, abs=0.01)
        if m["value"] > 0:
            scales.append(drawn / m["value"])
        else:
            assert drawn == pytest.approx(0, abs=0.01)
    assert scales and max(scales) - min(scales) < 1e-6 * max(scales), scales
    return float(scales[0])


def open_staffing(browser: Any, server: LiveServer, width: int, height: int) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    page = context.new_page()
    page.clock.set_fixed_time(NOW)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # No request leaves the gateway (no CDN, no chart library, no web font).
    page.on(
        "request",
        lambda r: None if r.url.startswith(server.url) else errors.append(f"external {r.url}"),
    )
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.goto(server.url + "/")
    page.fill("#token", TOKENS[Role.MANAGER])
    page.click("#login-form button[type=submit]")
    playwright_api.expect(page.locator("#stream-status")).to_have_class(re.compile(r"\blive\b"))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.click('#views .view-tab[data-view="staffing"]')
    page.errors = errors  # read by the test when it closes
    return page


def test_staffing_charts_draw_the_apis_figures(server: LiveServer, browser: Any) -> None:
    expect = playwright_api.expect
    plan = get(server, "/api/v1/planning/staffing", date=TOMORROW)
    backtest = next(
        r for r in get(server, "/api/v1/planning/backtest", weeks=4) if r["group"] == "all"
    )
    assert backtest["hours"], "the seeded history should give a backtest"
    hours = center_hours(plan)
    assert any(h["short"] for h in hours.values()), "the seeded plan has short hours"

    page = open_staffing(browser, server, 1920, 1080)
    counters = page.locator("svg#chart-counters")
    arrivals = page.locator("svg#chart-arrivals")
    expect(counters).to_be_visible()
    expect(arrivals).to_be_visible()
    # Accessible: an image named by its title, described by its desc, in Vietnamese.
    expect(counters).to_have_attribute("role", "img")
    expect(counters).to_have_attribute(
        "aria-labelledby", "chart-counters-title chart-counters-desc"
    )
    expect(counters.locator("title#chart-counters-title")).to_have_text(
        "Số quầy cần và quầy mở thực tế theo giờ – Toàn trung tâm"
    )
    expect(counters.locator("desc")).to_contain_text("Thứ Ba, ngày 22 tháng 9 năm 2026")
    peak = max(hours.values(), key=lambda h: h["needed"])["needed"]
    expect(counters.locator("desc")).to_contain_text(f"cần nhiều nhất {peak} quầy")
    expect(arrivals.locator("title#chart-arrivals-title")).to_have_text(
        "Lượt đến theo giờ: dự báo và thực tế"
    )
    # The tables stay below the charts.
    charts_box = page.locator("#staffing-charts").bounding_box()
    tables_box = page.locator("#staffing-groups").bounding_box()
    assert charts_box and tables_box and charts_box["y"] + charts_box["height"] <= tables_box["y"]
    expect(page.locator("section.plan-group")).to_have_count(len(plan["groups"]))

    # Counters: a bar per open hour (needed), a level per hour (available), red where short.
    needed = page.evaluate(MARKS_JS, ["chart-counters", "needed"])
    k = assert_in_proportion(needed, {h: v["needed"] for h, v in hours.items()})
    red = {m["hour"] for m in needed if "short" in m["cls"].split()}
    assert red == {h for h, v in hours.items() if v["short"]}
    have = page.evaluate(MARKS_JS, ["chart-counters", "available"])
    assert assert_in_proportion(have, {h: v["available"] for h, v in hours.items()}) == (
        pytest.approx(k)
    )
    assert [m["x"] for m in have] == pytest.approx([m["x"] for m in needed])
    nine = next(m for m in needed if m["hour"] == 9)
    assert nine["tip"].startswith(f"09h: cần {hours[9]['needed']} quầy, có {hours[9]['available']}")
    # Tomorrow's actually-open counters come from the reference days' ticket data.
    opened = {h: v["open"] for h, v in hours.items() if v["open"] is not None}
    assert opened, "the seeded tickets give counters actually open"
    points = page.evaluate(MARKS_JS, ["chart-counters", "open"])
    assert assert_in_proportion(points, opened) == pytest.approx(k)

    # Arrivals: the forecast (bars) against what happened (points), per hour of the backtest.
    forecast = page.evaluate(MARKS_JS, ["chart-arrivals", "forecast"])
    fk = assert_in_proportion(
        forecast, {h["hour"]: h["mean_actual"] + h["bias"] for h in backtest["hours"]}
    )
    actual = page.evaluate(MARKS_JS, ["chart-arrivals", "actual"])
    assert assert_in_proportion(
        actual, {h["hour"]: h["mean_actual"] for h in backtest["hours"]}
    ) == pytest.approx(fk)
    card = page.locator('[data-chart="arrivals"] .card-meta')
    expect(card).to_contain_text(f"trung bình {len(backtest['days'])} ngày làm việc gần nhất")
    expect(card).to_contain_text(f"sai số dự báo {round(backtest['wape'] * 100)}% (WAPE)")
    # Figures written the Vietnamese way: a decimal comma in the tooltips.
    assert re.search(r"thực tế \d+,\d lượt", actual[0]["tip"]), actual[0]["tip"]

    legend = page.locator("#chart-counters .legend text")
    expect(legend).to_have_text(
        ["Số quầy cần", "Số quầy có", "Quầy mở thực tế", "Có nhóm thiếu quầy"]
    )
    expect(page.locator("#chart-arrivals .legend text")).to_have_text(["Dự báo", "Thực tế"])
    screenshot(page, "control-room-charts-1-1920")

    # One service group: its own counters, red exactly where the API says it is short.
    group = max(plan["groups"], key=lambda g: sum(h["short"] for h in g["hours"]))
    page.select_option("#chart-group", group["id"])
    expect(counters.locator("title#chart-counters-title")).to_have_text(
        f"Số quầy cần và quầy mở thực tế theo giờ – {group['name']}"
    )
    expect(counters.locator("desc")).to_contain_text(f"có {group['counters']} quầy")
    by_hour = {h["hour"]: h for h in group["hours"]}
    needed = page.evaluate(MARKS_JS, ["chart-counters", "needed"])
    gk = assert_in_proportion(needed, {h: v["counters_needed"] for h, v in by_hour.items()})
    red = {m["hour"] for m in needed if "short" in m["cls"].split()}
    assert red == {h for h, v in by_hour.items() if v["short"]} != set()
    have = page.evaluate(MARKS_JS, ["chart-counters", "available"])
    assert assert_in_proportion(
        have, {h: v["counters_available"] for h, v in by_hour.items()}
    ) == pytest.approx(gk)
    points = page.evaluate(MARKS_JS, ["chart-counters", "open"])
    expected_open = {
        h: v["counters_open_actual"]
        for h, v in by_hour.items()
        if v["counters_open_actual"] is not None
    }
    assert assert_in_proportion(points, expected_open) == pytest.approx(gk)
    expect(page.locator("#chart-counters .legend text").last).to_have_text("Thiếu quầy")
    screenshot(page, "control-room-charts-1b-group")
    page.select_option("#chart-group", "all")
    expect(counters.locator("title#chart-counters-title")).to_have_text(
        "Số quầy cần và quầy mở thực tế theo giờ – Toàn trung tâm"
    )

    page.click(".lang-toggle >> visible=true")
    expect(legend).to_have_text(
        ["Counters needed", "Counters available", "Actually open", "A group short of counters"]
    )
    expect(page.locator("#chart-arrivals .legend text")).to_have_text(["Forecast", "Actual"])
    expect(counters.locator("title#chart-counters-title")).to_have_text(
        "Counters needed and actually open, by hour – Whole center"
    )
    expect(counters.locator("desc")).to_contain_text(re.compile(r"Tuesday,? 22 September 2026"))
    tip = page.evaluate(MARKS_JS, ["chart-arrivals", "actual"])[0]["tip"]
    assert re.search(r"\d+\.\d actual", tip), tip  # en-GB: a decimal point
    # Still the API's figures after the redraw.
    assert_in_proportion(
        page.evaluate(MARKS_JS, ["chart-counters", "needed"]),
        {h: v["needed"] for h, v in hours.items()},
    )

    # Responsive: a laptop and a narrow window draw the charts to their new width.
    page.set_viewport_size({"width": 1366, "height": 768})
    screenshot(page, "control-room-charts-2-laptop-english")
    page.set_viewport_size({"width": 800, "height": 1000})
    # Redrawn (a ResizeObserver) to the width of its box, narrower than the window.
    page.wait_for_function(
        """() => {
          const s = document.querySelector("#chart-counters");
          const b = document.querySelector('[data-chart="counters"] .chart-box');
          return s && b.clientWidth < 800 && Math.abs(s.viewBox.baseVal.width - b.clientWidth) <= 1;
        }"""
    )
    assert_in_proportion(
        page.evaluate(MARKS_JS, ["chart-counters", "needed"]),
        {h: v["needed"] for h, v in hours.items()},
    )
    screenshot(page, "control-room-charts-3-narrow")
    page.click(".lang-toggle >> visible=true")  # back to Vietnamese for the next pages
    assert page.errors == [], page.errors
    page.context.close()


def test_a_past_day_charts_the_counters_open_that_day(server: LiveServer, browser: Any) -> None:
    expect = playwright_api.expect
    plan = get(server, "/api/v1/planning/staffing", date=PAST)
    hours = center_hours(plan)
    page = open_staffing(browser, server, 1366, 768)
    expect(page.locator("svg#chart-counters")).to_be_visible()
    page.fill("#staffing-date", PAST)
    page.dispatch_event("#staffing-date", "change")
    desc = page.locator("#chart-counters desc")
    expect(desc).to_contain_text("Thứ Sáu, ngày 18 tháng 9 năm 2026")
    needed = page.evaluate(MARKS_JS, ["chart-counters", "needed"])
    k = assert_in_proportion(needed, {h: v["needed"] for h, v in hours.items()})
    opened = {h: v["open"] for h, v in hours.items() if v["open"] is not None}
    assert opened
    points = page.evaluate(MARKS_JS, ["chart-counters", "open"])
    assert assert_in_proportion(points, opened) == pytest.approx(k)
    screenshot(page, "control-room-charts-4-past-day")

    page.fill("#staffing-date", "2026-09-27")  # a Sunday: closed, no charts
    page.dispatch_event("#staffing-date", "change")
    expect(page.locator("#staffing-groups")).to_contain_text("không làm việc")
    expect(page.locator("#staffing-charts svg")).to_have_count(0)
    assert page.errors == [], page.errors
    page.context.close()
