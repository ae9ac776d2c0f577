"""The control-room alarm in a real headless Chromium (Debian's), driven by Playwright.

Chromium runs with the autoplay policy real browsers have (sound only after a user
gesture), so the page's "Bật âm thanh cảnh báo" at login is what lets the alarm sound.
The page's timers run on Playwright's fake clock (``page.clock``): the alarm's repeats,
the snooze's countdown and the title's flashing move only when the test moves the clock.
What the alarm does is read from the page's own ``#alarm`` data- attributes (the
AudioContext's state, the severity ringing, the patterns of oscillators played and
those still sounding) and from ``Notification`` objects the page makes (recorded by a
wrapper around the browser's own, installed before the page loads). Screenshots go to
artifacts/control-room-alarm-*.png.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.live import Severity
from gateway.settings import Role
from tests.api_support import (
    ARGS,
    CHROMIUM,
    TOKENS,
    LiveServer,
    api_config,
    build_app,
    demo_settings,
    screenshot,
)
from tests.memory_floor import MemoryFloor

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

T0 = datetime(2026, 9, 21, 3, 0, tzinfo=UTC)  # Monday 10:00 in Hà Nội
ALARM = "#alarm"
TAMPERED = 'li.alert[data-alert="camera_tampered:cam-f2-waiting"]'
CAPACITY = 'li.alert[data-alert="capacity:f2-waiting"]'
CO2 = 'li.alert[data-alert="co2_high:f2-waiting"]'

# Before the page's own scripts: record every Notification the page makes (the browser's
# own still shows it) and let the test hide the page as a switch to another tab would.
SPY = """
(() => {
  const Real = window.Notification;
  window.__notifications = [];
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notifications.push({ title, body: options?.body, tag: options?.tag });
    }
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recorded;
  window.__hidden = false;
  Object.defineProperty(document, "visibilityState", {
    configurable: true, get: () => (window.__hidden ? "hidden" : "visible"),
  });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => window.__hidden });
})();
"""


@pytest.fixture
def server() -> Iterator[LiveServer]:
    site = demo_settings()
    config = api_config(stream_keepalive_s=1)
    floor = MemoryFloor(site)
    app, _, _ = build_app(floor, site=site, config=config)
    with LiveServer(app, config, floor) as live:
        yield live


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, with the autoplay policy of a desktop browser."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing (Debian package 'chromium')")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[*ARGS, "--autoplay-policy=user-gesture-required"],
            headless=True,
        )
        try:
            yield b
        finally:
            b.close()


@contextlib.contextmanager
def room(browser: Any, server: LiveServer, *, dialogs: list[str]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    context.grant_permissions(["notifications"], origin=server.url)
    page = context.new_page()
    page.add_init_script(SPY)

    def refuse(dialog: Any) -> None:  # the page must never open one: recorded, then dismissed
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    page.clock.install(time=T0)
    try:
        yield page
    finally:
        context.close()


def login(page: Any, server: LiveServer, role: Role, *, sound: bool = True) -> None:
    page.goto(server.url + "/")
    box = page.locator("#login-sound")
    expect(box).to_be_checked()  # asked for at login, visibly, on by default
    if not sound:
        box.uncheck()
    page.fill("#token", TOKENS[role])
    page.click("#login-form button[type=submit]")
    expect(page.locator("#stream-status")).to_have_class(re.compile(r"\blive\b"))


def alarm(page: Any, name: str) -> str:
    return str(page.locator(ALARM).get_attribute(f"data-{name}"))


def patterns(page: Any) -> int:
    return int(alarm(page, "patterns"))


def hide(page: Any, hidden: bool) -> None:
    page.evaluate(
        "(h) => { window.__hidden = h; document.dispatchEvent(new Event('visibilitychange')); }",
        hidden,
    )


def raise_tampered(server: LiveServer) -> None:
    server.call(
        lambda: server.floor.raise_alert(
            "camera_tampered:cam-f2-waiting",
            rule="camera_tampered",
            severity=Severity.CRITICAL,
            message="camera covered",
            device_id="cam-f2-waiting",
        )
    )


def test_alarm_rings_mutes_snoozes_notifies_and_is_acknowledged_by_keyboard(
    server: LiveServer, browser: Any
) -> None:
    dialogs: list[str] = []
    with room(browser, server, dialogs=dialogs) as page:
        page.goto(server.url + "/")
        expect(page.locator(".sound-opt")).to_have_text("Bật âm thanh cảnh báo")
        screenshot(page, "control-room-alarm-1-login")
        login(page, server, Role.SUPERVISOR)
        box = page.locator(ALARM)
        # The login's click was the gesture: the AudioContext runs, nothing rings yet.
        expect(box).to_have_attribute("data-audio", "running")
        expect(box).to_have_attribute("data-ringing", "off")
        expect(page.locator("#alarm-status")).to_have_text("♪ Âm thanh cảnh báo: bật")
        expect(page.locator("#alarm-enable")).to_be_hidden()
        expect(box).to_have_attribute("data-notifications", "granted")
        page.clock.pause_at(T0 + timedelta(hours=1))  # from here the page's time moves on demand

        # A critical alert: the critical tone starts at once and repeats every 2 s.
        raise_tampered(server)
        expect(box).to_have_attribute("data-ringing", "critical")
        expect(box).to_have_attribute("data-tone", "critical")
        expect(box).to_have_attribute("data-frequencies", "988 740 988 740")
        expect(page.locator("#alarm-status")).to_have_text("♪ Đang báo động: Khẩn cấp")
        first = patterns(page)
        assert first >= 1
        page.clock.run_for(2000)
        page.clock.run_for(2000)
        assert patterns(page) == first + 2
        # It is heard: the meter on the output measures the tone's amplitude (0.18).
        page.wait_for_function(
            "() => Number(document.querySelector('#alarm').dataset.peak) > 0.1", timeout=10_000
        )
        # The title flashes while the critical alert is not acknowledged.
        titles = set()
        for _ in range(2):
            page.clock.run_for(1000)
            titles.add(page.title())
        assert titles == {
            "⚠ CẢNH BÁO KHẨN CẤP (1) – chưa xác nhận",
            "(1) floorwatch – Phòng điều hành",
        }
        screenshot(page, "control-room-alarm-2-ringing")

        # Mute: the sound stops (every oscillator ends), nothing more plays; the alert stays
        # unacknowledged, so the title still flashes.
        page.click("#alarm-mute")
        expect(box).to_have_attribute("data-ringing", "off")
        expect(box).to_have_attribute("data-sounding", "0")
        expect(page.locator("#alarm-mute")).to_be_hidden()
        expect(box).to_have_attribute("data-muted", "1")
        expect(page.locator("#alarm-status")).to_have_text("Đã tắt tiếng 1 cảnh báo chưa xác nhận")
        screenshot(page, "control-room-alarm-2b-muted")
        muted_at = patterns(page)
        page.clock.run_for(10_000)
        assert patterns(page) == muted_at
        assert alarm(page, "title") in {"flash", "plain"}
        titles = set()
        for _ in range(2):
            page.clock.run_for(1000)
            titles.add(alarm(page, "title"))
        assert titles == {"flash", "plain"}

        # The page is hidden (another tab): a new critical alert shows a desktop notification
        # and rings (a new alert is not covered by the mute of the earlier ones).
        hide(page, True)
        server.call(
            lambda: server.floor.raise_alert(
                "capacity:f2-waiting",
                rule="capacity",
                severity=Severity.CRITICAL,
                message="over capacity",
                zone_id="f2-waiting",
                value=200,
            )
        )
        expect(box).to_have_attribute("data-notified", "1")
        shown = page.evaluate("window.__notifications")
        assert shown == [
            {
                "title": "Khẩn cấp – Trung tâm Phục vụ hành chính công tỉnh (demo)",
                "body": "Khu chờ (118 ghế): vượt sức chứa (200 người)",
                "tag": "capacity:f2-waiting",
            }
        ], shown
        expect(box).to_have_attribute("data-ringing", "critical")
        hide(page, False)
        # Visible again: a new alert gives no desktop notification (the page is in sight).
        server.call(
            lambda: server.floor.raise_alert(
                "co2_high:f2-waiting",
                rule="co2_high",
                severity=Severity.WARNING,
                message="CO2 1400 ppm",
                zone_id="f2-waiting",
                value=1400,
            )
        )
        expect(page.locator(CO2)).to_be_visible()
        assert alarm(page, "notified") == "1"

        # Snooze: silence for 5 minutes, the time left shown, counted by the page's clock.
        page.click("#alarm-snooze")
        expect(box).to_have_attribute("data-ringing", "off")
        expect(box).to_have_attribute("data-snoozed", "yes")
        status = page.locator("#alarm-status")
        expect(status).to_have_text("Tạm tắt âm thanh: còn 5:00")
        expect(page.locator("#alarm-resume")).to_be_visible()
        snoozed_at = patterns(page)
        page.clock.run_for(65_000)
        expect(status).to_have_text("Tạm tắt âm thanh: còn 3:55")
        assert patterns(page) == snoozed_at
        screenshot(page, "control-room-alarm-3-snoozed")
        page.clock.run_for(235_000)  # the 5 minutes are over: the open critical alert rings
        expect(box).to_have_attribute("data-snoozed", "no")
        expect(box).to_have_attribute("data-ringing", "critical")
        assert patterns(page) > snoozed_at

        # Keyboard: "a" typed in a note is a letter, not an acknowledgement ...
        page.locator(f"{CAPACITY} input.note").focus()
        page.keyboard.type("a")
        expect(page.locator(f"{CAPACITY} input.note")).to_have_value("a")
        assert page.locator(CAPACITY).get_attribute("data-state") == "active"
        # ... "a" on the focused alert acknowledges it (the focus stays on it).
        page.locator(CAPACITY).focus()
        page.keyboard.press("a")
        expect(page.locator(CAPACITY)).to_have_attribute("data-state", "acknowledged")
        expect(page.locator(CAPACITY)).to_be_focused()
        expect(page.locator(f"{CAPACITY} .alert-note")).to_have_text("a")  # the note typed
        # The tampered camera's alert is still muted: the CO2 warning's own, different tone
        # rings now; the title flashes on while the muted critical alert is unacknowledged.
        expect(box).to_have_attribute("data-ringing", "warning")
        expect(box).to_have_attribute("data-tone", "warning")
        expect(box).to_have_attribute("data-frequencies", "587 587")
        page.clock.run_for(1000)
        page.clock.run_for(1000)
        assert page.title().startswith("(1) ") or page.title().startswith("⚠ ")
        page.locator(TAMPERED).focus()
        page.keyboard.press("a")
        expect(page.locator(TAMPERED)).to_have_attribute("data-state", "acknowledged")
        # No critical alert left unacknowledged: the title stops flashing.
        expect(box).to_have_attribute("data-title", "plain")
        expect(box).to_have_attribute("data-ringing", "warning")
        assert page.title() == "floorwatch – Phòng điều hành"
        page.locator(CO2).focus()
        page.keyboard.press("a")
        expect(box).to_have_attribute("data-ringing", "off")
        expect(box).to_have_attribute("data-sounding", "0")

        # An info alert (a sensor's battery low) chimes once, its own tone, and does not ring.
        chimed_at = patterns(page)
        server.call(
            lambda: server.floor.raise_alert(
                "battery_low:cl-f1-canteen",
                rule="battery_low",
                severity=Severity.INFO,
                message="battery 12%",
                device_id="cl-f1-canteen",
                value=12,
            )
        )
        expect(page.locator('li.alert[data-alert="battery_low:cl-f1-canteen"]')).to_be_visible()
        expect(box).to_have_attribute("data-tone", "info")
        expect(box).to_have_attribute("data-frequencies", "660 880")
        expect(box).to_have_attribute("data-ringing", "off")
        page.clock.run_for(20_000)
        assert patterns(page) == chimed_at + 1

        # Enter on a focused zone opens its detail.
        zone = page.get_by_role("button", name="Khu chờ (118 ghế)", exact=True)  # a button to AT
        expect(zone).to_have_attribute("data-zone", "f2-waiting")
        zone.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#zone-detail")).to_be_visible()
        expect(page.locator("#zone-title")).to_have_text("Khu chờ (118 ghế)")
        page.keyboard.press("Escape")  # closes it, the focus back on the zone
        expect(page.locator("#zone-detail")).to_be_hidden()
        expect(zone).to_be_focused()

        # English: the alarm's texts too.
        page.click(".lang-toggle >> visible=true")
        expect(page.locator("#alarm-status")).to_have_text("♪ Alert sound: on")
        expect(page.locator("#alarm-snooze")).to_have_text("Snooze 5 min")

        # A reload loses the browser's permission to sound: the page asks for a click.
        page.reload()
        expect(page.locator("#stream-status")).to_have_class(re.compile(r"\blive\b"))
        expect(box).to_have_attribute("data-audio", "none")
        enable = page.locator("#alarm-enable")
        expect(enable).to_be_visible()
        expect(enable).to_have_class(re.compile(r"\burgent\b"))
        enable.click()
        expect(box).to_have_attribute("data-audio", "running")
    assert dialogs == []


def test_viewer_keyboard_refusal_inline_and_sound_off_at_login(
    server: LiveServer, browser: Any
) -> None:
    dialogs: list[str] = []
    raise_tampered(server)
    with room(browser, server, dialogs=dialogs) as page:
        login(page, server, Role.VIEWER, sound=False)
        box = page.locator(ALARM)
        # Sound refused at login: no AudioContext, nothing rings, the button asks for it.
        expect(page.locator(TAMPERED)).to_be_visible()
        expect(box).to_have_attribute("data-audio", "none")
        expect(box).to_have_attribute("data-ringing", "off")
        assert alarm(page, "patterns") == "0"
        expect(page.locator("#alarm-enable")).to_be_visible()
        # The wall display's viewer cannot acknowledge: the refusal is said inside the alert.
        page.locator(TAMPERED).focus()
        page.keyboard.press("a")
        error = page.locator(f"{TAMPERED} .alert-error")
        expect(error).to_have_text("Tài khoản này không có quyền xác nhận hoặc xử lý cảnh báo.")
        expect(page.locator(TAMPERED)).to_have_attribute("data-state", "active")
        screenshot(page, "control-room-alarm-4-viewer-refused")
        # One click on the button: the alarm rings for the open critical alert.
        page.click("#alarm-enable")
        expect(box).to_have_attribute("data-audio", "running")
        expect(box).to_have_attribute("data-ringing", "critical")
        assert patterns(page) >= 1
        page.clock.run_for(2000)  # the next pattern, once the meter is surely listening
        page.wait_for_function(
            "() => Number(document.querySelector('#alarm').dataset.peak) > 0.1", timeout=10_000
        )
        page.click(".lang-toggle >> visible=true")
        expect(page.locator("#alarm-status")).to_have_text("♪ Alarm: Critical")
        expect(error).to_have_text("This account may not acknowledge or resolve alerts.")
        page.set_viewport_size({"width": 1366, "height": 768})
        screenshot(page, "control-room-alarm-5-laptop-english")
    assert dialogs == []
