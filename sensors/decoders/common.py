"""Helpers shared by the payload decoders. Pure module: values in, values out.

Every helper either returns a checked value or raises ``DecodeError`` with a
reason a person can act on. Values echoed from a payload into a reason go
through ``show`` (``repr``, truncated), so a reason is always short, printable
and encodable as UTF-8 whatever bytes arrived.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo

import orjson

from gateway.observations import DeviceHealth, DeviceKind
from gateway.settings import FieldMap, Unit, ValidationLimits
from sensors.models import DecodeError, Message

JsonValue: TypeAlias = "None | bool | int | float | str | list[JsonValue] | dict[str, JsonValue]"
JsonObject: TypeAlias = dict[str, JsonValue]

Quantity = Literal[
    "temperature_c", "humidity_pct", "co2_ppm", "pm25_ugm3", "pressure_hpa", "illuminance_lux"
]
TimeFormat = Literal["epoch_s", "epoch_ms", "iso8601"]

# Largest count we accept: exact in a float and far inside InfluxDB's int64.
MAX_COUNT = 2**53 - 1
# A sensor time before this is a clock that was never set (an ESP after boot
# without NTP says 1970-01-01), not a reading kept for decades.
CLOCK_NOT_SET_BEFORE = datetime(2000, 1, 1, tzinfo=UTC)
# Epoch numbers at or above this are milliseconds (1e11 s is the year 5138).
EPOCH_MS_FROM = 100_000_000_000

_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SHOW_MAX = 60


@dataclass(frozen=True, slots=True)
class DecodeContext:
    """What every decoder needs besides the sensor config and the message."""

    limits: ValidationLimits
    timezone: ZoneInfo  # the site's: device-local times without an offset are in it


# --------------------------------------------------------------------------- text


def show(value: object) -> str:
    """A payload value for a reason: its repr, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= _SHOW_MAX else text[: _SHOW_MAX - 3] + "..."


def num(value: float) -> str:
    """A number for a reason: 65000, 27.4, 1e+20."""
    return f"{value:g}"


def type_name(value: JsonValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


# --------------------------------------------------------------------------- JSON


_LONG_DIGITS = re.compile(rb"[0-9]{20}")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:_SHOW_MAX]} is out of range")
    return value


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def payload_text(payload: bytes) -> str:
    """The payload as text (UTF-8, an optional BOM dropped)."""
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"not UTF-8: invalid byte at {exc.start}") from None


def parse_json(payload: bytes) -> JsonValue:
    """Any JSON document; NaN, Infinity and numbers beyond a float are rejected.

    orjson reads a valid document (UTF-8, no BOM) three to four times faster than
    ``json``; whatever it refuses (a BOM, a lone surrogate, invalid UTF-8, bad JSON,
    an infinite number, nesting past its limit) goes through the standard parser,
    which either reads it as before or gives the reason a dead letter carries. So
    does a document with a run of 20 digits: orjson turns an integer beyond 64 bits
    into a float, where ``json`` keeps the integer (and a decoder's reason names it).
    """
    if _LONG_DIGITS.search(payload) is None:
        try:
            fast: JsonValue = orjson.loads(payload)
        except orjson.JSONDecodeError:
            pass
        else:
            return fast
    text = payload_text(payload)
    if not text.strip():
        raise DecodeError("empty payload")
    try:
        value: JsonValue = json.loads(
            text, parse_float=_finite_float, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as exc:
        raise DecodeError(f"not JSON: {exc.msg} at char {exc.pos}") from None
    except RecursionError:
        raise DecodeError("not JSON we accept: nested too deeply") from None
    except ValueError as exc:  # our hooks, and integers of more than 4300 digits
        raise DecodeError(f"not JSON we accept: {str(exc)[:_SHOW_MAX]}") from None
    return value


def parse_object(payload: bytes) -> JsonObject:
    """A JSON object (the payload of most devices)."""
    value = parse_json(payload)
    if not isinstance(value, dict):
        raise DecodeError(f"expected a JSON object, got {type_name(value)}")
    return value


def lookup(document: JsonValue, path: str) -> JsonValue:
    """The value at a dotted path (``data.temp``, ``values.0``); None when absent.

    A part that is a number indexes an array; anything else is an object key.
    JSON null and a missing key are the same to every decoder.
    """
    current = document
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and part.isascii():
            index = int(part)
            current = current[index] if index < len(current) else None
        else:
            return None
    return current


def first_key(obj: JsonObject, keys: tuple[str, ...]) -> tuple[str, JsonValue] | None:
    """The first of ``keys`` present (and not null) in ``obj``, with its value."""
    for key in keys:
        value = obj.get(key)
        if value is not None:
            return key, value
    return None


# --------------------------------------------------------------------------- numbers


def number(value: JsonValue, name: str) -> float:
    """A finite number; a numeric string ("26.4") counts, a boolean does not."""
    if isinstance(value, bool):
        raise DecodeError(f"{name}: expected a number, got boolean {show(value)}")
    if isinstance(value, int):
        if abs(value) > MAX_COUNT:
            raise DecodeError(f"{name}: number {num(float(value))} is out of range")
        return float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DecodeError(f"{name}: {show(value)} is not a finite number")
        return value
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER_TEXT.fullmatch(text):
            parsed = float(text)
            if math.isfinite(parsed):
                return parsed
        raise DecodeError(f"{name}: expected a number, got string {show(value)}")
    raise DecodeError(f"{name}: expected a number, got {type_name(value)}")


def count(value: JsonValue, name: str) -> int:
    """A whole, non-negative number of people or passages (42 and 42.0, not 42.5)."""
    as_float = number(value, name)
    if not as_float.is_integer():
        raise DecodeError(f"{name}: {num(as_float)} is not a whole number")
    if as_float < 0:
        raise DecodeError(f"{name}: {num(as_float)} is negative")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if as_float > MAX_COUNT:
        raise DecodeError(f"{name}: {num(as_float)} is out of range")
    return int(as_float)


_UNITS_OF: dict[str, frozenset[Unit]] = {
    "temperature_c": frozenset({Unit.CELSIUS, Unit.FAHRENHEIT, Unit.KELVIN}),
    "humidity_pct": frozenset({Unit.PERCENT, Unit.FRACTION}),
    "battery_pct": frozenset({Unit.PERCENT, Unit.FRACTION}),
    "co2_ppm": frozenset({Unit.PPM}),
    "pm25_ugm3": frozenset({Unit.UGM3}),
    "count": frozenset({Unit.COUNT}),
    "entries": frozenset({Unit.COUNT}),
    "exits": frozenset({Unit.COUNT}),
}


def convert(value: float, unit: Unit | None, field: str) -> float:
    """A value in ``unit`` expressed in the unit of our ``field`` (°C, %, ppm, µg/m³)."""
    if unit is None:
        return value
    allowed = _UNITS_OF.get(field, frozenset())
    if unit not in allowed:
        choices = ", ".join(sorted(u.value for u in allowed)) or "none"
        raise DecodeError(
            f"{field}: unit {unit.value} does not apply (sensor config; use {choices})"
        )
    if unit is Unit.FAHRENHEIT:
        return (value - 32.0) * 5.0 / 9.0
    if unit is Unit.KELVIN:
        return value - 273.15
    if unit is Unit.FRACTION:
        return value * 100.0
    return value


def mapped(value: JsonValue, fmap: FieldMap, field: str) -> float:
    """A mapped source value: value map or number, unit conversion, then scale and offset."""
    raw = _mapped_value(value, fmap, field) if fmap.values else number(value, field)
    converted = convert(raw, fmap.unit, field) * fmap.scale + fmap.offset
    if not math.isfinite(converted):
        raise DecodeError(f"{field}: {show(value)} is out of range after scale/offset")
    return tidy(converted)


def _mapped_value(value: JsonValue, fmap: FieldMap, field: str) -> float:
    """The number a value map gives a source value; a number not in the map is itself."""
    key = ("true" if value else "false") if isinstance(value, bool) else value
    if isinstance(key, str):
        found = fmap.values.get(key)
        if found is None:
            found = fmap.values.get(key.strip().lower())
        if found is not None:
            return found
        if isinstance(value, bool) or not _NUMBER_TEXT.fullmatch(key.strip()):
            known = ", ".join(sorted(fmap.values))
            raise DecodeError(f"{field}: {show(value)} is not in the value map ({known})")
    return number(value, field)


def tidy(value: float) -> float:
    """Drop the float noise of a conversion (26.999999999999996 -> 27.0)."""
    return round(value, 6)


# --------------------------------------------------------------------------- ranges


def in_range(field: str, value: float, bounds: tuple[float, float]) -> float:
    low, high = bounds
    if not low <= value <= high:
        raise DecodeError(f"{field} {num(value)} outside [{num(low)}, {num(high)}]")
    return value


def climate_value(field: Quantity, value: float, limits: ValidationLimits) -> float:
    """A climate reading checked against the site's plausibility limits."""
    bounds: Mapping[str, tuple[float, float]] = {
        "temperature_c": limits.temperature_c,
        "humidity_pct": limits.humidity_pct,
        "co2_ppm": limits.co2_ppm,
        "pm25_ugm3": limits.pm25_ugm3,
        "pressure_hpa": limits.pressure_hpa,
        "illuminance_lux": limits.illuminance_lux,
    }
    return in_range(field, value, bounds[field])


def people(value: int, limits: ValidationLimits, field: str = "count") -> int:
    low, high = limits.count
    if not low <= value <= high:
        raise DecodeError(f"{field} {value} outside [{low}, {high}]")
    return value


def battery(value: float) -> float:
    return in_range("battery_pct", value, (0.0, 100.0))


# --------------------------------------------------------------------------- time


def parse_time(value: JsonValue, fmt: TimeFormat | None, tz: ZoneInfo, name: str) -> datetime:
    """A sensor timestamp as an aware UTC datetime.

    ``fmt`` None guesses: a number (or a string of digits) is epoch seconds, or
    epoch milliseconds from 1e11 up; a string of 14 digits from the year 2000
    on is ``YYYYMMDDhhmmss`` (Axis); any other string is ISO 8601 (or its
    ``2018.02.04 10:24:19`` / ``2022/12/20 19:15:52`` forms). A time without an
    offset is device-local time in the site's time zone ``tz``.
    """
    if fmt is None:
        if isinstance(value, str) and _COMPACT_TIME.fullmatch(value.strip()):
            fmt = "iso8601"  # 20170503112756: Axis's local time, not an epoch
        elif isinstance(value, str) and _is_digits(value.strip()):
            value = value.strip()
            fmt = "epoch_ms" if int(value[:20]) >= EPOCH_MS_FROM else "epoch_s"
        elif isinstance(value, int | float) and not isinstance(value, bool):
            fmt = "epoch_ms" if value >= EPOCH_MS_FROM else "epoch_s"
        else:
            fmt = "iso8601"
    if fmt == "iso8601":
        return _iso_time(value, tz, name)
    seconds = number(value, name)
    if fmt == "epoch_ms":
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, ValueError, OSError):
        raise DecodeError(f"{name}: {show(value)} is not a time ({fmt})") from None


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


# Dates written with dots or slashes: Tasmota before 6.x ("2018.02.04 10:24:19")
# and Milesight's HTTP/MQTT reports ("2022/12/20 18:15:52").
_DOTTED_DATE = re.compile(r"([0-9]{4})[./]([0-9]{2})[./]([0-9]{2})([ T].*)?")
# Fourteen digits, YYYYMMDDhhmmss, local time (Axis People Counter). An epoch in
# milliseconds has 13 digits until the year 2286, so the two do not collide.
_COMPACT_TIME = re.compile(
    r"(20[0-9]{2})([01][0-9])([0-3][0-9])([0-2][0-9])([0-5][0-9])([0-5][0-9])"
)


def _iso_time(value: JsonValue, tz: ZoneInfo, name: str) -> datetime:
    if not isinstance(value, str):
        raise DecodeError(f"{name}: expected an ISO 8601 string, got {type_name(value)}")
    text = value.strip()
    dotted = _DOTTED_DATE.fullmatch(text)
    if dotted is not None:
        year, month, day, rest = dotted.groups()
        text = f"{year}-{month}-{day}{rest or ''}"
    compact = _COMPACT_TIME.fullmatch(text)
    if compact is not None:
        year, month, day, hour, minute, second = compact.groups()
        text = f"{year}-{month}-{day}T{hour}:{minute}:{second}"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise DecodeError(f"{name}: {show(value)} is not an ISO 8601 time") from None


@dataclass(frozen=True, slots=True)
class Stamp:
    """The time an observation is stored at, and any health note about the clock."""

    at: datetime
    health: tuple[DeviceHealth, ...] = ()


def stamp(sensor_time: datetime | None, sensor_id: str, ctx: DecodeContext, msg: Message) -> Stamp:
    """Apply the clock rules to a sensor time (None: the payload has none).

    - none: the receipt time;
    - more than ``max_clock_skew_s`` in the future of receipt, or before 2000
      (a clock never set): the receipt time, plus a DeviceHealth saying so;
    - more than ``max_age_s`` before receipt: DecodeError;
    - otherwise the sensor time.
    """
    received = msg.received_at.astimezone(UTC)
    if sensor_time is None:
        return Stamp(received)
    limits = ctx.limits
    if sensor_time < CLOCK_NOT_SET_BEFORE:
        detail = f"clock not set ({sensor_time.isoformat()}); using receipt time"
        return Stamp(received, (_clock_note(sensor_id, received, detail),))
    ahead = (sensor_time - received) / timedelta(seconds=1)
    if ahead > limits.max_clock_skew_s:
        detail = f"clock skew +{round(ahead)} s; using receipt time"
        return Stamp(received, (_clock_note(sensor_id, received, detail),))
    if -ahead > limits.max_age_s:
        raise DecodeError(
            f"timestamp {sensor_time.isoformat()} is {round(-ahead)} s before receipt"
            f" (max_age_s {num(limits.max_age_s)})"
        )
    return Stamp(sensor_time)


def _clock_note(sensor_id: str, at: datetime, detail: str) -> DeviceHealth:
    return DeviceHealth(
        device_id=sensor_id, kind=DeviceKind.SENSOR, online=True, at=at, detail=detail
    )


def payload_time(
    obj: JsonObject, keys: tuple[str, ...], sensor_id: str, ctx: DecodeContext, msg: Message
) -> Stamp:
    """The stamp of an object whose time, if any, is under the first of ``keys``."""
    found = first_key(obj, keys)
    if found is None:
        return stamp(None, sensor_id, ctx, msg)
    key, value = found
    return stamp(parse_time(value, None, ctx.timezone, key), sensor_id, ctx, msg)


# --------------------------------------------------------------------------- config


def need_zone(zone: str | None, sensor_id: str) -> str:
    if zone is None:
        raise DecodeError(f"sensor {sensor_id} has no zone in its config")
    return zone


def need_door(door: str | None, sensor_id: str) -> str:
    if door is None:
        raise DecodeError(f"sensor {sensor_id} has no door in its config")
    return door


# --------------------------------------------------------------------------- availability

ONLINE_WORDS = frozenset({"online", "on-line", "connected", "available"})
OFFLINE_WORDS = frozenset({"offline", "off-line", "disconnected", "unavailable", "unknown"})


def availability_word(text: str) -> bool | None:
    """True for an online word, False for an offline word, None for anything else."""
    word = text.strip().lower()
    if word in ONLINE_WORDS:
        return True
    if word in OFFLINE_WORDS:
        return False
    return None


def availability(sensor_id: str, online: bool, at: datetime, detail: str) -> DeviceHealth:
    """A device's own online/offline report (LWT, availability topic) as its health."""
    return DeviceHealth(
        device_id=sensor_id, kind=DeviceKind.SENSOR, online=online, at=at, detail=detail
    )


BINARY_WORDS: dict[str, bool] = {
    "on": True,
    "off": False,
    "true": True,
    "false": False,
    "occupied": True,
    "vacant": False,
    "detected": True,
    "clear": False,
    "1": True,
    "0": False,
}


def binary(value: JsonValue, name: str) -> bool:
    """A binary state: JSON true/false, ON/OFF, occupied/vacant, 1/0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        state = BINARY_WORDS.get(value.strip().lower())
        if state is not None:
            return state
    raise DecodeError(f"{name}: expected a binary state (ON/OFF, true/false), got {show(value)}")


# --------------------------------------------------------------------------- units in text

_UNIT_WORDS: dict[str, Unit] = {
    "°c": Unit.CELSIUS,
    "c": Unit.CELSIUS,
    "ºc": Unit.CELSIUS,
    "°f": Unit.FAHRENHEIT,
    "f": Unit.FAHRENHEIT,
    "ºf": Unit.FAHRENHEIT,
    "k": Unit.KELVIN,
    "%": Unit.PERCENT,
    "ppm": Unit.PPM,
    "µg/m³": Unit.UGM3,
    "μg/m³": Unit.UGM3,
    "ug/m3": Unit.UGM3,
    "µg/m3": Unit.UGM3,
}
_VALUE_UNIT = re.compile(r"\s*(" + _NUMBER_TEXT.pattern + r")\s*(\S.{0,15})?\s*")


def number_with_unit(text: str, name: str) -> tuple[float, Unit | None]:
    """``21.5``, ``21.5 °C``, ``70.7°F``, ``55 %``: the number and the unit it names."""
    match = _VALUE_UNIT.fullmatch(text)
    if match is None:
        raise DecodeError(f"{name}: expected a number, got string {show(text)}")
    value = number(match.group(1), name)
    word = match.group(2)
    if word is None:
        return value, None
    unit = _UNIT_WORDS.get(word.strip().lower())
    if unit is None:
        raise DecodeError(f"{name}: unit {show(word)} is not one we convert")
    return value, unit


# --------------------------------------------------------------------------- wildcard topics


def wildcard_levels(topic_filter: str, topic: str) -> str | None:
    """The topic levels a filter's '+' matched, joined by '/'; None when it has no '+'."""
    f_parts = topic_filter.split("/")
    t_parts = topic.split("/")
    matched = [t_parts[i] for i, part in enumerate(f_parts) if part == "+" and i < len(t_parts)]
    return "/".join(matched) if matched else None


def device_target(
    sensor_id: str,
    zone: str | None,
    devices: Mapping[str, str],
    topic_filter: str,
    topic: str,
) -> tuple[str, str | None]:
    """(source id, zone) of the device that published on ``topic``.

    Without ``devices``: the sensor itself. With them, the device is named by
    the topic levels the filter's '+' matched, joined by '/'
    (``+/sensor/+/state`` -> ``lobby-node/temperature``), or by the first of
    them (``tele/+/+`` -> ``lobby_th``), and is stored as ``<id>.<device>``.
    """
    if not devices:
        return sensor_id, zone
    matched = wildcard_levels(topic_filter, topic)
    candidates = [] if matched is None else [matched, matched.split("/", 1)[0]]
    for device in candidates:
        if device in devices:
            return f"{sensor_id}.{device}", devices[device]
    known = ", ".join(sorted(devices))
    raise DecodeError(f"device {show(matched)} is not in the sensor's devices ({known})")
