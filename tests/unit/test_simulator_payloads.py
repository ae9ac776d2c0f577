"""Wire formats of the simulated devices: literal payloads for fixed readings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter

from gateway.config_loader import load_settings
from gateway.observations import TicketEventKind
from gateway.settings import SensorConfig, Settings
from sensors.simulator.model import CenterModel
from sensors.simulator.payloads import battery_voltage_mv, dew_point_c, encode, topic_for
from sensors.simulator.readings import (
    ClimateReading,
    DoorCountReading,
    PresenceReading,
    TicketReading,
)

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AT = datetime(2026, 11, 22, 1, 15, tzinfo=UTC)  # 08:15 in Ho Chi Minh City
SENSOR = TypeAdapter(SensorConfig)


@cache
def settings() -> Settings:
    return load_settings(ROOT / "config" / "demo-site.yaml", {}).settings


def sensor(sensor_id: str) -> SensorConfig:
    return next(s for s in settings().sensors if s.id == sensor_id)


def climate(sensor_id: str, **values: Any) -> ClimateReading:
    base: dict[str, Any] = {
        "temperature_c": 27.1,
        "humidity_pct": 64.2,
        "co2_ppm": None,
        "pm25_ugm3": 12.5,
    }
    return ClimateReading(sensor_id, AT, **{**base, **values})


def test_tasmota_sht3x_with_local_time_and_no_offset() -> None:
    payload = encode(sensor("cl-f1-entrance"), climate("cl-f1-entrance"), TZ)
    assert payload == (
        b'{"Time":"2026-11-22T08:15:00","SHT3X":{"Temperature":27.1,"Humidity":64.2,'
        b'"DewPoint":19.8},"TempUnit":"C"}'
    )


def test_tasmota_scd40_when_the_device_has_co2() -> None:
    reading = climate("cl-f2-waiting", temperature_c=27.3, humidity_pct=63.1, co2_ppm=811.6)
    payload = encode(sensor("cl-f2-waiting"), reading, TZ)
    assert payload == (
        b'{"Time":"2026-11-22T08:15:00","SCD40":{"CarbonDioxide":812,"eCO2":812,'
        b'"Temperature":27.3,"Humidity":63.1,"DewPoint":19.7},"TempUnit":"C"}'
    )


def test_zigbee2mqtt_has_battery_voltage_and_link_but_no_timestamp() -> None:
    reading = climate(
        "cl-f1-canteen",
        temperature_c=27.44,
        humidity_pct=65.08,
        co2_ppm=650.2,
        battery_pct=87,
        linkquality=120,
    )
    payload = encode(sensor("cl-f1-canteen"), reading, TZ)
    assert payload == (
        b'{"battery":87,"humidity":65.1,"linkquality":120,"temperature":27.4,'
        b'"voltage":2900,"co2":650}'
    )


def test_generic_json_in_fahrenheit_with_epoch_ms() -> None:
    reading = climate("cl-f2-counters", temperature_c=27.0, humidity_pct=63.0, co2_ppm=820.3)
    payload = encode(sensor("cl-f2-counters"), reading, TZ)
    assert payload == b'{"ts":1795310100000,"data":{"temp_f":80.6,"rh":63.0,"co2":820}}'


def test_homeassistant_is_the_bare_number() -> None:
    payload = encode(sensor("cl-f2-landing-pm25"), climate("cl-f2-landing-pm25"), TZ)
    assert payload == b"12.5"


def test_door_counter_cumulative_and_delta() -> None:
    total = DoorCountReading("dc-main", AT, 1234, 1200, 57, cumulative=True)
    assert encode(sensor("dc-main"), total, TZ) == (
        b'{"in":1234,"out":1200,"seq":57,"ts":"2026-11-22T01:15:00Z"}'
    )
    delta = DoorCountReading("dc-side", AT + timedelta(minutes=1), 3, 1, 58, cumulative=False)
    assert encode(sensor("dc-side"), delta, TZ) == (
        b'{"in":3,"out":1,"seq":58,"ts":"2026-11-22T01:16:00Z"}'
    )


def test_presence() -> None:
    reading = PresenceReading("pc-f2-waiting", AT, 42)
    assert encode(sensor("pc-f2-waiting"), reading, TZ) == (
        b'{"count":42,"ts":"2026-11-22T01:15:00Z"}'
    )


def test_queue_ticket_events_with_milliseconds() -> None:
    at = AT + timedelta(seconds=3, milliseconds=120)
    issued = TicketReading("qms", at, TicketEventKind.ISSUED, "A012", "land", None)
    assert encode(sensor("qms"), issued, TZ) == (
        b'{"event":"issued","ticket":"A012","service":"land","counter":null,'
        b'"ts":"2026-11-22T01:15:03.120Z"}'
    )
    called = TicketReading("qms", at, TicketEventKind.CALLED, "A012", "land", 3)
    assert json.loads(encode(sensor("qms"), called, TZ))["counter"] == 3
    no_show = TicketReading("qms", at, TicketEventKind.NO_SHOW, "A012", "land", 3)
    assert json.loads(encode(sensor("qms"), no_show, TZ))["event"] == "no_show"


def test_topics_are_the_configured_ones_wildcards_become_the_sensor_id() -> None:
    assert topic_for(sensor("cl-f1-entrance")) == "tele/cl-f1-entrance/SENSOR"
    assert topic_for(sensor("qms")) == "qms/events"
    wild = SENSOR.validate_python(
        {"id": "t1", "kind": "climate", "decoder": "tasmota", "topic": "tele/+/SENSOR", "zone": "z"}
    )
    assert topic_for(wild) == "tele/t1/SENSOR"


def test_generic_json_units_scale_and_iso_timestamps() -> None:
    custom = SENSOR.validate_python(
        {
            "id": "aq",
            "kind": "climate",
            "decoder": "generic_json",
            "topic": "aq/1",
            "zone": "z",
            "fields": {
                "temperature_c": {"path": "t.k", "unit": "kelvin"},
                "humidity_pct": {"path": "t.rh", "unit": "fraction"},
                "pm25_ugm3": {"path": "pm", "scale": 0.1},
            },
            "timestamp": {"path": "time", "format": "iso8601"},
        }
    )
    payload = json.loads(encode(custom, climate("aq", temperature_c=26.85, pm25_ugm3=12.5), TZ))
    assert payload == {
        "time": "2026-11-22T01:15:00.000Z",
        "t": {"k": 300.0, "rh": 0.642},
        "pm": 125.0,
    }


def test_generic_json_presence_and_epoch_seconds() -> None:
    custom = SENSOR.validate_python(
        {
            "id": "pc",
            "kind": "presence",
            "decoder": "generic_json",
            "topic": "pc/1",
            "zone": "z",
            "fields": {"count": {"path": "people"}},
            "timestamp": {"path": "t", "format": "epoch_s"},
        }
    )
    assert encode(custom, PresenceReading("pc", AT, 7), TZ) == b'{"t":1795310100,"people":7}'


def test_a_reading_that_does_not_fit_the_family_is_refused() -> None:
    with pytest.raises(ValueError, match="climate"):
        encode(sensor("cl-f1-entrance"), PresenceReading("cl-f1-entrance", AT, 3), TZ)
    with pytest.raises(ValueError, match="passages"):
        encode(sensor("dc-main"), climate("dc-main"), TZ)
    with pytest.raises(ValueError, match="co2_ppm"):
        encode(sensor("cl-f2-counters"), climate("cl-f2-counters", co2_ppm=None), TZ)


def test_dew_point_and_battery_voltage() -> None:
    assert round(dew_point_c(27.1, 64.2), 1) == 19.8
    assert round(dew_point_c(20.0, 100.0), 6) == 20.0
    assert battery_voltage_mv(87) == 2900
    assert battery_voltage_mv(100) == 3020
    assert battery_voltage_mv(10) == 2190


def test_a_simulated_hour_encodes_to_valid_payloads_for_every_sensor() -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    model = CenterModel(settings(), 7, start)
    seen: dict[str, int] = {}
    by_id = {s.id: s for s in settings().sensors}
    for reading in model.step(start + timedelta(hours=1)):
        config = by_id[reading.sensor_id]
        raw = encode(config, reading, TZ)
        assert b" " not in raw or config.decoder == "homeassistant"
        if config.decoder == "homeassistant":
            float(raw.decode("utf-8"))
        else:
            body = json.loads(raw)
            assert isinstance(body, dict)
            if config.decoder == "tasmota":
                assert set(body) == {
                    "Time",
                    "TempUnit",
                    "SCD40" if "waiting" in config.id else "SHT3X",
                }
        seen[config.id] = seen.get(config.id, 0) + 1
    assert set(seen) == set(by_id)
    assert seen["qms"] > 50
