"""tasmota: tele/<device>/SENSOR -> one merged Climate; captured payloads replayed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.observations import Climate, DeviceHealth, DeviceKind
from sensors.decoders.tasmota import driver_of
from tests.unit.decoding_support import (
    RECEIVED,
    Fixture,
    check_fixture,
    demo,
    fixtures,
    reason,
    run,
)

SENSOR = demo("cl-f2-waiting")
Z, S = "f2-waiting", "cl-f2-waiting"
AT = datetime(2026, 11, 22, 1, 15, tzinfo=UTC)
TIME = '"Time": "2026-11-22T08:15:00"'


@pytest.mark.parametrize("fixture", fixtures("tasmota"))
def test_captured_payloads(fixture: Fixture) -> None:
    check_fixture(fixture)


@pytest.mark.parametrize(
    ("key", "driver"),
    [
        ("SHT3X", "SHT3X"),
        ("SHT3X-0x44", "SHT3X"),
        ("DS18B20-1", "DS18B20"),
        ("AM2301-12", "AM2301"),
        ("SDS0X1", "SDS0X1"),
        ("ESP32", None),
        ("Time", None),
        ("sht3x", None),
    ],
)
def test_driver_names(key: str, driver: str | None) -> None:
    assert driver_of(key) == driver


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('"AM2301": {"Temperature": 27.0, "Humidity": 66.0}', Climate(Z, S, AT, 27.0, 66.0)),
        ('"DHT11": {"Temperature": 27, "Humidity": 66}', Climate(Z, S, AT, 27.0, 66.0)),
        ('"SI7021": {"Temperature": 27.5, "Humidity": 61.0}', Climate(Z, S, AT, 27.5, 61.0)),
        ('"HTU21": {"Temperature": 27.5, "Humidity": null}', Climate(Z, S, AT, 27.5)),
        (
            '"SCD41": {"CarbonDioxide": 640, "Temperature": 28.2, "Humidity": 55.0}',
            Climate(Z, S, AT, 28.2, 55.0, 640.0),
        ),
        (
            '"MHZ19B": {"CarbonDioxide": 700}, "DHT11": {"Temperature": 26, "Humidity": 60}',
            Climate(Z, S, AT, 26.0, 60.0, 700.0),
        ),
        (
            '"PMS5003": {"CF1": 4, "CF2.5": 7, "PM1": 4, "PM2.5": 7, "PM10": 9}',
            Climate(Z, S, AT, pm25_ugm3=7.0),
        ),
        (
            '"BME280": {"Temperature": 26.0, "Humidity": 60.0}, "SHT4X": {"Temperature": 26.4, "Humidity": 62.0}',
            Climate(Z, S, AT, 26.4, 62.0),
        ),
        (
            '"DS18B20": {"Temperature": 25.9}, "AM2301": {"Temperature": 27.0, "Humidity": 66.0}',
            Climate(Z, S, AT, 27.0, 66.0),
        ),
        (
            '"SHT3X": {"Temperature": 80.6, "Humidity": 60.0}, "TempUnit": "F"',
            Climate(Z, S, AT, 27.0, 60.0),
        ),
        (
            '"BH1750": {"Illuminance": 310}',
            Climate(Z, S, AT, illuminance_lux=310.0),
        ),
        (
            '"BMP280": {"Temperature": 28.2, "Pressure": 757.9}, "PressureUnit": "mmHg"',
            Climate(Z, S, AT, 28.2, pressure_hpa=1010.45047),  # 757.9 mmHg x 1.333224
        ),
    ],
    ids=[
        "am2301",
        "dht11",
        "si7021",
        "humidity-null",
        "scd41",
        "mhz19b-with-dht11",
        "pms5003",
        "sht4x-before-bme280",
        "am2301-before-ds18b20",
        "fahrenheit",
        "bh1750-illuminance",
        "bmp280-pressure-in-mmhg",
    ],
)
def test_drivers_and_merge(body: str, expected: Climate) -> None:
    assert run(SENSOR, f"{{{TIME}, {body}}}") == [expected]


def test_without_time_uses_receipt() -> None:
    assert run(SENSOR, '{"SHT3X": {"Temperature": 27.0}}') == [Climate(Z, S, RECEIVED, 27.0)]


def test_time_with_offset() -> None:
    payload = '{"Time": "2026-11-22T01:15:00+00:00", "SHT3X": {"Temperature": 27.0}}'
    assert run(SENSOR, payload) == [Climate(Z, S, AT, 27.0)]


def test_clock_never_set_uses_receipt_and_says_so() -> None:
    payload = '{"Time": "1970-01-01T00:00:42", "SHT3X": {"Temperature": 27.0}}'
    assert run(SENSOR, payload) == [
        Climate(Z, S, RECEIVED, 27.0),
        DeviceHealth(
            S,
            DeviceKind.SENSOR,
            True,
            RECEIVED,
            detail="clock not set (1969-12-31T16:00:42+00:00); using receipt time",
        ),
    ]


def test_epoch_number_time_of_an_unset_clock() -> None:
    health = run(SENSOR, '{"Time": 5, "SHT3X": {"Temperature": 27.1}}')[1]
    assert isinstance(health, DeviceHealth)
    assert health.detail == "clock not set (1970-01-01T00:00:05+00:00); using receipt time"


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (
            f'{{{TIME}, "ESP32": {{"Temperature": 50}}}}',
            "no known sensor key (expected SHT4X, SHT3X, SHTC3, SI7021",
        ),
        (
            f'{{{TIME}, "SHT3X": {{"DewPoint": 19.8}}}}',
            "no reading in SHT3X (expected Temperature, Humidity, CarbonDioxide, PM2.5, Pressure or Illuminance)",
        ),
        (f'{{{TIME}, "SHT3X": 27.1}}', "'SHT3X': expected an object, got number"),
        (
            f'{{{TIME}, "SHT3X": {{"Temperature": 27.1}}, "TempUnit": "K"}}',
            "TempUnit 'K' is not C or F",
        ),
        (f'{{{TIME}, "SCD30": {{"CarbonDioxide": 65000}}}}', "co2_ppm 65000 outside [250, 10000]"),
        (
            f'{{{TIME}, "BMP280": {{"Pressure": 1010}}, "PressureUnit": "inHg"}}',
            "PressureUnit 'inHg' is not hPa or mmHg",
        ),
        (f'{{{TIME}, "BME280": {{"Pressure": 0}}}}', "pressure_hpa 0 outside [500, 1100]"),
        (
            f'{{{TIME}, "SHT3X": {{"Temperature": "hot"}}}}',
            "SHT3X.Temperature: expected a number, got string 'hot'",
        ),
        (
            '{"Time": "2026-11-20T08:15:00", "SHT3X": {"Temperature": 27.1}}',
            "s before receipt (max_age_s 86400)",
        ),
    ],
)
def test_errors(payload: str, why: str) -> None:
    assert why in reason(SENSOR, payload)
