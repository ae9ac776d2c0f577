"""Zigbee2MQTT device state: ``zigbee2mqtt/<friendly name>``.

    {"battery": 87, "humidity": 65.1, "linkquality": 120, "temperature": 27.4,
     "voltage": 2900, "last_seen": "2026-11-22T01:15:00.000Z"}

temperature (°C), humidity (%), co2 (ppm) and pm25 (µg/m³) make a Climate;
battery (%), linkquality (0-255) and voltage (mV) make a DeviceHealth.
``last_seen`` (Zigbee2MQTT's ``advanced.last_seen``: ISO_8601, ISO_8601_local
or epoch milliseconds) is the reading's time when present. Other keys
(illuminance, update, ...) are ignored. Pure module.
"""

from __future__ import annotations

from gateway.observations import Climate, DeviceHealth, DeviceKind
from gateway.settings import Zigbee2MqttSensor
from sensors.decoders.common import (
    DecodeContext,
    JsonObject,
    Quantity,
    Stamp,
    TimeFormat,
    battery,
    climate_value,
    in_range,
    need_zone,
    num,
    number,
    parse_object,
    parse_time,
    stamp,
    tidy,
)
from sensors.models import Decoded, DecodeError, Message

CLIMATE_KEYS: dict[str, Quantity] = {
    "temperature": "temperature_c",
    "humidity": "humidity_pct",
    "co2": "co2_ppm",
    "pm25": "pm25_ugm3",
}
HEALTH_KEYS = ("battery", "linkquality", "voltage")


def decode(sensor: Zigbee2MqttSensor, ctx: DecodeContext, message: Message) -> list[Decoded]:
    obj = parse_object(message.payload)
    if not any(obj.get(k) is not None for k in (*CLIMATE_KEYS, *HEALTH_KEYS)):
        expected = ", ".join((*CLIMATE_KEYS, *HEALTH_KEYS))
        raise DecodeError(f"no known key (expected {expected})")
    when = _stamp(sensor, ctx, message, obj)
    out: list[Decoded] = []
    values: dict[Quantity, float] = {}
    for key, field in CLIMATE_KEYS.items():
        raw = obj.get(key)
        if raw is not None:
            values[field] = climate_value(field, tidy(number(raw, key)), ctx.limits)
    if values:
        out.append(
            Climate(
                zone_id=need_zone(sensor.zone, sensor.id),
                sensor_id=sensor.id,
                at=when.at,
                temperature_c=values.get("temperature_c"),
                humidity_pct=values.get("humidity_pct"),
                co2_ppm=values.get("co2_ppm"),
                pm25_ugm3=values.get("pm25_ugm3"),
            )
        )
    health = _health(sensor.id, obj, when)
    if health is not None:
        out.append(health)
    out.extend(when.health)
    return out


def _stamp(
    sensor: Zigbee2MqttSensor, ctx: DecodeContext, message: Message, obj: JsonObject
) -> Stamp:
    raw = obj.get("last_seen")
    if raw is None:
        return stamp(None, sensor.id, ctx, message)
    fmt: TimeFormat = "iso8601" if isinstance(raw, str) else "epoch_ms"
    return stamp(parse_time(raw, fmt, ctx.timezone, "last_seen"), sensor.id, ctx, message)


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
