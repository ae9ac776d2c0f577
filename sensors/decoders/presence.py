"""People-count (presence) sensors: mmWave radars, ceiling counters.

    {"count": 42, "ts": "2026-11-22T01:15:00Z"}
    42

The count is under the first of ``count``, ``people``, ``people_count``,
``occupancy`` (a number; a boolean occupancy is binary presence, not a count)
or ``people_count_all`` (Milesight), or is the whole payload. Optional time
under ``ts``, ``timestamp`` or ``time``. It becomes PeopleCount(zone, sensor,
count, at, confidence=1.0), the count checked against ``validation.count``.
Pure module.
"""

from __future__ import annotations

from gateway.observations import PeopleCount
from gateway.settings import PresenceSensor
from sensors.decoders.common import (
    DecodeContext,
    count,
    first_key,
    need_zone,
    parse_json,
    payload_time,
    people,
    show,
    stamp,
    type_name,
)
from sensors.models import Decoded, DecodeError, Message

COUNT_KEYS = ("count", "people", "people_count", "occupancy", "people_count_all")
TIME_KEYS = ("ts", "timestamp", "time")


def decode(sensor: PresenceSensor, ctx: DecodeContext, message: Message) -> list[Decoded]:
    zone = need_zone(sensor.zone, sensor.id)
    document = parse_json(message.payload)
    if isinstance(document, int | float | str) and not isinstance(document, bool):
        n = people(count(document, "count"), ctx.limits)
        when = stamp(None, sensor.id, ctx, message)
        return [PeopleCount(zone, sensor.id, n, when.at), *when.health]
    if not isinstance(document, dict):
        raise DecodeError(f"expected a JSON object or a number, got {type_name(document)}")
    found = first_key(document, COUNT_KEYS)
    if found is None:
        raise DecodeError(f"no people count (expected one of {', '.join(COUNT_KEYS)})")
    key, raw = found
    if isinstance(raw, bool):
        raise DecodeError(f"{key} is {show(raw)}: binary presence, not a people count")
    n = people(count(raw, key), ctx.limits, key)
    when = payload_time(document, TIME_KEYS, sensor.id, ctx, message)
    return [PeopleCount(zone, sensor.id, n, when.at), *when.health]
