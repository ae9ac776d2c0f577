"""The province page's link state with heartbeats, in a real headless Chromium over
``fleet serve`` on a real nats-server: a quiet center whose gateway beats is online with
an old data age and a fresh heartbeat; a center whose heartbeats stopped is offline. The
service's clock is injected; the page's ages follow it (the server's time offset)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from gateway.peers.nats import NatsServer
from gateway.settings import Role
from tests.api_support import chromium
from tests.integration.fleet_page_support import (
    T0,
    TOKENS,
    Clock,
    PageServer,
    central_config,
    put_states,
    site_doc,
)
from tests.integration.test_fleet_page_api import bearer, wait_ready

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api")


def beating(key: str, data_age: timedelta, beat_age: timedelta) -> dict[str, Any]:
    """A document as fleet run folds it: zone data ``data_age`` old, a heartbeat ``beat_age``."""
    doc = site_doc(key, T0 - data_age, {"waiting": (0, "calm", None)})
    beat = (T0 - beat_age).isoformat()
    doc["last_data"] = doc["last_seen"]
    doc["last_seen"] = max(doc["last_seen"], beat)
    doc["heartbeat"] = {
        "at": beat,
        "uptime_s": 86400.0,
        "queue": 0,
        "devices_online": 3,
        "devices_configured": 3,
    }
    return doc


def test_the_page_tells_a_silent_gateway_from_unchanged_data(nats_server: NatsServer) -> None:
    expect = playwright_api.expect
    put_states(
        nats_server.url,
        {
            "hue.thuan-hoa": beating("hue.thuan-hoa", timedelta(minutes=32), timedelta(seconds=20)),
            "hue.phu-xuan": beating("hue.phu-xuan", timedelta(hours=3), timedelta(hours=2)),
        },
    )
    with PageServer(central_config(nats_server.url), Clock(T0)) as server, chromium() as browser:
        wait_ready(server)
        body = httpx.get(server.url + "/api/v1/fleet/centers", headers=bearer(Role.VIEWER)).json()
        rows = {c["key"]: c for c in body["centers"]}
        quiet, silent = rows["hue.thuan-hoa"], rows["hue.phu-xuan"]
        assert (quiet["link"], quiet["data_age_s"], quiet["link_age_s"]) == ("live", 1920.0, 20.0)
        assert (silent["link"], silent["data_age_s"], silent["link_age_s"]) == (
            "offline",
            10800.0,
            7200.0,
        )

        page = browser.new_context(viewport={"width": 1600, "height": 900}).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url + "/")
        page.fill("#token", TOKENS[Role.VIEWER])
        page.click("#login-form button[type=submit]")
        expect(page.locator("#stream-status")).to_have_class(re.compile(r"\blive\b"))
        row = page.locator('tr[data-key="hue.thuan-hoa"]')
        expect(row.locator(".link")).to_have_text("Trực tuyến")
        expect(row.locator(".ages")).to_have_text(
            re.compile(r"^số liệu 3[23] phút trước · tín hiệu \d+ giây trước$")
        )
        row = page.locator('tr[data-key="hue.phu-xuan"]')
        expect(row.locator(".link")).to_have_text("Mất kết nối 2 giờ")
        expect(row.locator(".ages")).to_have_text("số liệu 3 giờ trước · tín hiệu 2 giờ trước")
        assert errors == []
