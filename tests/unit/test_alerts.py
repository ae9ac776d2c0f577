"""Alert rules, table-driven: each rule with its settings (gateway.alerts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.alert_rules import (
    ServiceWait,
    ZoneRule,
    device_conditions,
    in_maintenance,
    spool_conditions,
    waiting_conditions,
    zone_conditions,
)
from gateway.alerts import Condition
from gateway.live import Severity, ZoneClimateState, ZoneState
from gateway.observations import DeviceHealth, DeviceKind
from gateway.settings import AlertRules, ComfortBand, CrowdLevel, MaintenanceWindow

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
RULES = AlertRules()
ZONE = ZoneRule(
    alert_level=CrowdLevel.CROWDED, alert_people=144, capacity=180, comfort=ComfortBand()
)


def zone(level: CrowdLevel = CrowdLevel.CALM, occupancy: int = 10, **climate: Any) -> ZoneState:
    return ZoneState(
        "f2-waiting",
        "f2",
        "Waiting",
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


def brief(conditions: list[Condition]) -> list[tuple[str, str, str, float | None, float | None]]:
    return [(c.rule, c.subject, c.severity.value, c.value, c.threshold) for c in conditions]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (zone(), []),
        (zone(CrowdLevel.BUSY, 100), []),
        (zone(CrowdLevel.CROWDED, 150), [("crowd_level", "f2-waiting", "warning", 150, 144)]),
        (zone(CrowdLevel.CRITICAL, 180), [("crowd_level", "f2-waiting", "critical", 180, 144)]),
        (
            zone(CrowdLevel.CRITICAL, 181),
            [
                ("crowd_level", "f2-waiting", "critical", 181, 144),
                ("capacity", "f2-waiting", "critical", 181, 180),
            ],
        ),
        (
            zone(temperature_mean_5m=29.2, temperature_status="high"),
            [("temperature_high", "f2-waiting", "warning", 29.2, 28)],
        ),
        (
            zone(temperature_mean_5m=25.0, temperature_status="low"),
            [("temperature_low", "f2-waiting", "warning", 25.0, 26)],
        ),
        (
            zone(humidity_mean_5m=75.0, humidity_status="high"),
            [("humidity_high", "f2-waiting", "warning", 75.0, 70)],
        ),
        (
            zone(humidity_mean_5m=55.0, humidity_status="low"),
            [("humidity_low", "f2-waiting", "warning", 55.0, 60)],
        ),
        (
            zone(co2_mean_5m=1250.0, co2_status="high"),
            [("co2_high", "f2-waiting", "warning", 1250.0, 1000)],
        ),
        (zone(co2_mean_5m=700.0, co2_status="ok", temperature_status=None), []),
    ],
)
def test_zone_rules(state: ZoneState, expected: list[tuple[Any, ...]]) -> None:
    assert brief(zone_conditions(state, ZONE, RULES)) == expected


def test_zone_rule_dwell_times_come_from_the_settings() -> None:
    rules = AlertRules(climate_dwell_s=300, capacity_dwell_s=5, crowd_dwell_s=7)
    state = zone(CrowdLevel.CRITICAL, 200, co2_mean_5m=1500.0, co2_status="high")
    dwell = {c.rule: c.dwell_s for c in zone_conditions(state, ZONE, rules)}
    assert dwell == {"crowd_level": 7, "capacity": 5, "co2_high": 300}


def test_alert_level_critical_zone_ignores_crowded() -> None:
    canteen = ZoneRule(CrowdLevel.CRITICAL, 90, 90, ComfortBand())
    assert zone_conditions(zone(CrowdLevel.CROWDED, 80), canteen, RULES) == []


def test_capacity_ratio_setting() -> None:
    rules = AlertRules(capacity_ratio=0.9)
    assert brief(zone_conditions(zone(CrowdLevel.BUSY, 163), ZONE, rules)) == [
        ("capacity", "f2-waiting", "critical", 163, 162)
    ]


@pytest.mark.parametrize(
    ("waiting", "counters", "expected_wait", "raised"),
    [(10, 4, 10 * 900 / 4, True), (3, 4, 3 * 900 / 4, False), (4, 4, 900, False)],
)
def test_waiting_time_rule(waiting: int, counters: int, expected_wait: float, raised: bool) -> None:
    w = ServiceWait("land", "Land", "f2-waiting", waiting, counters, expected_wait)
    out = waiting_conditions([w], RULES)
    assert brief(out) == (
        [("waiting_time", "land", "warning", expected_wait, 900)] if raised else []
    )
    if raised:
        assert out[0].dwell_s == RULES.waiting_dwell_s
        assert out[0].zone_id == "f2-waiting"


def health(
    device: str, kind: DeviceKind, online: bool, detail: str = "", **kw: Any
) -> DeviceHealth:
    return DeviceHealth(device, kind, online, NOW, detail, **kw)


CAM = DeviceKind.CAMERA
SENSOR = DeviceKind.SENSOR


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        (health("cam-1", CAM, True, fps=2.0), []),
        (
            health("cam-1", CAM, False, "connection refused"),
            [("camera_offline", "cam-1", "warning")],
        ),
        (health("cam-1", CAM, False, "stalled"), [("camera_stalled", "cam-1", "warning")]),
        (
            health("cam-1", CAM, True, "stalled: no frame for 12 s"),
            [("camera_stalled", "cam-1", "warning")],
        ),
        (health("cam-1", CAM, True, "tampered"), [("camera_tampered", "cam-1", "critical")]),
        (
            health("pc-1", SENSOR, False, "stale: no data for 190 s"),
            [("sensor_stale", "pc-1", "warning")],
        ),
        (health("pc-1", SENSOR, True, battery_pct=14.0), [("battery_low", "pc-1", "info")]),
        (health("pc-1", SENSOR, True, battery_pct=15.0), []),
        (health("gateway", DeviceKind.GATEWAY, False), []),
    ],
)
def test_device_rules(device: DeviceHealth, expected: list[tuple[str, str, str]]) -> None:
    out = device_conditions([device], RULES, NOW, {"cam-1": "f2-waiting"})
    assert [(c.rule, c.subject, c.severity.value) for c in out] == expected
    for c in out:
        assert c.device_id == device.device_id
        assert c.dwell_s == (RULES.device_dwell_s if c.rule.startswith("camera") else 0)


def test_maintenance_window_suppresses_device_rules() -> None:
    window = MaintenanceWindow(
        device="cam-1",
        start=NOW - timedelta(minutes=5),
        end=NOW + timedelta(minutes=30),
        note="lens cleaning",
    )
    rules = AlertRules(maintenance=[window])
    offline = [health("cam-1", CAM, False), health("cam-2", CAM, False)]
    assert [c.subject for c in device_conditions(offline, rules, NOW)] == ["cam-2"]
    later = NOW + timedelta(minutes=30)
    assert [c.subject for c in device_conditions(offline, rules, later)] == ["cam-1", "cam-2"]
    assert in_maintenance("cam-1", NOW, [window])
    assert not in_maintenance("cam-1", window.end, [window])


@pytest.mark.parametrize(
    ("fill", "expected"),
    [
        (0.1, []),
        (0.5, [("spool_backlog", "spool", "warning", 0.5, 0.5)]),
        (0.95, [("spool_backlog", "spool", "critical", 0.95, 0.5)]),
    ],
)
def test_spool_rule(fill: float, expected: list[tuple[Any, ...]]) -> None:
    assert brief(spool_conditions(fill, 0.5)) == expected


def test_severity_values() -> None:
    assert {s.value for s in Severity} == {"info", "warning", "critical"}
