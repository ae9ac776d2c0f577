"""Wire formats of the simulated devices, one encoder per decoder family. Pure module.

``encode(sensor, reading, tz)`` returns the bytes the configured device would
publish (compact JSON, UTF-8; Home Assistant: the bare number), and
``topic_for(sensor)`` the topic it publishes on. The formats are the ones the
decoders in ``sensors.decoders`` read:

- tasmota ``tele/<device>/SENSOR``: ``{"Time": local time without offset,
  "SHT3X"|"SCD40": {...}, "TempUnit": "C"}`` (SCD40 when the device has CO2);
- zigbee2mqtt: ``{"battery", "humidity", "linkquality", "temperature", "voltage", "co2"}``;
- generic_json: the sensor's ``fields`` / ``timestamp`` mapping, units converted back;
- homeassistant: the ``quantity`` as text, e.g. ``12.5``;
- door_counter: ``{"in", "out", "seq", "ts"}`` (totals or deltas per ``mode``);
- presence: ``{"count", "ts"}``;
- queue_ticket: ``{"event", "ticket", "service", "counter", "ts"}`` with milliseconds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from gateway.settings import (
    FieldMap,
    GenericJsonSensor,
    HomeAssistantSensor,
    SensorConfig,
    TimestampMap,
    Unit,
)
from sensors.simulator.readings import (
    ClimateReading,
    DoorCountReading,
    PresenceReading,
    SeatReading,
    SimReading,
    TicketReading,
)

JsonValue = str | int | float | bool | None | dict[str, "JsonValue"] | list["JsonValue"]
JsonObject = dict[str, JsonValue]


def topic_for(sensor: SensorConfig) -> str:
    """The device's topic: the configured one, a wildcard level replaced by the sensor id."""
    parts = sensor.topic.split("/")
    return "/".join(sensor.id if part in ("+", "#") else part for part in parts)


def encode(sensor: SensorConfig, reading: SimReading, tz: ZoneInfo) -> bytes:
    """The payload ``sensor`` publishes for ``reading``; ValueError when they do not fit."""
    encoder = _ENCODERS.get(sensor.decoder)
    if encoder is None:
        raise ValueError(f"no encoder for decoder family {sensor.decoder!r}")
    body = encoder(sensor, reading, tz)
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------- helpers


def utc_iso(at: datetime, *, millis: bool = False) -> str:
    """2026-11-22T01:15:00Z (or ...:03.120Z with ``millis``)."""
    utc = at.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if millis:
        text += f".{utc.microsecond // 1000:03d}"
    return text + "Z"


def local_iso(at: datetime, tz: ZoneInfo) -> str:
    """Device-local wall time without offset, as Tasmota sends it."""
    return at.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S")


def epoch_ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def dew_point_c(temperature_c: float, humidity_pct: float) -> float:
    """Magnus formula (Sonntag 1990 constants)."""
    a, b = 17.62, 243.12
    gamma = math.log(max(humidity_pct, 0.1) / 100) + a * temperature_c / (b + temperature_c)
    return b * gamma / (a - gamma)


def _climate(reading: SimReading, family: str) -> ClimateReading:
    if not isinstance(reading, ClimateReading):
        raise ValueError(f"{family} devices report climate, not {type(reading).__name__}")
    return reading


def _r1(value: float) -> float:
    return round(value, 1)


# --------------------------------------------------------------------------- families


def _tasmota(_sensor: SensorConfig, reading: SimReading, tz: ZoneInfo) -> JsonObject:
    r = _climate(reading, "tasmota")
    dew = _r1(dew_point_c(r.temperature_c, r.humidity_pct))
    block: JsonObject
    name: str
    if r.co2_ppm is not None:
        co2 = round(r.co2_ppm)
        name = "SCD40"
        block = {"CarbonDioxide": co2, "eCO2": co2}
    else:
        name = "SHT3X"
        block = {}
    block.update(
        {"Temperature": _r1(r.temperature_c), "Humidity": _r1(r.humidity_pct), "DewPoint": dew}
    )
    return {"Time": local_iso(r.at, tz), name: block, "TempUnit": "C"}


def _zigbee2mqtt(_sensor: SensorConfig, reading: SimReading, _tz: ZoneInfo) -> JsonObject:
    r = _climate(reading, "zigbee2mqtt")
    body: JsonObject = {}
    if r.battery_pct is not None:
        body["battery"] = r.battery_pct
    body["humidity"] = _r1(r.humidity_pct)
    if r.linkquality is not None:
        body["linkquality"] = r.linkquality
    body["temperature"] = _r1(r.temperature_c)
    if r.battery_pct is not None:
        body["voltage"] = battery_voltage_mv(r.battery_pct)
    if r.co2_ppm is not None:
        body["co2"] = round(r.co2_ppm)
    return body


def battery_voltage_mv(battery_pct: int) -> int:
    """A CR2032 cell: about 2.1 V empty, 3.0 V full; 87 % -> 2900 mV."""
    return round((2100 + 9.2 * battery_pct) / 10) * 10


def _door_counter(_sensor: SensorConfig, reading: SimReading, _tz: ZoneInfo) -> JsonObject:
    if not isinstance(reading, DoorCountReading):
        raise ValueError(f"door counters report passages, not {type(reading).__name__}")
    return {
        "in": reading.entries,
        "out": reading.exits,
        "seq": reading.seq,
        "ts": utc_iso(reading.at),
    }


def _presence(_sensor: SensorConfig, reading: SimReading, _tz: ZoneInfo) -> JsonObject:
    if isinstance(reading, SeatReading):  # a counter seat's PIR: binary presence
        return {"presence": reading.occupied, "ts": utc_iso(reading.at)}
    if not isinstance(reading, PresenceReading):
        raise ValueError(f"presence sensors report counts, not {type(reading).__name__}")
    return {"count": reading.count, "ts": utc_iso(reading.at)}


def _queue_ticket(_sensor: SensorConfig, reading: SimReading, _tz: ZoneInfo) -> JsonObject:
    if not isinstance(reading, TicketReading):
        raise ValueError(f"the queue system reports ticket events, not {type(reading).__name__}")
    return {
        "event": reading.event.value,
        "ticket": reading.ticket,
        "service": reading.service_id,
        "counter": reading.counter,
        "ts": utc_iso(reading.at, millis=True),
    }


def _homeassistant(sensor: SensorConfig, reading: SimReading, _tz: ZoneInfo) -> str:
    if not isinstance(sensor, HomeAssistantSensor):
        raise ValueError("homeassistant encoding needs a homeassistant sensor")
    value = _quantities(reading).get(sensor.quantity)
    if value is None:
        raise ValueError(f"{type(reading).__name__} has no {sensor.quantity}")
    raw = _to_source(value, sensor.quantity, FieldMap(path="state", unit=sensor.unit))
    return json.dumps(raw)


def _generic_json(sensor: SensorConfig, reading: SimReading, _tz: ZoneInfo) -> JsonObject:
    if not isinstance(sensor, GenericJsonSensor):
        raise ValueError("generic_json encoding needs a generic_json sensor")
    values = _quantities(reading)
    body: JsonObject = {}
    if sensor.timestamp is not None:
        _set_path(body, sensor.timestamp.path, _timestamp(reading.at, sensor.timestamp))
    for quantity, mapping in sensor.fields.items():
        value = values.get(quantity)
        if value is None:
            raise ValueError(f"{type(reading).__name__} has no {quantity} for {mapping.path!r}")
        _set_path(body, mapping.path, _to_source(value, quantity, mapping))
    return body


Encoder = Callable[[SensorConfig, SimReading, ZoneInfo], JsonObject | str]
_ENCODERS: dict[str, Encoder] = {
    "tasmota": _tasmota,
    "zigbee2mqtt": _zigbee2mqtt,
    "generic_json": _generic_json,
    "homeassistant": _homeassistant,
    "door_counter": _door_counter,
    "presence": _presence,
    "queue_ticket": _queue_ticket,
}


# --------------------------------------------------------------------------- field mapping

_INTEGER = {"co2_ppm", "count", "entries", "exits", "battery_pct"}


def _quantities(reading: SimReading) -> dict[str, float | None]:
    """A reading as our quantity names (the keys of a generic_json ``fields`` map)."""
    if isinstance(reading, ClimateReading):
        return {
            "temperature_c": reading.temperature_c,
            "humidity_pct": reading.humidity_pct,
            "co2_ppm": reading.co2_ppm,
            "pm25_ugm3": reading.pm25_ugm3,
            "battery_pct": reading.battery_pct,
        }
    if isinstance(reading, PresenceReading):
        return {"count": reading.count}
    if isinstance(reading, DoorCountReading):
        return {"entries": reading.entries, "exits": reading.exits}
    return {}


def _to_source(value: float, quantity: str, mapping: FieldMap) -> int | float:
    """Invert the decoder's ``unit`` -> ``scale`` -> ``offset`` conversion, then round."""
    raw = (value - mapping.offset) / mapping.scale
    unit = mapping.unit
    if unit is Unit.FAHRENHEIT:
        raw = raw * 9 / 5 + 32
    elif unit is Unit.KELVIN:
        raw = raw + 273.15
    elif unit is Unit.FRACTION:
        raw = raw / 100
    if mapping.scale != 1.0 or mapping.offset != 0.0:
        return round(raw, 3)
    if unit is Unit.FRACTION:
        return round(raw, 3)
    if unit is Unit.KELVIN:
        return round(raw, 2)
    if quantity in _INTEGER:
        return round(raw)
    return round(raw, 1)


def _timestamp(at: datetime, spec: TimestampMap) -> int | str:
    if spec.format == "epoch_ms":
        return epoch_ms(at)
    if spec.format == "epoch_s":
        return epoch_ms(at) // 1000
    return utc_iso(at, millis=True)


def _set_path(body: JsonObject, path: str, value: JsonValue) -> None:
    keys = path.split(".")
    node = body
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ValueError(f"path {path!r} crosses the value at {key!r}")
        node = child
    if keys[-1] in node:
        raise ValueError(f"path {path!r} is mapped twice")
    node[keys[-1]] = value
