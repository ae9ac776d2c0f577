"""The gateway's own sentences (alert messages) in Vietnamese, with Vietnamese figures.

Each rule's message, literally, as the center's staff read it on MQTT, in
``floorwatch alerts`` and on the Vietnamese dashboards: Vietnamese words,
a decimal comma, a point between thousands, no English word around the names
(a device's own detail excepted, which follows as the device reported it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.alert_rules import (
    ServiceWait,
    ZoneRule,
    device_conditions,
    spool_conditions,
    waiting_conditions,
    zone_conditions,
)
from gateway.live import ZoneClimateState, ZoneState
from gateway.observations import DeviceHealth, DeviceKind
from gateway.settings import AlertRules, ComfortBand, CrowdLevel
from gateway.vi_text import number, setting

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
RULES = AlertRules()
ZONE = ZoneRule(
    alert_level=CrowdLevel.CROWDED, alert_people=144, capacity=180, comfort=ComfortBand()
)
NAME = "Khu chờ (118 ghế)"


def zone(level: CrowdLevel = CrowdLevel.CALM, occupancy: int = 10, **climate: Any) -> ZoneState:
    return ZoneState(
        "f2-waiting",
        "f2",
        NAME,
        occupancy,
        180,
        occupancy / 180,
        occupancy / 312,
        "A",
        level,
        "presence",
        0.8,
        (),
        False,
        ZoneClimateState(**climate),
        None,
        None,
        NOW,
    )


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (28.9, 1, "28,9"),
        (1250, 0, "1.250"),
        (1234567.891, 2, "1.234.567,89"),
        (0.04, 0, "0"),
        (-0.04, 1, "0,0"),  # no "-0,0"
        (-3.5, 1, "-3,5"),
        (75.0, 0, "75"),
    ],
)
def test_numbers_are_written_the_vietnamese_way(value: float, digits: int, text: str) -> None:
    assert number(value, digits) == text


def test_settings_show_decimals_only_when_they_have_them() -> None:
    assert [setting(v) for v in (26.0, 26.5, 1000.0)] == ["26", "26,5", "1.000"]


@pytest.mark.parametrize(
    ("state", "messages"),
    [
        (zone(CrowdLevel.CROWDED, 150), [f"{NAME}: mật độ đông (150 người)"]),
        (
            zone(CrowdLevel.CRITICAL, 1181),
            [
                f"{NAME}: quá tải (1.181 người)",
                f"{NAME}: vượt sức chứa (1.181 người, sức chứa 180)",
            ],
        ),
        (
            zone(temperature_mean_5m=29.24, temperature_status="high"),
            [f"{NAME}: nhiệt độ cao (29,2 °C, trung bình 5 phút)"],
        ),
        (
            zone(humidity_mean_5m=55.4, humidity_status="low"),
            [f"{NAME}: độ ẩm thấp (55%, trung bình 5 phút)"],
        ),
        (
            zone(co2_mean_5m=1250.4, co2_status="high"),
            [f"{NAME}: nồng độ CO₂ cao (1.250 ppm, trung bình 5 phút)"],
        ),
    ],
)
def test_zone_messages(state: ZoneState, messages: list[str]) -> None:
    assert [c.message for c in zone_conditions(state, ZONE, RULES)] == messages


def test_waiting_message() -> None:
    wait = ServiceWait("land", "Đất đai", "f2-waiting", 10, 2, 4500.0)
    [c] = waiting_conditions([wait], RULES)
    assert c.message == (
        "Đất đai: 10 phiếu đang chờ, 2 quầy đang mở, thời gian chờ dự kiến 75 phút"
    )


def test_device_messages() -> None:
    sensor = DeviceHealth(
        "cl-f1-canteen", DeviceKind.SENSOR, False, NOW, "stale: no data for 190 s", 9.0
    )
    camera = DeviceHealth("cam-hall", DeviceKind.CAMERA, True, NOW, "state=streaming")
    out = device_conditions([sensor, camera], RULES, NOW, tampered={"cam-hall"})
    assert [c.message for c in out] == [
        "Cảm biến cl-f1-canteen ngừng gửi số liệu – stale: no data for 190 s",
        "Cảm biến cl-f1-canteen sắp hết pin (còn 9%)",
        "Camera cam-hall bị che khuất, xoay hướng hoặc bị chiếu chói",
    ]
    down = DeviceHealth("cam-hall", DeviceKind.CAMERA, False, NOW, "")
    [offline] = device_conditions([down], RULES, NOW)
    assert offline.message == "Camera cam-hall mất tín hiệu: không kết nối được"


def test_spool_message() -> None:
    [c] = spool_conditions(0.553, 0.5)
    assert c.message == (
        "Chưa ghi được số liệu vào cơ sở dữ liệu (InfluxDB): bộ nhớ đệm đã đầy 55%"
    )
