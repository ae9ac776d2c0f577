"""Overhead door people counters.

    cumulative: {"in": 1234, "out": 1200, "seq": 57, "ts": "2026-11-22T01:15:00Z"}
    delta:      {"in": 3, "out": 1, "seq": 58, "ts": "2026-11-22T01:16:00Z"}

The sensor's ``mode`` says what the counts are: totals since the counter's
power-up (cumulative) or passages since its previous report (delta). Accepted
count keys, tried in this order:

- cumulative: total_in/total_out, line_1_total_in/line_1_total_out (Milesight),
  in/out, entries/exits;
- delta: period_in/period_out, line_1_period_in/line_1_period_out, in/out,
  entries/exits.

A payload that only carries the other mode's keys is an error that names the
config fix. Optional ``seq`` (or ``sequence``, ``fcnt``) and ``ts`` (or
``timestamp``, ``time``: ISO 8601 or epoch s/ms). The result is a
DoorCounterReading; turning it into DoorTraffic (deltas, resets,
redeliveries) is sensors.door_counts' job. Pure module.
"""

from __future__ import annotations

from gateway.settings import DoorCounterSensor
from sensors.decoders.common import (
    DecodeContext,
    JsonObject,
    count,
    first_key,
    need_door,
    parse_object,
    payload_time,
)
from sensors.models import Decoded, DecodeError, DoorCounterReading, Message

Pair = tuple[str, str]
CUMULATIVE_KEYS: tuple[Pair, ...] = (
    ("total_in", "total_out"),
    ("line_1_total_in", "line_1_total_out"),
    ("in", "out"),
    ("entries", "exits"),
)
DELTA_KEYS: tuple[Pair, ...] = (
    ("period_in", "period_out"),
    ("line_1_period_in", "line_1_period_out"),
    ("in", "out"),
    ("entries", "exits"),
)
SEQ_KEYS = ("seq", "sequence", "fcnt")
TIME_KEYS = ("ts", "timestamp", "time")


def decode(sensor: DoorCounterSensor, ctx: DecodeContext, message: Message) -> list[Decoded]:
    obj = parse_object(message.payload)
    cumulative = sensor.mode == "cumulative"
    entries, exits = _counts(obj, cumulative)
    found_seq = first_key(obj, SEQ_KEYS)
    seq = None if found_seq is None else count(found_seq[1], found_seq[0])
    when = payload_time(obj, TIME_KEYS, sensor.id, ctx, message)
    reading = DoorCounterReading(
        door_id=need_door(sensor.door, sensor.id),
        sensor_id=sensor.id,
        at=when.at,
        entries=entries,
        exits=exits,
        cumulative=cumulative,
        seq=seq,
    )
    return [reading, *when.health]


def _counts(obj: JsonObject, cumulative: bool) -> tuple[int, int]:
    pairs, other, other_mode = (
        (CUMULATIVE_KEYS, DELTA_KEYS, "delta")
        if cumulative
        else (DELTA_KEYS, CUMULATIVE_KEYS, "cumulative")
    )
    for key_in, key_out in pairs:
        raw_in, raw_out = obj.get(key_in), obj.get(key_out)
        if raw_in is None and raw_out is None:
            continue
        if raw_in is None or raw_out is None:
            have, missing = (key_out, key_in) if raw_in is None else (key_in, key_out)
            raise DecodeError(f"{have} present but {missing} missing")
        return count(raw_in, key_in), count(raw_out, key_out)
    for key_in, key_out in other:
        if obj.get(key_in) is not None or obj.get(key_out) is not None:
            mode = "cumulative" if cumulative else "delta"
            raise DecodeError(
                f"payload has {other_mode} counts ({key_in}/{key_out}) but the sensor's"
                f" mode is {mode} (sensor config: set mode: {other_mode})"
            )
    expected = ", ".join(f"{a}/{b}" for a, b in pairs)
    raise DecodeError(f"no door counts (expected {expected})")
