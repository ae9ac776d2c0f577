"""The control room's notify additions in a real headless Chromium (notify.js): an alert's
delivery status read from the outbox the real alert store wrote, and the manager's
"Báo cáo ngày" button downloading the chosen day's PDF (two weeks of simulated history in
a real InfluxDB 1.x), a closed day refused inline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.alert_store import AlertStore
from gateway.alerts import AlertBook, Condition
from gateway.live import Severity
from gateway.notify.config import NotificationSettings
from gateway.notify.outbox import Outbox
from gateway.notify.wiring import site_facts
from gateway.peers.influxdb1 import InfluxDB1Server
from gateway.peers.process import free_port
from gateway.planning.seed import seed_history
from gateway.planning.service import PlanningService
from gateway.settings import InfluxConfig, Role, Settings
from tests.api_support import LiveServer, api_config, build_app, chromium, demo_settings, screenshot
from tests.integration.test_control_room_planning import NOW, Watched
from tests.memory_floor import MemoryFloor

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api")
FIRST = date(2026, 9, 7)
RAISED = datetime(2026, 9, 21, 2, 30, tzinfo=UTC)  # Monday 09:30 site time: open


def notifications() -> NotificationSettings:
    return NotificationSettings.model_validate(
        {
            "channels": [
                {"id": "zalo-ca-truc", "type": "http", "url": "http://127.0.0.1:9/"},
                {"id": "sms-to-truong", "type": "http", "url": "http://127.0.0.1:9/"},
            ],
            "routes": [
                {
                    "escalation": [
                        {"after_min": 0, "notify": ["zalo-ca-truc"]},
                        {"after_min": 10, "notify": ["sms-to-truong"]},
                    ]
                }
            ],
        }
    )


def record_alert(site: Settings, db: Path) -> str:
    async def record() -> str:
        store = AlertStore(db, outbox=Outbox(site.notifications, site_facts(site)))
        await store.open()
        book = AlertBook(renotify_s=600, escalate_s=None, clear_s=60)
        c = Condition(
            "co2_high", "f2-waiting", Severity.WARNING, "CO₂ cao", 1250, 1000, zone_id="f2-waiting"
        )
        [t] = book.evaluate(RAISED, [c])
        await store.record([t], book.raises)
        await store.close()
        return t.alert.id

    return asyncio.run(record())


@pytest.fixture(scope="module")
def server(
    influxdb1: InfluxDB1Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, str]]:
    state_dir = tmp_path_factory.mktemp("notify-page")
    db = f"notify_page_{free_port('127.0.0.1')}"
    influx = InfluxConfig(url=influxdb1.url, protocol="v1", database=db)
    base = demo_settings()
    site = base.model_copy(
        update={
            "influxdb": influx,
            "notifications": notifications(),
            "gateway": base.gateway.model_copy(update={"state_dir": state_dir}),
        }
    )
    seed_history(site, influx, FIRST, 14, seed=7)
    alert_id = record_alert(site, state_dir / "alerts.sqlite3")
    config = api_config(stream_keepalive_s=1)
    floor = MemoryFloor(site, clock=lambda: NOW)
    app, _, _ = build_app(floor, site=site, config=config, clock=lambda: NOW)
    app.state.planning = PlanningService.from_settings(site)
    live = LiveServer(app, config, floor).start()
    live.call(
        lambda: floor.raise_alert(
            alert_id,
            rule="co2_high",
            severity=Severity.WARNING,
            message="CO₂ cao",
            zone_id="f2-waiting",
        )
    )
    try:
        yield live, alert_id
    finally:
        live.stop()
        if influxdb1.running:
            influxdb1.drop_database(db)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def test_an_alerts_delivery_status_in_its_detail(
    server: tuple[LiveServer, str], browser: Any
) -> None:
    expect = playwright_api.expect
    live, alert_id = server
    w = Watched(browser, live, Role.SUPERVISOR, 1920, 1080)
    page = w.page
    item = page.locator(f'li.alert[data-alert="{alert_id}"]')
    expect(item).to_be_visible()
    box = item.locator("details.deliveries")
    expect(box.locator("summary")).to_have_text("Thông báo đã gửi")
    box.locator("summary").click()
    rows = box.locator("li.delivery")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-channel", "zalo-ca-truc")
    expect(rows.nth(0)).to_contain_text("Đang chờ gửi zalo-ca-truc · báo mới")
    expect(rows.nth(1)).to_contain_text("sms-to-truong · chuyển cấp 09:40")  # due 10 min later
    screenshot(page, "control-room-deliveries")
    # English, and the list stays open when the alert list is redrawn
    page.click("#topbar .lang-toggle")
    box = page.locator(f'li.alert[data-alert="{alert_id}"] details.deliveries')
    expect(box.locator("li.delivery").nth(0)).to_contain_text("Queued zalo-ca-truc · raised")
    w.close()


def test_the_manager_downloads_the_daily_report(
    server: tuple[LiveServer, str], browser: Any
) -> None:
    expect = playwright_api.expect
    live, _ = server
    w = Watched(browser, live, Role.MANAGER, 1920, 1080)
    page = w.page
    page.click('#views .view-tab[data-view="staffing"]')
    button = page.locator("#report-daily")
    expect(button).to_have_text("Báo cáo ngày")
    page.fill("#staffing-date", "2026-09-18")  # a Friday of the seeded history
    with page.expect_download(timeout=60000) as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "report-2026-09-18-vi.pdf"
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and b"DejaVu" in pdf
    expect(page.locator("#report-error")).to_be_hidden()
    # a Sunday: refused, said inline in Vietnamese
    page.fill("#staffing-date", "2026-09-20")
    button.click()
    error = page.locator("#report-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Trung tâm không làm việc vào Chủ Nhật, ngày 20 tháng 9 năm 2026")
    expect(button).to_be_enabled()
    refused = [e for e in w.errors if e.startswith("404 ") and "/api/v1/reports/daily" in e]
    assert len(refused) == 1, w.errors
    w.close(expected_errors=1)
