"""People-count (presence) sensors: mmWave radars, ceiling counters.

    {"count": 42, "ts": "2026-11-22T01:15:00Z"}
    42
    {"event": "Region People Counting", "current_total": 10,          (Milesight VS121-P,
     "numbering_regions": [1, 2], "current_counted": [5, 5],          MQTT / HTTP)
     "occupancy": [1, 0], "time_info": {"timezone": "UTC+8:00",
     "end_time": "2022/12/20 19:15:52"}, ...}
    {"people_count_all": 3, "region_1_count": 0, "region_1": 1, ...}  (VS121 LoRaWAN codec)

The count is under the first of ``count``, ``people``, ``people_count``,
``current_total`` (Milesight VS121-P), ``people_count_all`` (VS121 LoRaWAN)
or ``occupancy`` (a number), or is the whole payload. With ``region: N`` the
count of region N is read instead: ``current_counted`` at N's place in
``numbering_regions``, or ``region_N_count``.

Binary presence (a boolean ``occupancy``/``presence``, the VS121-P's
``occupancy`` array or the codec's ``region_N``) makes a PeopleCount of the
sensor's ``occupied_count`` people (0 when vacant); without
``occupied_count`` it is an error that names that setting.

Optional time under ``ts``, ``timestamp`` or ``time``, or Milesight's
``time_info.end_time`` (the end of the counting period, in
``time_info.timezone``). It becomes PeopleCount(zone, sensor, count, at,
confidence=1.0), the count checked against ``validation.count``. Pure module.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone

from gateway.observations import PeopleCount
from gateway.settings import PresenceSensor
from sensors.decoders.common import (
    DecodeContext,
    JsonObject,
    JsonValue,
    Stamp,
    binary,
    count,
    first_key,
    need_zone,
    parse_json,
    parse_time,
    payload_time,
    people,
    show,
    stamp,
    type_name,
)
from sensors.models import Decoded, DecodeError, Message

COUNT_KEYS = ("count", "people", "people_count", "current_total", "people_count_all", "occupancy")
BINARY_KEYS = ("occupancy", "presence", "occupied")
TIME_KEYS = ("ts", "timestamp", "time")
_UTC_OFFSET = re.compile(r"UTC([+-])([0-9]{1,2}):?([0-9]{2})?")


def decode(sensor: PresenceSensor, ctx: DecodeContext, message: Message) -> list[Decoded]:
    zone = need_zone(sensor.zone, sensor.id)
    document = parse_json(message.payload)
    if isinstance(document, int | float | str) and not isinstance(document, bool):
        n = people(count(document, "count"), ctx.limits)
        when = stamp(None, sensor.id, ctx, message)
        return [PeopleCount(zone, sensor.id, n, when.at), *when.health]
    if not isinstance(document, dict):
        raise DecodeError(f"expected a JSON object or a number, got {type_name(document)}")
    when = _stamp(document, sensor, ctx, message)
    if sensor.region is not None:
        n = _region(sensor, document, sensor.region)
    else:
        n = _total(sensor, document)
    binary = isinstance(n, _Binary)
    count_n = people(int(n), ctx.limits)
    return [PeopleCount(zone, sensor.id, count_n, when.at, binary=binary), *when.health]


def _total(sensor: PresenceSensor, document: JsonObject) -> int:
    found = first_key(document, COUNT_KEYS)
    if found is not None and not isinstance(found[1], bool | list):
        key, raw = found
        return count(raw, key)
    found = first_key(document, BINARY_KEYS)
    if found is not None and not isinstance(found[1], list):
        key, raw = found
        return _occupied(sensor, binary(raw, key), key)
    raise DecodeError(f"no people count (expected one of {', '.join(COUNT_KEYS)})")


def _region(sensor: PresenceSensor, document: JsonObject, region: int) -> int:
    counted = document.get("current_counted")
    if isinstance(counted, list):
        return count(_at_region(document, counted, region, "current_counted"), "current_counted")
    raw = document.get(f"region_{region}_count")
    if raw is not None:
        return count(raw, f"region_{region}_count")
    occupancy = document.get("occupancy")
    if isinstance(occupancy, list):
        value = _at_region(document, occupancy, region, "occupancy")
        return _occupied(sensor, binary(value, "occupancy"), "occupancy")
    raw = document.get(f"region_{region}")
    if raw is not None:
        return _occupied(sensor, binary(raw, f"region_{region}"), f"region_{region}")
    raise DecodeError(
        f"no count of region {region} (expected current_counted or region_{region}_count)"
    )


def _at_region(document: JsonObject, values: list[JsonValue], region: int, name: str) -> JsonValue:
    numbering = document.get("numbering_regions")
    index = region - 1
    if isinstance(numbering, list) and region in numbering:
        index = numbering.index(region)
    if index >= len(values):
        raise DecodeError(f"{name} has no region {region} ({len(values)} regions)")
    return values[index]


class _Binary(int):
    """A count that is a binary reading's occupied_count or 0 (stored as presence too)."""


def _occupied(sensor: PresenceSensor, occupied: bool, key: str) -> int:
    if sensor.occupied_count is None:
        raise DecodeError(
            f"{key} is binary presence: set occupied_count in the sensor config to store it"
        )
    return _Binary(sensor.occupied_count if occupied else 0)


def _stamp(
    document: JsonObject, sensor: PresenceSensor, ctx: DecodeContext, message: Message
) -> Stamp:
    info = document.get("time_info")
    if isinstance(info, dict) and info.get("end_time") is not None:
        tz = _offset(info.get("timezone"))
        at = parse_time(info["end_time"], "iso8601", ctx.timezone, "time_info.end_time")
        if tz is not None:  # the time was local to the device's configured zone, not the site's
            at = at.astimezone(ctx.timezone).replace(tzinfo=tz).astimezone(UTC)
        return stamp(at, sensor.id, ctx, message)
    return payload_time(document, TIME_KEYS, sensor.id, ctx, message)


def _offset(raw: JsonValue) -> timezone | None:
    """Milesight's ``"UTC+8:00"`` as a fixed offset; None when absent."""
    if raw is None:
        return None
    match = _UTC_OFFSET.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        raise DecodeError(f"time_info.timezone {show(raw)} is not UTC+H:MM")
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta > timedelta(hours=14):
        raise DecodeError(f"time_info.timezone {show(raw)} is not UTC+H:MM")
    return timezone(-delta if sign == "-" else delta)
