"""Message texts: Vietnamese by default, English on request, with zone, floor and service names."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from gateway.live import AlertState, Severity
from gateway.notify.texts import Item, render, render_test, sentence
from tests.unit.notify_support import NAMES, T0, alert


def test_one_alert_in_vietnamese() -> None:
    a = alert(severity=Severity.CRITICAL)
    r = render([Item(a, "raised", T0)], NAMES, "vi")
    assert r.title == "[KHẨN CẤP] Khu chờ (118 ghế) (Tầng 2) – TTHCC tỉnh"
    assert r.body.splitlines() == [
        "Khu chờ (118 ghế): mật độ đông (150 người) (từ 09:00)",
        "Khu vực: Khu chờ (118 ghế) (Tầng 2)",
        "Mã: crowd_level:f2-waiting:1",
    ]
    assert r.text.startswith("[KHẨN CẤP]") and "\n" in r.text


def test_one_alert_in_english() -> None:
    r = render([Item(alert(), "raised", T0)], NAMES, "en")
    assert r.title == "[WARNING] Khu chờ (118 ghế) (Tầng 2) – TTHCC tỉnh"
    assert r.body.splitlines()[0] == (
        "crowd level warning: 150 people (alert from 144) (since 09:00)"
    )
    wait = alert("waiting_time", "land", zone=None, value=4500, threshold=900)
    assert sentence(wait, "en") == "expected wait 75 min (target 15 min)"


def test_service_group_names_a_waiting_time_alert() -> None:
    wait = alert("waiting_time", "land", zone=None, message="Đất đai: 10 phiếu đang chờ")
    r = render([Item(wait, "raised", T0)], NAMES, "vi")
    assert r.title == "[CẢNH BÁO] Nhóm dịch vụ Đất đai – TTHCC tỉnh"


def test_escalation_and_resolution_say_so_with_vietnamese_figures() -> None:
    a = alert()
    r = render([Item(a, "escalated", T0 + timedelta(minutes=10), 10)], NAMES, "vi")
    assert "chưa ai xác nhận sau 10 phút" in r.body
    end = T0 + timedelta(minutes=1505)
    done = dataclasses.replace(
        a, state=AlertState.RESOLVED, resolved_at=end, resolved_by="lan", note="đã mở quầy 5"
    )
    r = render([Item(done, "resolved", end)], NAMES, "vi")
    assert r.title.startswith("[ĐÃ HẾT] Khu chờ")
    assert "đã hết lúc 10:05, kéo dài 1.505 phút; người xử lý: lan; ghi chú: đã mở quầy 5" in r.body
    r = render([Item(done, "resolved", end)], NAMES, "en")
    assert "ended 10:05, lasted 1,505 min; by lan" in r.body


def test_a_digest_lists_the_worst_first() -> None:
    warn = alert()
    crit = alert(
        "capacity", "f1-hall", Severity.CRITICAL, zone="f1-hall", message="Sảnh: vượt sức chứa"
    )
    co2 = alert("co2_high", "f2-waiting", message="CO₂ cao", at=T0 - timedelta(minutes=5))
    r = render(
        [Item(warn, "raised", T0), Item(crit, "raised", T0), Item(co2, "raised", T0)], NAMES, "vi"
    )
    assert r.title == "[KHẨN CẤP] 3 cảnh báo – TTHCC tỉnh"
    lines = r.body.splitlines()
    assert lines[0].startswith("[KHẨN CẤP] Sảnh (Tầng 1): Sảnh: vượt sức chứa")
    assert [ln.split("]")[0] for ln in lines] == ["[KHẨN CẤP", "[CẢNH BÁO", "[CẢNH BÁO"]
    same_zone = render([Item(warn, "raised", T0), Item(co2, "raised", T0)], NAMES, "vi")
    assert same_zone.title == "[CẢNH BÁO] Khu chờ (118 ghế) (Tầng 2): 2 cảnh báo – TTHCC tỉnh"


def test_test_message() -> None:
    r = render_test("zalo-lead", NAMES, "vi", T0)
    assert r.title == "[THỬ] floorwatch – TTHCC tỉnh"
    assert "zalo-lead" in r.body and "09:00:00 01/12/2026" in r.body
    assert render_test("x", NAMES, "en", T0).title.startswith("[TEST]")
