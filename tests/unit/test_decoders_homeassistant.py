"""homeassistant: one value per topic; unavailable/unknown are health, not errors."""

from __future__ import annotations

import pytest

from gateway.observations import Climate, DeviceHealth, DeviceKind, PeopleCount
from gateway.settings import SensorConfig
from tests.unit.decoding_support import (
    RECEIVED,
    Fixture,
    check_fixture,
    fixtures,
    reason,
    run,
    sensor,
)


def ha(quantity: str, unit: str | None = None) -> SensorConfig:
    config: dict[str, object] = {
        "id": "ha-x",
        "kind": "presence" if quantity == "count" else "climate",
        "decoder": "homeassistant",
        "quantity": quantity,
        "topic": "homeassistant/sensor/x/state",
        "zone": "z",
    }
    if unit is not None:
        config["unit"] = unit
    return sensor(config)


@pytest.mark.parametrize("fixture", fixtures("homeassistant"))
def test_captured_payloads(fixture: Fixture) -> None:
    check_fixture(fixture)


@pytest.mark.parametrize(
    ("quantity", "unit", "payload", "expected"),
    [
        ("temperature_c", None, "26.4", Climate("z", "ha-x", RECEIVED, temperature_c=26.4)),
        ("temperature_c", None, " 26.4\n", Climate("z", "ha-x", RECEIVED, temperature_c=26.4)),
        ("temperature_c", None, '"26.4"', Climate("z", "ha-x", RECEIVED, temperature_c=26.4)),
        ("temperature_c", "kelvin", "299.55", Climate("z", "ha-x", RECEIVED, temperature_c=26.4)),
        ("humidity_pct", None, "64", Climate("z", "ha-x", RECEIVED, humidity_pct=64.0)),
        ("humidity_pct", "fraction", "0.64", Climate("z", "ha-x", RECEIVED, humidity_pct=64.0)),
        ("co2_ppm", None, "812", Climate("z", "ha-x", RECEIVED, co2_ppm=812.0)),
        ("pm25_ugm3", None, "1.2e1", Climate("z", "ha-x", RECEIVED, pm25_ugm3=12.0)),
        ("count", None, "31", PeopleCount("z", "ha-x", 31, RECEIVED)),
        ("count", None, "31.0", PeopleCount("z", "ha-x", 31, RECEIVED)),
        (
            "co2_ppm",
            None,
            "unknown",
            DeviceHealth("ha-x", DeviceKind.SENSOR, False, RECEIVED, "sensor reports unknown"),
        ),
        (
            "count",
            None,
            "Unavailable",
            DeviceHealth("ha-x", DeviceKind.SENSOR, False, RECEIVED, "sensor reports unavailable"),
        ),
    ],
)
def test_values(quantity: str, unit: str | None, payload: str, expected: object) -> None:
    assert run(ha(quantity, unit), payload) == [expected]


@pytest.mark.parametrize(
    ("quantity", "unit", "payload", "why"),
    [
        ("temperature_c", None, "", "empty payload"),
        ("temperature_c", None, "  ", "empty payload"),
        ("temperature_c", None, "26.4 lux", "temperature_c: unit 'lux' is not one we convert"),
        ("humidity_pct", None, "55 °C", "humidity_pct: unit celsius does not apply"),
        ("temperature_c", None, "nan", "temperature_c: expected a number, got string 'nan'"),
        ("temperature_c", None, "on", "temperature_c: expected a number, got string 'on'"),
        ("temperature_c", None, '{"state": 26.4}', "expected a single value, got a JSON object"),
        ("temperature_c", None, "true", "expected a number, got string 'true'"),
        ("temperature_c", None, "51", "temperature_c 51 outside [0, 50]"),
        ("temperature_c", "ppm", "26", "temperature_c: unit ppm does not apply"),
        ("count", None, "3.5", "count: 3.5 is not a whole number"),
        ("count", None, "-1", "count: -1 is negative"),
        ("count", None, "2001", "count 2001 outside [0, 2000]"),
        ("pm25_ugm3", None, b"\xc3\x28", "not UTF-8: invalid byte at 0"),
    ],
)
def test_errors(quantity: str, unit: str | None, payload: str | bytes, why: str) -> None:
    assert why in reason(ha(quantity, unit), payload)
