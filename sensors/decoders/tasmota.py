"""Tasmota telemetry: ``tele/<device>/SENSOR``.

    {"Time": "2026-11-22T08:15:00",
     "SHT3X": {"Temperature": 27.1, "Humidity": 64.2, "DewPoint": 19.8},
     "TempUnit": "C"}

Each attached sensor is an object under its driver's name, with a suffix when
there are several (``SHT3X-0x44``, ``DS18B20-1``, ``AM2301-12``). All known
sensors of one payload merge into one Climate:

- temperature and humidity come, each on its own, from the first sensor in
  ``TEMPERATURE_ORDER`` that reports them (the most accurate first; the
  self-heated CO2 sensors last); several sensors of one driver are taken in
  payload order;
- CO2 (``CarbonDioxide``, not the estimated ``eCO2``) from ``CO2_SENSORS``;
- PM2.5 (``PM2.5``) from ``PM_SENSORS``.

``TempUnit`` "F" converts temperatures. ``Time`` is device-local time without
an offset (Tasmota's default) and is read in the site's time zone. The
ESP32's own chip temperature (``ESP32``) and unknown drivers are ignored.
Pure module.
"""

from __future__ import annotations

from gateway.observations import Climate
from gateway.settings import TasmotaSensor, Unit
from sensors.decoders.common import (
    DecodeContext,
    JsonObject,
    JsonValue,
    Quantity,
    climate_value,
    convert,
    need_zone,
    number,
    parse_object,
    parse_time,
    show,
    stamp,
    tidy,
    type_name,
)
from sensors.models import Decoded, DecodeError, Message

TEMPERATURE_ORDER = (
    "SHT4X",
    "SHT3X",
    "SI7021",
    "HTU21",
    "BME280",
    "BME680",
    "AM2301",
    "DHT11",
    "DS18B20",
    "SCD30",
    "SCD40",
    "SCD41",
)
CO2_SENSORS = ("SCD30", "SCD40", "SCD41", "MHZ19B")
PM_SENSORS = ("SDS0X1", "PMS5003", "PMS7003", "PMS3003")
KNOWN = tuple(dict.fromkeys((*TEMPERATURE_ORDER, *CO2_SENSORS, *PM_SENSORS)))

# (our field, the sensor object's key, drivers to take it from, in order)
READINGS: tuple[tuple[Quantity, str, tuple[str, ...]], ...] = (
    ("temperature_c", "Temperature", TEMPERATURE_ORDER),
    ("humidity_pct", "Humidity", TEMPERATURE_ORDER),
    ("co2_ppm", "CarbonDioxide", CO2_SENSORS),
    ("pm25_ugm3", "PM2.5", PM_SENSORS),
)
TEMP_UNITS = {"C": Unit.CELSIUS, "F": Unit.FAHRENHEIT}


def decode(sensor: TasmotaSensor, ctx: DecodeContext, message: Message) -> list[Decoded]:
    obj = parse_object(message.payload)
    drivers = _drivers(obj)
    if not drivers:
        raise DecodeError(f"no known sensor key (expected {', '.join(KNOWN)})")
    unit = _temp_unit(obj)
    values: dict[Quantity, float] = {}
    for field, key, order in READINGS:
        found = _first(drivers, order, key)
        if found is None:
            continue
        name, raw = found
        value = number(raw, f"{name}.{key}")
        if field == "temperature_c":
            value = convert(value, unit, field)
        values[field] = climate_value(field, tidy(value), ctx.limits)
    if not values:
        names = ", ".join(name for entries in drivers.values() for name, _ in entries)
        raise DecodeError(
            f"no reading in {names} (expected Temperature, Humidity, CarbonDioxide or PM2.5)"
        )
    raw_time = obj.get("Time")
    sensor_time = None if raw_time is None else parse_time(raw_time, None, ctx.timezone, "Time")
    when = stamp(sensor_time, sensor.id, ctx, message)
    climate = Climate(
        zone_id=need_zone(sensor.zone, sensor.id),
        sensor_id=sensor.id,
        at=when.at,
        temperature_c=values.get("temperature_c"),
        humidity_pct=values.get("humidity_pct"),
        co2_ppm=values.get("co2_ppm"),
        pm25_ugm3=values.get("pm25_ugm3"),
    )
    return [climate, *when.health]


def driver_of(key: str) -> str | None:
    """The known driver a payload key belongs to: SHT3X-0x44 -> SHT3X."""
    base = key.split("-", 1)[0]
    return base if base in KNOWN else None


def _drivers(obj: JsonObject) -> dict[str, list[tuple[str, JsonObject]]]:
    """Known drivers of the payload -> their (key, object) entries in payload order."""
    found: dict[str, list[tuple[str, JsonObject]]] = {}
    for key, value in obj.items():
        driver = driver_of(key)
        if driver is None:
            continue
        if not isinstance(value, dict):
            raise DecodeError(f"{show(key)}: expected an object, got {type_name(value)}")
        found.setdefault(driver, []).append((key, value))
    return found


def _first(
    drivers: dict[str, list[tuple[str, JsonObject]]], order: tuple[str, ...], key: str
) -> tuple[str, JsonValue] | None:
    for driver in order:
        for name, values in drivers.get(driver, []):
            raw = values.get(key)
            if raw is not None:
                return name, raw
    return None


def _temp_unit(obj: JsonObject) -> Unit:
    raw = obj.get("TempUnit")
    if raw is None:
        return Unit.CELSIUS
    if isinstance(raw, str) and raw in TEMP_UNITS:
        return TEMP_UNITS[raw]
    raise DecodeError(f"TempUnit {show(raw)} is not C or F")
