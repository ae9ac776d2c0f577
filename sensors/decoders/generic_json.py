"""Any JSON payload whose fields are mapped by dotted paths in the sensor config.

    fields:
      temperature_c: {path: data.temp_f, unit: fahrenheit}
      humidity_pct: {path: data.rh}
    timestamp: {path: ts, format: epoch_ms}

What a payload becomes depends on the sensor's kind: climate fields make a
Climate, ``count`` a PeopleCount, ``entries``/``exits`` a cumulative
DoorCounterReading, ``battery_pct`` a DeviceHealth. A mapped path that is
absent (or null) in one payload is skipped; a payload with none of them is an
error. Pure module.
"""

from __future__ import annotations

from gateway.observations import Climate, DeviceHealth, DeviceKind, PeopleCount
from gateway.settings import GenericJsonSensor, SensorKind
from sensors.decoders.common import (
    DecodeContext,
    JsonValue,
    Quantity,
    Stamp,
    battery,
    climate_value,
    count,
    lookup,
    mapped,
    need_door,
    need_zone,
    parse_json,
    parse_time,
    people,
    stamp,
)
from sensors.models import Decoded, DecodeError, DoorCounterReading, Message

CLIMATE_FIELDS: tuple[Quantity, ...] = ("temperature_c", "humidity_pct", "co2_ppm", "pm25_ugm3")
FIELDS_BY_KIND: dict[SensorKind, tuple[str, ...]] = {
    SensorKind.CLIMATE: (*CLIMATE_FIELDS, "battery_pct"),
    SensorKind.PRESENCE: ("count", "battery_pct"),
    SensorKind.DOOR_COUNTER: ("entries", "exits", "battery_pct"),
}


def decode(sensor: GenericJsonSensor, ctx: DecodeContext, message: Message) -> list[Decoded]:
    _check_config(sensor)
    document = parse_json(message.payload)
    present: dict[str, JsonValue] = {
        name: value
        for name, fmap in sensor.fields.items()
        if (value := lookup(document, fmap.path)) is not None
    }
    if not present:
        wanted = ", ".join(f"{name} at {fmap.path}" for name, fmap in sensor.fields.items())
        raise DecodeError(f"none of the mapped fields is in the payload ({wanted})")
    when = _stamp(sensor, ctx, message, document)
    out: list[Decoded] = []
    if sensor.kind is SensorKind.CLIMATE:
        out.extend(_climate(sensor, ctx, present, when))
    elif sensor.kind is SensorKind.PRESENCE:
        out.extend(_presence(sensor, ctx, present, when))
    else:
        out.extend(_door(sensor, present, when))
    if "battery_pct" in present:
        pct = battery(mapped(present["battery_pct"], sensor.fields["battery_pct"], "battery_pct"))
        out.append(
            DeviceHealth(sensor.id, DeviceKind.SENSOR, online=True, at=when.at, battery_pct=pct)
        )
    out.extend(when.health)
    return out


def _check_config(sensor: GenericJsonSensor) -> None:
    allowed = FIELDS_BY_KIND.get(sensor.kind)
    if allowed is None:
        raise DecodeError(
            f"decoder generic_json cannot decode a {sensor.kind.value} sensor"
            " (sensor config; use decoder queue_ticket)"
        )
    unknown = sorted(set(sensor.fields) - set(allowed))
    if unknown:
        raise DecodeError(
            f"sensor config maps {', '.join(unknown)}: not a field of a {sensor.kind.value}"
            f" sensor (use {', '.join(allowed)})"
        )


def _stamp(
    sensor: GenericJsonSensor, ctx: DecodeContext, message: Message, document: JsonValue
) -> Stamp:
    if sensor.timestamp is None:
        return stamp(None, sensor.id, ctx, message)
    raw = lookup(document, sensor.timestamp.path)
    if raw is None:
        return stamp(None, sensor.id, ctx, message)
    at = parse_time(raw, sensor.timestamp.format, ctx.timezone, sensor.timestamp.path)
    return stamp(at, sensor.id, ctx, message)


def _climate(
    sensor: GenericJsonSensor, ctx: DecodeContext, present: dict[str, JsonValue], when: Stamp
) -> list[Decoded]:
    values: dict[Quantity, float] = {}
    for name in CLIMATE_FIELDS:
        if name in present:
            value = mapped(present[name], sensor.fields[name], name)
            values[name] = climate_value(name, value, ctx.limits)
    if not values:
        return []
    return [
        Climate(
            zone_id=need_zone(sensor.zone, sensor.id),
            sensor_id=sensor.id,
            at=when.at,
            temperature_c=values.get("temperature_c"),
            humidity_pct=values.get("humidity_pct"),
            co2_ppm=values.get("co2_ppm"),
            pm25_ugm3=values.get("pm25_ugm3"),
        )
    ]


def _presence(
    sensor: GenericJsonSensor, ctx: DecodeContext, present: dict[str, JsonValue], when: Stamp
) -> list[Decoded]:
    if "count" not in present:
        return []
    n = people(
        count(mapped(present["count"], sensor.fields["count"], "count"), "count"), ctx.limits
    )
    return [PeopleCount(need_zone(sensor.zone, sensor.id), sensor.id, n, when.at)]


def _door(sensor: GenericJsonSensor, present: dict[str, JsonValue], when: Stamp) -> list[Decoded]:
    if "entries" not in present and "exits" not in present:
        return []
    totals: dict[str, int] = {}
    for name in ("entries", "exits"):
        fmap = sensor.fields.get(name)
        if fmap is None:  # a one-way counter: the config maps only one direction
            totals[name] = 0
        elif name not in present:
            raise DecodeError(f"{name} missing at {fmap.path} (the other direction is there)")
        else:
            totals[name] = count(mapped(present[name], fmap, name), name)
    return [
        DoorCounterReading(
            door_id=need_door(sensor.door, sensor.id),
            sensor_id=sensor.id,
            at=when.at,
            entries=totals["entries"],
            exits=totals["exits"],
            cumulative=True,
        )
    ]
