"""The control-room page in a real headless Chromium (Debian's), driven by Playwright.

Log in, watch a zone change colour as its count rises, see the alert appear,
acknowledge it, reload and see it still acknowledged; a critical alert raises
the banner; a dead stream marks the page. Screenshots go to artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from api.history import HistoryReader
from gateway.live import Severity, ZoneClimateState
from gateway.observations import DeviceHealth, DeviceKind, PeopleCount
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.points import to_lines, zone_geometries
from gateway.settings import InfluxConfig, Role
from tests.api_support import (
    TOKENS,
    LiveServer,
    api_config,
    build_app,
    chromium,
    demo_settings,
    screenshot,
)
from tests.memory_floor import MemoryFloor

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api")
CALM, BUSY, CROWDED = "rgb(46, 125, 50)", "rgb(249, 168, 37)", "rgb(239, 108, 0)"
ZONE = 'g.zone[data-zone="f2-waiting"]'


@pytest.fixture
def server(influxdb1: InfluxDB1Server, influxdb1_database: str) -> Iterator[LiveServer]:
    site = demo_settings()
    # Six hours of presence counts of the waiting hall, for the zone's history chart.
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    zones = zone_geometries(site.zones)
    lines = [
        line
        for i in range(0, 360, 5)
        for line in to_lines(
            site.site.id,
            PeopleCount("f2-waiting", "pc-f2-waiting", 20 + i // 3, now - timedelta(minutes=i)),
            zones,
        )
    ]
    influxdb1.create_database(influxdb1_database)
    r = httpx.post(
        f"{influxdb1.url}/write",
        params={"db": influxdb1_database},
        content="\n".join(lines),
        timeout=10,
    )
    assert r.status_code == 204, r.text
    history = HistoryReader(
        InfluxConfig(url=influxdb1.url, protocol="v1", database=influxdb1_database), site.site.id
    )
    config = api_config(stream_keepalive_s=1)
    floor = MemoryFloor(site)
    app, _, _ = build_app(floor, site=site, history=history, config=config)
    live = LiveServer(app, config, floor).start()
    try:
        yield live
    finally:
        if live._thread.is_alive():
            live.stop()


@pytest.fixture
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


def shot(page: object, name: str) -> Path:
    return screenshot(page, f"control-room-{name}")


def wait_fill(page: object, colour: str) -> None:
    """Wait (bounded) until the zone's computed fill is ``colour`` (the fill is animated)."""
    page.wait_for_function(  # type: ignore[attr-defined]
        "([sel, want]) => getComputedStyle(document.querySelector(sel)).fill === want",
        arg=[f"{ZONE} polygon", colour],
        timeout=5000,
    )


def test_control_room_live_alert_acknowledge_reload(server: LiveServer, browser: object) -> None:
    expect = playwright_api.expect
    floor = server.floor
    server.call(floor.set_count, "f2-waiting", 20)
    server.call(
        floor.set_device,
        DeviceHealth(
            "cam-f2-waiting", DeviceKind.CAMERA, True, floor.zones()[0].updated_at, fps=2.0
        ),
    )
    server.call(
        floor.set_device,
        DeviceHealth(
            "pc-f2-counters", DeviceKind.SENSOR, False, floor.zones()[0].updated_at, detail="stale"
        ),
    )
    server.call(
        floor.set_device,
        DeviceHealth(
            "cl-f1-canteen", DeviceKind.SENSOR, True, floor.zones()[0].updated_at, battery_pct=94
        ),
    )
    server.call(
        floor.set_climate,
        "f2-waiting",
        ZoneClimateState(
            temperature_c=28.9,
            humidity_pct=66,
            co2_ppm=1150,
            temperature_status="high",
            humidity_status="ok",
            co2_status="high",
        ),
    )
    context = browser.new_context(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    external: list[str] = []
    page.on(
        "request", lambda r: external.append(r.url) if not r.url.startswith(server.url) else None
    )

    page.goto(server.url + "/")
    expect(page.locator("#login-title")).to_have_text("Phòng điều hành")
    page.fill("#token", "not-a-valid-token-at-all")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Mã truy cập không đúng.")
    page.fill("#token", TOKENS[Role.SUPERVISOR])
    page.click("#login-form button[type=submit]")
    expect(page.locator("#stream-status")).to_have_class(re.compile(r"\blive\b"))
    expect(page.locator(ZONE)).to_have_attribute("data-level", "calm")
    expect(page.locator(f"{ZONE} .zone-count")).to_have_text("20/180")
    wait_fill(page, CALM)
    expect(page.locator('#climate tr[data-zone="f2-waiting"] td.high')).to_have_count(2)
    expect(page.locator('li.device.offline[data-device="pc-f2-counters"]')).to_be_visible()
    expect(page.locator('li.device[data-device="cl-f1-canteen"]')).to_contain_text("pin 94%")
    # Vietnamese figures: a decimal comma, the role in Vietnamese.
    temperature = page.locator('#climate tr[data-zone="f2-waiting"] td').first
    expect(temperature).to_have_text("28,9 °C")
    expect(page.locator('li.device[data-device="cam-f2-waiting"]')).to_contain_text("2,0 hình/giây")
    expect(page.locator("#user")).to_have_text("Nguyễn Văn An (Giám sát)")
    shot(page, "1-calm")

    server.call(floor.set_count, "f2-waiting", 100)  # 56 % of 180: busy
    expect(page.locator(ZONE)).to_have_attribute("data-level", "busy")
    expect(page.locator(f"{ZONE} .zone-count")).to_have_text("100/180")
    wait_fill(page, BUSY)

    server.call(floor.set_count, "f2-waiting", 160)  # 89 %: crowded, the alert is raised
    expect(page.locator(ZONE)).to_have_attribute("data-level", "crowded")
    wait_fill(page, CROWDED)
    item = page.locator('li.alert[data-alert="crowd_level:f2-waiting"]')
    expect(item).to_have_attribute("data-state", "active")
    expect(item.locator(".alert-text")).to_have_text("Khu chờ (118 ghế): mật độ đông (160 người)")
    shot(page, "2-crowded-alert")

    page.click(ZONE)  # the zone's detail: the sources behind its figure
    detail = page.locator("#zone-detail")
    expect(detail).to_be_visible()
    expect(detail.locator("#zone-title")).to_have_text("Khu chờ (118 ghế)")
    expect(detail.locator("#zone-method")).to_contain_text("Cách tính: cảm biến hiện diện")
    expect(detail.locator("#zone-sources")).to_contain_text(
        "pc-f2-waiting (cảm biến hiện diện): 160"
    )
    expect(detail.locator("#zone-history svg.spark polyline")).to_have_count(1)  # from InfluxDB
    points = detail.locator("#zone-history polyline").get_attribute("points") or ""
    assert len(points.split()) >= 20  # 15-minute buckets over 6 hours
    shot(page, "2b-zone-detail")
    page.click("#zone-close")
    expect(detail).to_be_hidden()

    item.locator("input.note").fill("Mở thêm quầy 24, 25")
    item.locator("button.do-acknowledge").click()
    expect(item).to_have_attribute("data-state", "acknowledged")
    expect(item.locator(".alert-state")).to_have_text("Đã xác nhận")

    page.reload()
    item = page.locator('li.alert[data-alert="crowd_level:f2-waiting"]')
    expect(item).to_have_attribute("data-state", "acknowledged")  # no second login needed
    # The note as written; the API's English audit stamp only in the tooltip.
    expect(item.locator(".alert-note")).to_have_text("Mở thêm quầy 24, 25")
    expect(item.locator(".alert-note")).to_have_attribute(
        "title", re.compile(r"^Mở thêm quầy 24, 25 \[acknowledged by Nguyễn Văn An")
    )
    expect(item.locator(".alert-by")).to_contain_text("Nguyễn Văn An")
    expect(page.locator(ZONE)).to_have_attribute("data-level", "crowded")

    server.call(
        lambda: floor.raise_alert(
            "camera_tampered:cam-f2-waiting",
            rule="camera_tampered",
            severity=Severity.CRITICAL,
            message="camera covered",
            device_id="cam-f2-waiting",
        )
    )
    banner = page.locator("#critical-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("CẢNH BÁO KHẨN CẤP")
    expect(banner).to_contain_text("Khu chờ – camera 1")
    shot(page, "3-critical-banner")

    server.call(
        lambda: floor.raise_alert(
            "waiting_time:land",
            rule="waiting_time",
            severity=Severity.WARNING,
            message="Đất đai: 23 waiting at 4 counters, expected wait 19 min",
            value=1140.0,
            threshold=900.0,
            subject="land",
        )
    )
    waiting = page.locator('li.alert[data-alert="waiting_time:land"] .alert-text')
    expect(waiting).to_have_text("Đất đai: thời gian chờ dự kiến 19 phút, vượt mục tiêu 15 phút")

    page.click(".lang-toggle >> visible=true")
    expect(page.locator("#critical-banner")).to_contain_text("CRITICAL ALERT")
    expect(item.locator(".alert-state")).to_have_text("Acknowledged")
    expect(temperature).to_have_text("28.9 °C")  # English figures: a decimal point
    expect(page.locator("#user")).to_have_text("Nguyễn Văn An (Supervisor)")
    expect(waiting).to_have_text("Đất đai: expected wait 19 min, over the 15 min target")
    page.click("#critical-seen")
    expect(banner).to_be_hidden()
    page.set_viewport_size({"width": 1366, "height": 768})
    shot(page, "4-laptop-english")

    wall = browser.new_context(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
    viewer = wall.new_page()
    viewer.goto(server.url + "/")
    viewer.fill("#token", TOKENS[Role.VIEWER])
    viewer.click("#login-form button[type=submit]")
    seen = viewer.locator('li.alert[data-alert="crowd_level:f2-waiting"]')
    expect(seen).to_have_attribute("data-state", "acknowledged")
    expect(seen.locator(".alert-actions")).to_be_hidden()  # a viewer has no buttons
    expect(viewer.locator("#user")).to_have_text("Lê Thị Xem (Theo dõi)")
    wall.close()

    server.stop()  # the stream dies: the page must say so
    expect(page.locator("#stream-status")).to_have_class(re.compile(r"\bdown\b"))
    expect(page.locator("#stale-overlay")).to_be_visible()
    page.set_viewport_size({"width": 1920, "height": 1080})
    shot(page, "5-stream-down")
    context.close()

    assert external == [], f"the page fetched something not local: {external}"
    assert not [
        e for e in errors if "ERR_CONNECTION_REFUSED" not in e and "Failed to load" not in e
    ], errors
