"""The device list shows each sensor's dead letters to a supervisor, in a real headless Chromium.

A supervisor sees "3 bản tin không đọc được" beside the sensor that sent three
payloads the gateway could not decode (and nothing beside the others); a
viewer, who may not read dead letters, sees no count, and the page does not
ask for them (no 403 in the console).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.dead_letters import DeadLetter, DeadLetters
from gateway.settings import Role
from tests.api_support import TOKENS, LiveServer, api_config, build_app, chromium, screenshot

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api")
T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
SENSOR = "cl-f1-canteen"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    config = api_config(stream_keepalive_s=1)
    app, floor, _ = build_app(config=config)
    dead = DeadLetters(tmp_path / "dead-letters.jsonl", max_entries=100)
    for i in range(3):
        dead.record(DeadLetter("t", f"temperature_c -3.{i} outside [0, 50]", T0, b"{}", SENSOR))
    app.state.dead_letters = dead
    live = LiveServer(app, config, floor).start()
    try:
        yield live
    finally:
        if live._thread.is_alive():
            live.stop()


def _enter(browser: object, server: LiveServer, role: Role) -> tuple[object, list[str]]:
    page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: errors.append("asked") if "dead-letters" in r.url else None)
    page.goto(server.url + "/")
    page.fill("#token", TOKENS[role])
    page.click("#login-form button[type=submit]")
    playwright_api.expect(page.locator("#stream-status")).to_have_class(re.compile(r"\blive\b"))
    return page, errors


def test_a_supervisor_sees_the_dead_letters_of_a_sensor(server: LiveServer) -> None:
    expect = playwright_api.expect
    with chromium() as browser:
        page, errors = _enter(browser, server, Role.SUPERVISOR)
        item = page.locator(f'#devices li[data-device="{SENSOR}"]')  # type: ignore[attr-defined]
        expect(item.locator(".dead-letters")).to_have_text(" · 3 bản tin không đọc được")
        others = page.locator("#devices li .dead-letters")  # type: ignore[attr-defined]
        expect(others).to_have_count(1)
        screenshot(page, "control-room-dead-letters")
        assert errors == ["asked"]  # the page asked for the counts, and nothing went wrong


def test_a_viewer_sees_no_count(server: LiveServer) -> None:
    expect = playwright_api.expect
    with chromium() as browser:
        page, errors = _enter(browser, server, Role.VIEWER)
        item = page.locator(f'#devices li[data-device="{SENSOR}"]')  # type: ignore[attr-defined]
        expect(item).to_be_visible()
        expect(page.locator("#devices li .dead-letters")).to_have_count(0)  # type: ignore[attr-defined]
        assert errors == []  # and it never asked for what a viewer may not read
