"""zigbee2mqtt: device state JSON -> Climate + DeviceHealth; captured payloads replayed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.observations import Climate, DeviceHealth, DeviceKind
from sensors.decoders import decode
from tests.unit.decoding_support import (
    CTX,
    RECEIVED,
    Fixture,
    check_fixture,
    demo,
    fixtures,
    message,
    reason,
    run,
    sensor,
)

SENSOR = demo("cl-f1-canteen")
Z, S = "f1-canteen", "cl-f1-canteen"


@pytest.mark.parametrize("fixture", fixtures("zigbee2mqtt"))
def test_captured_payloads(fixture: Fixture) -> None:
    check_fixture(fixture)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"temperature": 26.5}', [Climate(Z, S, RECEIVED, 26.5)]),
        ('{"humidity": 70, "battery": null}', [Climate(Z, S, RECEIVED, humidity_pct=70.0)]),
        (
            '{"linkquality": 0}',
            [DeviceHealth(S, DeviceKind.SENSOR, True, RECEIVED, linkquality=0.0)],
        ),
        (
            '{"battery": 12, "device_temperature": 40, "update": {"state": "idle"}}',
            [DeviceHealth(S, DeviceKind.SENSOR, True, RECEIVED, battery_pct=12.0)],
        ),
        (
            '{"pressure": 1008.2, "illuminance": 16250, "illuminance_lux": 42}',
            [Climate(Z, S, RECEIVED, pressure_hpa=1008.2, illuminance_lux=42.0)],
        ),
        (
            '{"illuminance": 33}',  # Zigbee2MQTT 2.x (and Aqara on 1.x): lux
            [Climate(Z, S, RECEIVED, illuminance_lux=33.0)],
        ),
        (
            '{"temperature": 26.5, "last_seen": "2026-11-22T01:14:59.123Z"}',
            [Climate(Z, S, datetime(2026, 11, 22, 1, 14, 59, 123000, tzinfo=UTC), 26.5)],
        ),
    ],
    ids=[
        "temperature-only",
        "null-is-absent",
        "linkquality-only",
        "battery-ignores-others",
        "pressure-and-lux-preferred-to-raw-illuminance",
        "illuminance-in-lux",
        "iso-ms",
    ],
)
def test_values(payload: str, expected: list[object]) -> None:
    assert run(SENSOR, payload) == expected


def test_clock_skew_uses_receipt_time_and_says_so() -> None:
    payload = '{"temperature": 26.5, "last_seen": "2026-11-22T02:15:05Z"}'  # an hour ahead
    assert run(SENSOR, payload) == [
        Climate(Z, S, RECEIVED, 26.5),
        DeviceHealth(
            S, DeviceKind.SENSOR, True, RECEIVED, detail="clock skew +3600 s; using receipt time"
        ),
    ]


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        ('{"temperature": 26.5, "battery": 180}', "battery_pct 180 outside [0, 100]"),
        ('{"temperature": 26.5, "linkquality": 300}', "linkquality 300 outside [0, 255]"),
        ('{"humidity": 101}', "humidity_pct 101 outside [0, 100]"),
        ('{"co2": 9}', "co2_ppm 9 outside [250, 10000]"),
        ('{"temperature": 26.5, "pressure": 0}', "pressure_hpa 0 outside [500, 1100]"),
        ('{"illuminance_lux": -1}', "illuminance_lux -1 outside [0, 200000]"),
        (
            '{"temperature": 26.5, "last_seen": "yesterday"}',
            "last_seen: 'yesterday' is not an ISO 8601 time",
        ),
        ('{"temperature": 26.5, "last_seen": 1795100000000}', "s before receipt (max_age_s 86400)"),
        ('["temperature", 26.5]', "expected a JSON object, got array"),
        ("online", "not JSON: Expecting value at char 0"),
    ],
)
def test_errors(payload: str, why: str) -> None:
    assert why in reason(SENSOR, payload)


@pytest.mark.parametrize(
    ("topic_filter", "topic", "health"),
    [
        ("zigbee2mqtt/#", "zigbee2mqtt/bridge/state", True),
        ("zigbee2mqtt/+/#", "zigbee2mqtt/bridge/state", True),
        ("site-1/zigbee2mqtt/#", "site-1/zigbee2mqtt/bridge/state", True),  # base_topic 2 levels
        ("z2m/+", "z2m/bridge/state", True),
        ("site-1/zigbee2mqtt/bridge/state", "site-1/zigbee2mqtt/bridge/state", True),
        ("#", "zigbee2mqtt/bridge/state", True),
        ("site-1/zigbee2mqtt/#", "site-1/zigbee2mqtt/bridge/info", False),  # nothing stored
        ("zigbee2mqtt/lobby/#", "zigbee2mqtt/lobby/availability", True),  # a device's
    ],
)
def test_bridge_state_under_any_base_topic(topic_filter: str, topic: str, health: bool) -> None:
    config = sensor(
        {
            "id": "z2m",
            "kind": "climate",
            "decoder": "zigbee2mqtt",
            "topic": topic_filter,
            "zone": "lobby",
        }
    )
    decoded = decode(config, CTX, message('{"state": "offline"}', topic=topic))
    if health:
        [offline] = decoded
        assert isinstance(offline, DeviceHealth) and not offline.online
    else:
        assert decoded == []
