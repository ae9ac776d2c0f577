"""The province page in a real headless Chromium, over ``fleet serve`` on a real nats-server
and a real InfluxDB 1.x: a center turns crowded and rises to the top; an offline center is
marked; each center links to its control room; a calm center with a long wait is acted on and
its row says why; a center's own certificate near its end is said under its link; a center's
month beside the others; English.
Screenshots go to artifacts/fleet-page-*.png."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.nats import NatsServer
from gateway.settings import Role
from tests.api_support import chromium, screenshot
from tests.integration.fleet_page_support import (
    T0,
    TOKENS,
    Clock,
    PageServer,
    central_config,
    put_states,
    site_doc,
)
from tests.integration.test_fleet_page_api import first_docs, wait_ready, write_points

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api")
ROWS = "#centers tbody tr"


def month_points() -> list[str]:
    lines = []
    for day in (3, 4, 5):
        for local_hour, people in ((8, 30.0), (9, 70.0), (10, 110.0), (14, 60.0)):
            t = int(datetime(2026, 11, day, local_hour - 7, tzinfo=UTC).timestamp())
            for site, factor, p90 in (
                ("thuan-hoa", 1.0, 900.0),
                ("phu-xuan", 0.6, 420.0),
                ("vinh-loc", 0.3, 240.0),
            ):
                lines.append(
                    f"zone_hourly,province=hue,site={site},zone=waiting"
                    f" people_mean={people * factor},people_max={int(people * factor) + 4}i {t}"
                )
                lines.append(
                    f"service_hourly,province=hue,site={site},service=land"
                    f" waits=9i,wait_p90_s={p90 * people / 70} {t}"
                )
    return lines


def test_the_province_page_live(
    nats_server: NatsServer, influxdb1: InfluxDB1Server, influxdb1_database: str
) -> None:
    expect = playwright_api.expect
    write_points(influxdb1, influxdb1_database, month_points())
    clock = Clock(T0)
    put_states(nats_server.url, first_docs(T0))
    cfg = central_config(nats_server.url, influxdb1.url, influxdb1_database)
    with PageServer(cfg, clock) as server, chromium() as browser:
        wait_ready(server)
        page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url + "/")
        expect(page).to_have_title("floorwatch – Toàn tỉnh")
        page.fill("#token", TOKENS[Role.VIEWER])
        page.click("#login-form button[type=submit]")
        expect(page.locator("#stream-status")).to_have_class(re.compile(r"\blive\b"))
        rows = page.locator(ROWS)
        expect(rows).to_have_count(5)
        expect(rows.nth(0)).to_have_attribute("data-key", "hue.a-luoi")
        expect(rows.nth(0).locator(".link")).to_have_text("Chưa gửi số liệu")

        # the offline center is marked, with how long it has been silent
        offline = page.locator('tr[data-key="hue.huong-thuy"]')
        expect(offline).to_have_attribute("data-link", "offline")
        expect(offline.locator(".link")).to_have_text("Mất kết nối 2 giờ")
        expect(page.locator('tr[data-key="hue.thuan-hoa"] .link')).to_have_text("Trực tuyến")
        link = page.locator('tr[data-key="hue.thuan-hoa"] a.control-room')
        expect(link).to_have_attribute("href", "http://10.20.1.10:8080/ui/")
        expect(page.locator('tr[data-key="hue.thuan-hoa"] .badge')).to_have_text("Khá đông")
        expect(page.locator('tr[data-key="hue.thuan-hoa"] .people')).to_have_text("48")
        expect(page.locator('tr[data-key="hue.thuan-hoa"] .wait')).to_have_text("10 phút")
        expect(page.locator("#summary")).to_have_text(
            "3/5 trung tâm trực tuyến · 63 người · 0 cảnh báo"
        )
        screenshot(page, "fleet-page-1-start")

        # Phú Xuân turns crowded: it rises above every calm and busy center, and above the
        # ones the province cannot see
        put_states(
            nats_server.url,
            {
                "hue.phu-xuan": site_doc(
                    "hue.phu-xuan",
                    T0 + timedelta(seconds=20),
                    {"waiting": (160, "crowded", 1500.0)},
                    alerts={"crowd_level-waiting": "warning"},
                )
            },
        )
        clock.advance(20)
        expect(rows.nth(0)).to_have_attribute("data-key", "hue.phu-xuan")
        expect(rows.nth(0)).to_have_attribute("data-level", "crowded")
        expect(rows.nth(0).locator(".badge")).to_have_text("Đông")
        expect(rows.nth(0).locator(".wait")).to_have_text("25 phút")
        screenshot(page, "fleet-page-2-crowded-rises")

        # the area filter keeps one area (a new stream for it)
        page.select_option("#area-filter", "Thuận Hóa")
        expect(rows).to_have_count(1)
        expect(rows.nth(0)).to_have_attribute("data-key", "hue.thuan-hoa")
        page.select_option("#area-filter", "")
        expect(rows).to_have_count(5)

        # ten minutes with nothing from Thuận Hóa: offline by the clock alone
        clock.advance(600)
        expect(page.locator('tr[data-key="hue.thuan-hoa"]')).to_have_attribute(
            "data-link", "offline"
        )
        expect(page.locator('tr[data-key="hue.thuan-hoa"] .link')).to_have_text(
            re.compile(r"^Mất kết nối 10 phút$")
        )

        # a center's month beside the others (from the keyboard: the row takes the focus)
        page.focus('tr[data-key="hue.thuan-hoa"]')
        page.keyboard.press("Enter")
        expect(page.locator("#month-title")).to_have_text(
            "TT Phục vụ HCC phường Thuận Hóa: tháng 2026-11"
        )
        expect(page.locator("#month-note")).to_contain_text("Đông nhất lúc: 10 giờ, 9 giờ, 14 giờ")
        expect(page.locator("#month-note")).to_contain_text("thời gian chờ thực tế")
        expect(page.locator("#month-hours tbody tr")).to_have_count(4)
        # and the center now: its zones, what is down
        expect(page.locator("#center-zones tbody tr")).to_have_count(2)
        expect(page.locator('#center-zones tr[data-zone="waiting"]')).to_contain_text("Khá đông")
        expect(page.locator("#center-problems li.device-down")).to_have_text(
            "Thiết bị cam-2 mất kết nối: no frames"
        )
        league = page.locator("#league tbody tr")
        expect(league).to_have_count(3)
        expect(league.nth(2)).to_have_class("this")
        expect(league.nth(0)).to_contain_text("vinh-loc")  # not registered: its id
        expect(league.nth(1)).to_contain_text("TT Phục vụ HCC phường Phú Xuân")
        screenshot(page, "fleet-page-3-offline-and-month")

        # the open center's panel follows it live: a camera back, a zone now crowded
        put_states(
            nats_server.url,
            {
                "hue.thuan-hoa": site_doc(
                    "hue.thuan-hoa",
                    clock.at,
                    {"waiting": (120, "crowded", 900.0), "entrance": (8, "calm", None)},
                    devices={"cam-1": True, "cam-2": True},
                )
            },
        )
        expect(page.locator('#center-zones tr[data-zone="waiting"]')).to_contain_text("Đông")
        expect(page.locator("#center-problems li")).to_have_count(0)

        # a calm center, 19 people, no alert of its own, a 70-minute wait: over the province's
        # 60-minute threshold, it is acted on, and its row says why
        put_states(
            nats_server.url,
            {"hue.vinh-loc": site_doc("hue.vinh-loc", clock.at, {"hall": (19, "calm", 4200.0)})},
        )
        slow = page.locator('#centers tr[data-key="hue.vinh-loc"]')
        expect(slow).to_have_attribute("data-attention", "3")
        expect(slow.locator(".badge")).to_have_text("Bình thường")
        expect(slow.locator(".wait")).to_have_attribute("data-over", "act")
        expect(slow.locator(".wait .wait-over")).to_have_text("vượt ngưỡng 60 phút")
        expect(slow.locator(".wait")).to_have_text("70 phútvượt ngưỡng 60 phút")
        screenshot(page, "fleet-page-5-long-wait")

        # its own certificate (its leaf's on the link) ends in 12 days 3 h: said under the link
        doc = site_doc("hue.vinh-loc", clock.at, {"hall": (19, "calm", 4200.0)})
        ends = clock.at + timedelta(days=12, hours=3)
        cert = {"source": "link", "path": "/etc/nats/tls/center.pem", "subject": "CN=vinh-loc"}
        doc["certificates"] = {
            "at": clock.at.isoformat(),
            "list": [{**cert, "not_after": ends.isoformat()}],
        }
        put_states(nats_server.url, {"hue.vinh-loc": doc})
        expect(slow.locator(".cert")).to_have_text("chứng chỉ hết hạn sau 13 ngày")
        expect(slow).to_have_attribute("data-attention", "3")  # its rank is the wait's
        expect(page.locator('tr[data-key="hue.thuan-hoa"] .cert')).to_have_count(0)

        # English on a laptop
        page.set_viewport_size({"width": 1366, "height": 768})
        page.click("#topbar .lang-toggle")
        expect(page.locator('tr[data-key="hue.thuan-hoa"] .link')).to_have_text("Online")
        expect(page.locator("#month-title")).to_have_text(
            "TT Phục vụ HCC phường Thuận Hóa: 2026-11"
        )
        expect(page.locator("#board-title")).to_have_text("Needs attention first")
        expect(page.locator("#stream-status")).to_have_text("● Live")
        expect(page.locator("#summary")).to_have_text(
            "3/5 centers online · 307 people · open alerts: 1"
        )
        expect(slow.locator(".wait .wait-over")).to_have_text("over the 60-min limit")
        expect(slow.locator(".cert")).to_have_text("certificate expires in 13 days")
        screenshot(page, "fleet-page-4-english-laptop")
        assert errors == []
