"""The page says what it knows, in a real headless Chromium.

A zone with no usable source is drawn "no data" (grey, dashed), never a calm
green 0; a zone whose figure is only its waiting tickets (a lower bound) shows
"≥ n" and no level below the one the bound proves; beside a capacity alert the
zone never claims to be calm. Screenshots go to artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gateway.live import Severity
from gateway.settings import Role
from tests.api_support import (
    TOKENS,
    LiveServer,
    api_config,
    bearer,
    build_app,
    chromium,
    screenshot,
)
from tests.memory_floor import MemoryFloor

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api")
ZONE = 'g.zone[data-zone="f2-waiting"]'
CALM = "rgb(46, 125, 50)"
UNKNOWN = "rgb(74, 85, 96)"


@pytest.fixture
def server() -> Iterator[LiveServer]:
    config = api_config(stream_keepalive_s=1)
    app, floor, _ = build_app(config=config)
    live = LiveServer(app, config, floor).start()
    try:
        yield live
    finally:
        if live._thread.is_alive():
            live.stop()


def fill_of(page: object, colour: str) -> None:
    page.wait_for_function(  # type: ignore[attr-defined]
        "([sel, want]) => getComputedStyle(document.querySelector(sel)).fill === want",
        arg=[f"{ZONE} polygon", colour],
        timeout=5000,
    )


def test_unknown_and_lower_bound_zones_beside_a_capacity_alert(server: LiveServer) -> None:
    expect = playwright_api.expect
    floor: MemoryFloor = server.floor
    server.call(floor.set_count, "f2-waiting", 0, "none")
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url + "/")
        page.fill("#token", TOKENS[Role.SUPERVISOR])
        page.click("#login-form button[type=submit]")
        expect(page.locator("#stream-status")).to_have_class(re.compile(r"\blive\b"))

        # no usable source: "no data", not a calm 0
        expect(page.locator(ZONE)).to_have_attribute("data-level", "unknown")
        expect(page.locator(f"{ZONE} .zone-count")).to_have_text("–/180")
        expect(page.locator(f"{ZONE} .zone-level")).to_have_text("Không có số liệu")
        fill_of(page, UNKNOWN)
        expect(page.locator('#legend li[data-level="unknown"]')).to_have_text("Không có số liệu")
        screenshot(page, "control-room-zone-no-data")

        # a corner the site file leaves uncounted on purpose says so, not "no data"
        atm = 'g.zone[data-zone="f1-atm"]'
        expect(page.locator(f"{atm} .zone-level")).to_have_text("Không đếm người")
        expect(page.locator(f"{atm} .zone-count")).to_have_text("–/8")
        expect(page.locator(atm)).to_have_attribute("data-level", "unknown")

        # the camera below its confidence, 14 tickets waiting; the capacity alert it raised
        server.call(floor.set_count, "f2-waiting", 14, "queue")
        server.call(
            lambda: floor.raise_alert(
                "capacity:f2-waiting:1",
                rule="capacity",
                severity=Severity.CRITICAL,
                message="Khu chờ: 190 people, capacity 180",
                zone_id="f2-waiting",
                value=190.0,
                threshold=180.0,
            )
        )
        banner = page.locator("#critical-banner")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("vượt sức chứa (190 người)")
        expect(page.locator(f"{ZONE} .zone-count")).to_have_text("≥14/180")
        expect(page.locator(f"{ZONE} .zone-level")).to_have_text("Ít nhất (theo phiếu chờ)")
        expect(page.locator(ZONE)).to_have_attribute("data-level", "unknown")
        fill_of(page, UNKNOWN)
        screenshot(page, "control-room-lower-bound-beside-capacity-alert")

        page.click(ZONE)
        detail = page.locator("#zone-detail")
        expect(detail.locator("#zone-summary")).to_contain_text("≥14/180 người")
        expect(detail.locator("#zone-method")).to_contain_text("phiếu thứ tự đang chờ")
        page.click("#zone-close")

        # a lower bound past a level proves that level
        server.call(floor.set_count, "f2-waiting", 150, "queue")
        expect(page.locator(ZONE)).to_have_attribute("data-level", "crowded")
        expect(page.locator(f"{ZONE} .zone-count")).to_have_text("≥150/180")

        # and a real count is drawn as before
        server.call(floor.set_count, "f2-waiting", 20)
        expect(page.locator(ZONE)).to_have_attribute("data-level", "calm")
        expect(page.locator(f"{ZONE} .zone-count")).to_have_text("20/180")
        fill_of(page, CALM)
        assert errors == []


def test_the_api_says_a_zone_is_not_known() -> None:
    app, floor, _ = build_app()
    floor.set_count("f2-waiting", 0, "none")
    floor.set_count("f2-counters", 14, "queue")
    with TestClient(app) as client:
        r = client.get("/api/v1/zones", headers=bearer(Role.VIEWER))
    assert r.status_code == 200, r.text
    known = {z["zone_id"]: (z["method"], z["known"]) for z in r.json()}
    assert known["f2-waiting"] == ("none", False)
    assert known["f2-counters"] == ("queue", True)
    assert known["f1-entrance"] == ("presence", True)


def test_the_site_says_which_zones_are_not_counted() -> None:
    app, _, _ = build_app()
    with TestClient(app) as client:
        r = client.get("/api/v1/site", headers=bearer(Role.VIEWER))
    assert r.status_code == 200, r.text
    counted = {z["id"]: z["counted"] for f in r.json()["floors"] for z in f["zones"]}
    # config/demo-site.yaml: five zones nobody counts on purpose
    assert sorted(k for k, v in counted.items() if not v) == [
        "f1-atm",
        "f1-canteen",
        "f1-photocopy",
        "f1-post",
        "f2-landing",
    ]
    assert counted["f2-waiting"] is True
