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
- PM2.5 (``PM2.5``) from ``PM_SENSORS``;
- pressure (``Pressure``, hPa, or mmHg with ``PressureUnit`` "mmHg") from
  ``PRESSURE_SENSORS``, illuminance (``Illuminance``, lux) from
  ``LIGHT_SENSORS``.

``probe`` restricts this to one driver (``SHT3X``) or one probe key
(``DS18B20-2``); ``probes`` maps probe keys to zones and makes one Climate per
probe (stored as sensor ``<id>.<probe key>``).

``TempUnit`` "F" converts temperatures. ``Time`` is device-local time without
an offset (Tasmota's default, and the ``2018.02.04 10:24:19`` of old
firmware) and is read in the site's time zone. The ESP32's own chip
temperature (``ESP32``) and unknown drivers are ignored.

The other messages of a device, by the topic's last level: ``LWT``
(``Online``/``Offline``, the Last Will) and ``STATE`` (uptime, Wi-Fi signal)
are device health; ``STATUS8``/``STATUS10`` (the answer to ``Status 8``) wrap
the same sensors in ``StatusSNS``; ``INFO1``-``INFO3``, ``UPTIME``,
``RESULT`` and ``MARGINS`` carry nothing to store. So ``tele/<device>/+``
reads everything a device says, and ``tele/+/+`` with ``devices`` (device
name -> zone) every board, each stored as its own sensor. Pure module.
"""

from __future__ import annotations

from datetime import datetime

from gateway.observations import Climate, DeviceHealth, DeviceKind
from gateway.settings import TasmotaSensor, Unit
from sensors.decoders.common import (
    DecodeContext,
    JsonObject,
    JsonValue,
    Quantity,
    availability,
    availability_word,
    climate_value,
    convert,
    device_target,
    need_zone,
    num,
    number,
    parse_object,
    parse_time,
    payload_text,
    show,
    stamp,
    tidy,
    type_name,
)
from sensors.models import Decoded, DecodeError, Message

TEMPERATURE_ORDER = (
    "SHT4X",
    "SHT3X",
    "SHTC3",
    "SI7021",
    "HTU21",
    "HDC1080",
    "BME280",
    "BME680",
    "BME688",
    "AHT2X",
    "AHT1X",
    "AM2301",
    "DHT22",
    "DHT11",
    "BMP280",
    "DS18B20",
    "SCD30",
    "SCD40",
    "SCD41",
)
CO2_SENSORS = ("SCD30", "SCD40", "SCD41", "MHZ19B")
PM_SENSORS = ("SDS0X1", "PMS5003", "PMS7003", "PMS3003")
PRESSURE_SENSORS = ("BME280", "BME680", "BME688", "BMP280", "BMP180", "BMP388")
LIGHT_SENSORS = ("BH1750", "TSL2561", "TSL2591", "VEML7700", "MAX44009")
KNOWN = tuple(
    dict.fromkeys(
        (*TEMPERATURE_ORDER, *CO2_SENSORS, *PM_SENSORS, *PRESSURE_SENSORS, *LIGHT_SENSORS)
    )
)
HPA_PER_MMHG = 1.333224

# (our field, the sensor object's key, drivers to take it from, in order)
READINGS: tuple[tuple[Quantity, str, tuple[str, ...]], ...] = (
    ("temperature_c", "Temperature", TEMPERATURE_ORDER),
    ("humidity_pct", "Humidity", TEMPERATURE_ORDER),
    ("co2_ppm", "CarbonDioxide", CO2_SENSORS),
    ("pm25_ugm3", "PM2.5", PM_SENSORS),
    ("pressure_hpa", "Pressure", PRESSURE_SENSORS),
    ("illuminance_lux", "Illuminance", LIGHT_SENSORS),
)
TEMP_UNITS = {"C": Unit.CELSIUS, "F": Unit.FAHRENHEIT}


SILENT = ("INFO1", "INFO2", "INFO3", "UPTIME", "RESULT", "MARGINS")
STATUS_SNS = ("STATUS8", "STATUS10")


def decode(sensor: TasmotaSensor, ctx: DecodeContext, message: Message) -> list[Decoded]:
    tail = message.topic.rsplit("/", 1)[-1]
    source, zone = device_target(
        sensor.id, sensor.zone, sensor.devices, sensor.topic, message.topic
    )
    if tail == "LWT":
        return [_lwt(source, ctx, message)]
    if tail in SILENT:
        return []
    obj = parse_object(message.payload)
    if tail == "STATE":
        return _state(source, ctx, message, obj)
    if tail in STATUS_SNS or "StatusSNS" in obj:
        inner = obj.get("StatusSNS")
        if not isinstance(inner, dict):
            raise DecodeError(f"StatusSNS: expected an object, got {type_name(inner)}")
        obj = inner
    drivers = _drivers(obj)
    if not drivers:
        raise DecodeError(f"no known sensor key (expected {', '.join(KNOWN)})")
    unit = _temp_unit(obj)
    raw_time = obj.get("Time")
    sensor_time = None if raw_time is None else parse_time(raw_time, None, ctx.timezone, "Time")
    when = stamp(sensor_time, source, ctx, message)
    if sensor.probes:
        climates = _per_probe(sensor, source, ctx, drivers, (unit, _pressure_scale(obj)), when.at)
        return [*climates, *when.health]
    if sensor.probe is not None:
        drivers = _only(drivers, sensor.probe)
    values = _values(drivers, unit, ctx, _pressure_scale(obj))
    climate = Climate(
        zone_id=need_zone(zone, sensor.id),
        sensor_id=source,
        at=when.at,
        temperature_c=values.get("temperature_c"),
        humidity_pct=values.get("humidity_pct"),
        co2_ppm=values.get("co2_ppm"),
        pm25_ugm3=values.get("pm25_ugm3"),
        pressure_hpa=values.get("pressure_hpa"),
        illuminance_lux=values.get("illuminance_lux"),
    )
    return [climate, *when.health]


Drivers = dict[str, list[tuple[str, JsonObject]]]


def _values(
    drivers: Drivers, unit: Unit, ctx: DecodeContext, pressure_scale: float = 1.0
) -> dict[Quantity, float]:
    values: dict[Quantity, float] = {}
    for field, key, order in READINGS:
        found = _first(drivers, order, key)
        if found is None:
            continue
        name, raw = found
        value = number(raw, f"{name}.{key}")
        if field == "temperature_c":
            value = convert(value, unit, field)
        elif field == "pressure_hpa":
            value *= pressure_scale
        values[field] = climate_value(field, tidy(value), ctx.limits)
    if not values:
        names = ", ".join(name for entries in drivers.values() for name, _ in entries)
        raise DecodeError(
            f"no reading in {names} (expected Temperature, Humidity, CarbonDioxide, PM2.5,"
            " Pressure or Illuminance)"
        )
    return values


def _only(drivers: Drivers, probe: str) -> Drivers:
    """The entries of one driver (SHT3X) or one probe key (DS18B20-2)."""
    chosen: Drivers = {}
    for driver, entries in drivers.items():
        kept = [(k, v) for k, v in entries if probe in (k, driver)]
        if kept:
            chosen[driver] = kept
    if not chosen:
        present = ", ".join(k for entries in drivers.values() for k, _ in entries)
        raise DecodeError(f"probe {show(probe)} is not in the payload (it has {present})")
    return chosen


def _per_probe(
    sensor: TasmotaSensor,
    source: str,
    ctx: DecodeContext,
    drivers: Drivers,
    units: tuple[Unit, float],
    at: datetime,
) -> list[Climate]:
    climates: list[Climate] = []
    for driver, entries in drivers.items():
        for key, values in entries:
            zone = sensor.probes.get(key)
            if zone is None:
                continue
            read = _values({driver: [(key, values)]}, units[0], ctx, units[1])
            climates.append(
                Climate(
                    zone_id=zone,
                    sensor_id=f"{source}.{key}",
                    at=at,
                    temperature_c=read.get("temperature_c"),
                    humidity_pct=read.get("humidity_pct"),
                    co2_ppm=read.get("co2_ppm"),
                    pm25_ugm3=read.get("pm25_ugm3"),
                    pressure_hpa=read.get("pressure_hpa"),
                    illuminance_lux=read.get("illuminance_lux"),
                )
            )
    if not climates:
        present = ", ".join(k for entries in drivers.values() for k, _ in entries)
        wanted = ", ".join(sensor.probes)
        raise DecodeError(f"none of the probes {wanted} is in the payload (it has {present})")
    return climates


def _lwt(source: str, ctx: DecodeContext, message: Message) -> DeviceHealth:
    text = payload_text(message.payload).strip()
    online = availability_word(text)
    if online is None:
        raise DecodeError(f"LWT: expected Online or Offline, got {show(text)}")
    at = stamp(None, source, ctx, message).at
    return availability(source, online, at, f"tasmota {'online' if online else 'offline'}")


def _state(source: str, ctx: DecodeContext, message: Message, obj: JsonObject) -> list[Decoded]:
    """STATE telemetry: the device is up; uptime and Wi-Fi signal as the detail."""
    raw_time = obj.get("Time")
    sensor_time = None if raw_time is None else parse_time(raw_time, None, ctx.timezone, "Time")
    when = stamp(sensor_time, source, ctx, message)
    parts: list[str] = []
    uptime = obj.get("UptimeSec")
    if uptime is not None:
        parts.append(f"uptime {num(number(uptime, 'UptimeSec'))} s")
    wifi = obj.get("Wifi")
    if isinstance(wifi, dict):
        signal = wifi.get("Signal")
        if signal is not None:
            parts.append(f"wifi {num(number(signal, 'Wifi.Signal'))} dBm")
        rssi = wifi.get("RSSI")
        if rssi is not None:
            parts.append(f"wifi quality {num(number(rssi, 'Wifi.RSSI'))} %")
    if not parts and "Uptime" not in obj:
        raise DecodeError("STATE without Uptime (expected Tasmota STATE telemetry)")
    detail = ", ".join(parts) or "tasmota state"
    return [
        DeviceHealth(source, DeviceKind.SENSOR, online=True, at=when.at, detail=detail),
        *when.health,
    ]


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


def _pressure_scale(obj: JsonObject) -> float:
    """hPa per unit of ``PressureUnit``: hPa (the default) or mmHg (``SetOption24 1``)."""
    raw = obj.get("PressureUnit")
    if raw is None or raw == "hPa":
        return 1.0
    if raw == "mmHg":
        return HPA_PER_MMHG
    raise DecodeError(f"PressureUnit {show(raw)} is not hPa or mmHg")


def _temp_unit(obj: JsonObject) -> Unit:
    raw = obj.get("TempUnit")
    if raw is None:
        return Unit.CELSIUS
    if isinstance(raw, str) and raw in TEMP_UNITS:
        return TEMP_UNITS[raw]
    raise DecodeError(f"TempUnit {show(raw)} is not C or F")
