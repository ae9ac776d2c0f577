"""generic_json: field maps, units, scale/offset, timestamps, kinds; captured payloads replayed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.observations import Climate, DeviceHealth, DeviceKind, PeopleCount
from gateway.settings import SensorConfig
from sensors.models import DoorCounterReading
from tests.unit.decoding_support import (
    RECEIVED,
    Fixture,
    check_fixture,
    fixtures,
    reason,
    run,
    sensor,
)


@pytest.mark.parametrize("fixture", fixtures("generic_json"))
def test_captured_payloads(fixture: Fixture) -> None:
    check_fixture(fixture)


def climate(**fields: object) -> SensorConfig:
    config: dict[str, object] = {
        "id": "cl-x",
        "kind": "climate",
        "decoder": "generic_json",
        "topic": "x",
        "zone": "z",
        "fields": fields,
    }
    return sensor(config)


AT = datetime(2026, 11, 22, 1, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "payload", "expected"),
    [
        ({"temperature_c": {"path": "t"}}, '{"t": 26.4}', Climate("z", "cl-x", RECEIVED, 26.4)),
        (
            {"temperature_c": {"path": "t", "unit": "kelvin"}},
            '{"t": 300.15}',
            Climate("z", "cl-x", RECEIVED, 27.0),
        ),
        (
            {"temperature_c": {"path": "t", "scale": 0.1}},
            '{"t": 264}',
            Climate("z", "cl-x", RECEIVED, 26.4),
        ),
        (
            {"temperature_c": {"path": "t", "offset": -0.5}},
            '{"t": "27.1"}',
            Climate("z", "cl-x", RECEIVED, 26.6),
        ),
        (
            {"humidity_pct": {"path": "a.b.c", "unit": "fraction"}},
            '{"a": {"b": {"c": 0.634}}}',
            Climate("z", "cl-x", RECEIVED, humidity_pct=63.4),
        ),
        (
            {"pm25_ugm3": {"path": "pm.1"}, "co2_ppm": {"path": "co2"}},
            '{"pm": [3, 12.5], "co2": 700}',
            Climate("z", "cl-x", RECEIVED, co2_ppm=700.0, pm25_ugm3=12.5),
        ),
        (
            {"temperature_c": {"path": "0.t"}},
            '[{"t": 25}]',
            Climate("z", "cl-x", RECEIVED, 25.0),
        ),
    ],
    ids=["celsius", "kelvin", "scale", "offset-numeric-string", "fraction", "array", "top-array"],
)
def test_climate_values(fields: dict[str, object], payload: str, expected: Climate) -> None:
    assert run(climate(**fields), payload) == [expected]


@pytest.mark.parametrize(
    ("timestamp", "value", "at"),
    [
        ({"path": "ts", "format": "epoch_s"}, 1795310100, AT),
        ({"path": "ts", "format": "epoch_ms"}, 1795310100000, AT),
        ({"path": "ts", "format": "epoch_s"}, 1795310100.5, AT.replace(microsecond=500000)),
        ({"path": "ts"}, '"2026-11-22T01:15:00Z"', AT),
        ({"path": "ts"}, '"2026-11-22T08:15:00+07:00"', AT),
        ({"path": "ts"}, '"2026-11-22T08:15:00"', AT),  # naive: site time zone
        ({"path": "ts"}, "null", RECEIVED),
    ],
    ids=["epoch_s", "epoch_ms", "fractional", "iso-z", "iso-offset", "iso-naive-local", "null"],
)
def test_timestamp_formats(timestamp: dict[str, str], value: object, at: datetime) -> None:
    config = sensor(
        {
            "id": "cl-x",
            "kind": "climate",
            "decoder": "generic_json",
            "topic": "x",
            "zone": "z",
            "fields": {"temperature_c": {"path": "t"}},
            "timestamp": timestamp,
        }
    )
    assert run(config, f'{{"t": 26, "ts": {value}}}') == [Climate("z", "cl-x", at, 26.0)]


def test_presence_and_battery() -> None:
    config = sensor(
        {
            "id": "pc-x",
            "kind": "presence",
            "decoder": "generic_json",
            "topic": "x",
            "zone": "z",
            "fields": {"count": {"path": "n"}, "battery_pct": {"path": "bat"}},
        }
    )
    assert run(config, '{"n": 12.0, "bat": 55}') == [
        PeopleCount("z", "pc-x", 12, RECEIVED),
        DeviceHealth("pc-x", DeviceKind.SENSOR, True, RECEIVED, battery_pct=55.0),
    ]
    assert run(config, '{"bat": 54}') == [
        DeviceHealth("pc-x", DeviceKind.SENSOR, True, RECEIVED, battery_pct=54.0)
    ]


def test_one_way_door_counter() -> None:
    config = sensor(
        {
            "id": "dc-x",
            "kind": "door_counter",
            "decoder": "generic_json",
            "topic": "x",
            "door": "d",
            "fields": {"entries": {"path": "in"}},
        }
    )
    assert run(config, '{"in": 9}') == [DoorCounterReading("d", "dc-x", RECEIVED, 9, 0, True)]


@pytest.mark.parametrize(
    ("fields", "payload", "why"),
    [
        (
            {"temperature_c": {"path": "t"}},
            '{"x": 1}',
            "none of the mapped fields is in the payload (temperature_c at t)",
        ),
        ({"temperature_c": {"path": "t"}}, '{"t": 99}', "temperature_c 99 outside [0, 50]"),
        (
            {"temperature_c": {"path": "t"}},
            '{"t": true}',
            "temperature_c: expected a number, got boolean True",
        ),
        (
            {"temperature_c": {"path": "t"}},
            '{"t": "warm"}',
            "temperature_c: expected a number, got string 'warm'",
        ),
        (
            {"temperature_c": {"path": "t"}},
            '{"t": [1]}',
            "temperature_c: expected a number, got array",
        ),
        (
            {"temperature_c": {"path": "t"}},
            '{"t": NaN}',
            "not JSON we accept: NaN is not a number JSON allows",
        ),
        (
            {"temperature_c": {"path": "t"}},
            '{"t": 1e999}',
            "not JSON we accept: number 1e999 is out of range",
        ),
        (
            {"temperature_c": {"path": "t"}},
            "{",
            "not JSON: Expecting property name enclosed in double quotes at char 1",
        ),
        ({"temperature_c": {"path": "t"}}, "", "empty payload"),
        (
            {"temperature_c": {"path": "t", "unit": "ppm"}},
            '{"t": 1}',
            "temperature_c: unit ppm does not apply",
        ),
        (
            {"co2_ppm": {"path": "c", "scale": 1e308}},
            '{"c": 1e10}',
            "out of range after scale/offset",
        ),
        (
            {"count": {"path": "n"}},
            '{"n": 3}',
            "sensor config maps count: not a field of a climate sensor",
        ),
    ],
)
def test_errors(fields: dict[str, object], payload: str, why: str) -> None:
    assert why in reason(climate(**fields), payload)


def test_bad_bytes() -> None:
    assert (
        reason(climate(temperature_c={"path": "t"}), b"\xff\xfe{}")
        == "not UTF-8: invalid byte at 0"
    )


def test_door_direction_missing() -> None:
    config = sensor(
        {
            "id": "dc-x",
            "kind": "door_counter",
            "decoder": "generic_json",
            "topic": "x",
            "door": "d",
            "fields": {"entries": {"path": "in"}, "exits": {"path": "out"}},
        }
    )
    assert reason(config, '{"in": 3}') == "exits missing at out (the other direction is there)"
    assert reason(config, '{"in": 3, "out": -1}') == "exits: -1 is negative"


def test_queue_kind_is_not_supported() -> None:
    config = sensor(
        {
            "id": "q",
            "kind": "queue",
            "decoder": "generic_json",
            "topic": "x",
            "fields": {"count": {"path": "n"}},
        }
    )
    assert "use decoder queue_ticket" in reason(config, '{"n": 1}')
