"""The templates' floor plans in the control room, in a real headless Chromium: every zone
drawn to scale, counted zones with a figure, screenshots in artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.config_loader import load_settings
from gateway.settings import Role
from tests.api_support import TOKENS, LiveServer, api_config, build_app, chromium, screenshot
from tests.memory_floor import MemoryFloor

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("template", "counts"),
    [
        ("commune-center.yaml", {"f1-hall": 22}),
        ("city-center.yaml", {"f1-waiting": 75, "f1-counters": 20}),
    ],
)
def test_template_renders(template: str, counts: dict[str, int]) -> None:
    expect = playwright_api.expect
    site = load_settings(ROOT / "config" / template, {}).settings
    config = api_config(stream_keepalive_s=1)
    floor = MemoryFloor(site)
    app, _, _ = build_app(floor, site=site, config=config)
    server = LiveServer(app, config, floor).start()
    try:
        for zone, n in counts.items():
            server.call(floor.set_count, zone, n)
        with chromium() as browser:
            page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server.url + "/")
            page.fill("#token", TOKENS[Role.SUPERVISOR])
            page.click("#login-form button[type=submit]")
            expect(page.locator("#stream-status")).to_have_class(re.compile(r"\blive\b"))
            expect(page.locator("g.zone")).to_have_count(len(site.zones))
            for zone, n in counts.items():
                cap = site.zone(zone).capacity
                count = page.locator(f'g.zone[data-zone="{zone}"] .zone-count')
                expect(count).to_have_text(f"{n}/{cap}")
            # the plan is drawn to the floor's scale
            plan = site.floors[0].plan
            box = page.locator("svg.plan").first.get_attribute("viewBox")
            assert box == f"-0.5 -0.5 {plan.width_m + 1:g} {plan.depth_m + 1:g}"
            screenshot(page, f"control-room-template-{template.removesuffix('.yaml')}")
            assert errors == []
    finally:
        server.stop()
