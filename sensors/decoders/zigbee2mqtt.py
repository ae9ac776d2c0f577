"""Zigbee2MQTT device state: ``zigbee2mqtt/<friendly name>``.

    {"battery": 87, "humidity": 65.1, "linkquality": 120, "temperature": 27.4,
     "voltage": 2900, "last_seen": "2026-11-22T01:15:00.000Z"}

temperature (°C), humidity (%), co2 (ppm), pm25 (µg/m³), pressure (hPa) and
illuminance (lux) make a Climate;
battery (%), linkquality (0-255) and voltage (mV) make a DeviceHealth.
``last_seen`` (Zigbee2MQTT's ``advanced.last_seen``: ISO_8601, ISO_8601_local
or epoch milliseconds) is the reading's time when present.

Binary ``presence`` (mmWave: Aqara FP1/FP2, Tuya) or ``occupancy`` (PIR: Hue
motion, Aqara, Sonoff SNZB-03) makes a PeopleCount of ``occupied_count``
people (0 when vacant) when the sensor config sets ``occupied_count``; it is
not stored otherwise. ``ignore`` lists keys not to read from this device
(``temperature`` of an FP1 is its chip's). ``pressure`` (hPa) and
``illuminance_lux`` or ``illuminance`` (lux) go with the Climate;
``device_temperature``, update, ... are not read.

Availability is device health, not an error: ``zigbee2mqtt/<name>/availability``
("online"/"offline" or ``{"state": "offline"}``) and ``zigbee2mqtt/bridge/state``
make a DeviceHealth (under any ``base_topic``, one level or several, as the
sensor's topic filter gives it); other bridge topics and ``/set``/``/get`` commands carry
nothing to store (an empty list). A wildcard topic (``zigbee2mqtt/+/#``)
with ``devices`` stores each device as its own sensor in its own zone.
Pure module.
"""

from __future__ import annotations

from gateway.observations import Climate, DeviceHealth, DeviceKind, PeopleCount
from gateway.settings import Zigbee2MqttSensor
from sensors.decoders.common import (
    DecodeContext,
    JsonObject,
    Quantity,
    Stamp,
    TimeFormat,
    availability,
    availability_word,
    battery,
    binary,
    climate_value,
    device_target,
    first_key,
    in_range,
    need_zone,
    num,
    number,
    parse_object,
    parse_time,
    payload_text,
    show,
    stamp,
    tidy,
)
from sensors.models import Decoded, DecodeError, Message

CLIMATE_KEYS: dict[str, Quantity] = {
    "temperature": "temperature_c",
    "humidity": "humidity_pct",
    "co2": "co2_ppm",
    "pm25": "pm25_ugm3",
    "pressure": "pressure_hpa",
    # Zigbee2MQTT 1.x sends illuminance_lux beside a raw illuminance; 2.x only
    # illuminance, in lux: the first one present is read
    "illuminance_lux": "illuminance_lux",
    "illuminance": "illuminance_lux",
}
HEALTH_KEYS = ("battery", "linkquality", "voltage")


BINARY_KEYS = ("presence", "occupancy")
COMMANDS = ("set", "get")


def decode(sensor: Zigbee2MqttSensor, ctx: DecodeContext, message: Message) -> list[Decoded]:
    levels = message.topic.split("/")
    bridge = _bridge_level(sensor.topic, levels)
    if bridge is not None:
        return _bridge(sensor, ctx, message, levels[bridge + 1 :])
    if len(levels) > 2 and (levels[-1] in COMMANDS or levels[-2] in COMMANDS):
        return []
    source, zone = device_target(
        sensor.id, sensor.zone, sensor.devices, sensor.topic, message.topic
    )
    if levels[-1] == "availability":
        return [_availability(source, ctx, message, "availability")]
    obj = parse_object(message.payload)
    for key in sensor.ignore:
        obj.pop(key, None)
    state = obj.get("state") if set(obj) == {"state"} else None
    if isinstance(state, str) and availability_word(state) is not None:
        return [_availability(source, ctx, message, "state")]  # availability on the device topic
    if not any(obj.get(k) is not None for k in (*CLIMATE_KEYS, *HEALTH_KEYS, *BINARY_KEYS)):
        expected = ", ".join((*CLIMATE_KEYS, *HEALTH_KEYS, *BINARY_KEYS))
        raise DecodeError(f"no known key (expected {expected})")
    when = _stamp(source, ctx, message, obj)
    out: list[Decoded] = []
    out.extend(_presence(sensor, source, zone, obj, when))
    values: dict[Quantity, float] = {}
    for key, field in CLIMATE_KEYS.items():
        raw = obj.get(key)
        if raw is not None and field not in values:
            values[field] = climate_value(field, tidy(number(raw, key)), ctx.limits)
    if values:
        out.append(
            Climate(
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
        )
    health = _health(source, obj, when)
    if health is not None:
        out.append(health)
    out.extend(when.health)
    return out


def _stamp(source: str, ctx: DecodeContext, message: Message, obj: JsonObject) -> Stamp:
    raw = obj.get("last_seen")
    if raw is None:
        return stamp(None, source, ctx, message)
    fmt: TimeFormat = "iso8601" if isinstance(raw, str) else "epoch_ms"
    return stamp(parse_time(raw, fmt, ctx.timezone, "last_seen"), source, ctx, message)


def _health(sensor_id: str, obj: JsonObject, when: Stamp) -> DeviceHealth | None:
    raw_battery, raw_lq, raw_voltage = (obj.get(k) for k in HEALTH_KEYS)
    if raw_battery is None and raw_lq is None and raw_voltage is None:
        return None
    pct = None if raw_battery is None else battery(number(raw_battery, "battery"))
    lq = (
        None if raw_lq is None else in_range("linkquality", number(raw_lq, "linkquality"), (0, 255))
    )
    detail = ""
    if raw_voltage is not None:
        mv = in_range("voltage", number(raw_voltage, "voltage"), (0, 60000))
        detail = f"voltage {num(mv)} mV"
    return DeviceHealth(
        device_id=sensor_id,
        kind=DeviceKind.SENSOR,
        online=True,
        at=when.at,
        detail=detail,
        battery_pct=pct,
        linkquality=lq,
    )


def _presence(
    sensor: Zigbee2MqttSensor, source: str, zone: str | None, obj: JsonObject, when: Stamp
) -> list[Decoded]:
    found = first_key(obj, BINARY_KEYS)
    if found is None:
        return []
    key, raw = found
    occupied = binary(raw, key)
    if sensor.occupied_count is None:
        if any(obj.get(k) is not None for k in (*CLIMATE_KEYS, *HEALTH_KEYS)):
            return []
        raise DecodeError(
            f"{key} is binary presence: set occupied_count in the sensor config to store it"
        )
    n = sensor.occupied_count if occupied else 0
    return [PeopleCount(need_zone(zone, sensor.id), source, n, when.at, binary=True)]


def _state_of(payload: bytes, name: str) -> bool:
    """online/offline as text or as {"state": "online"}."""
    text = payload_text(payload).strip()
    if text.startswith("{"):
        obj = parse_object(payload)
        raw = obj.get("state")
        text = raw if isinstance(raw, str) else ""
    state = availability_word(text)
    if state is None:
        raise DecodeError(f"{name}: expected online or offline, got {show(text)}")
    return state


def _availability(source: str, ctx: DecodeContext, message: Message, name: str) -> DeviceHealth:
    online = _state_of(message.payload, name)
    at = stamp(None, source, ctx, message).at
    word = "online" if online else "offline"
    return availability(source, online, at, f"zigbee2mqtt availability: {word}")


def _bridge_level(topic_filter: str, levels: list[str]) -> int | None:
    """Where ``bridge`` follows the base topic in ``levels``, if it does.

    The base topic is Zigbee2MQTT's ``base_topic`` (``zigbee2mqtt`` by default,
    ``site-1/zigbee2mqtt`` or ``z2m`` if so configured): the sensor's topic
    filter up to its first wildcard, or up to a literal ``bridge`` level.
    """
    for i, part in enumerate(topic_filter.split("/")):
        if part in ("+", "#"):
            base = max(i, 1)  # a bare '#' filter: the default one-level base
            return base if base < len(levels) and levels[base] == "bridge" else None
        if part == "bridge" and i >= 1:
            return i if i < len(levels) and levels[i] == "bridge" else None
    return None


def _bridge(
    sensor: Zigbee2MqttSensor, ctx: DecodeContext, message: Message, rest: list[str]
) -> list[Decoded]:
    if rest != ["state"]:
        return []  # bridge/info, bridge/devices, bridge/logging, ...: not sensor data
    online = _state_of(message.payload, "bridge/state")
    at = stamp(None, sensor.id, ctx, message).at
    word = "online" if online else "offline"
    return [availability(sensor.id, online, at, f"zigbee2mqtt bridge {word}")]
