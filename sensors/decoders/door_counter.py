"""Overhead door people counters.

    cumulative: {"in": 1234, "out": 1200, "seq": 57, "ts": "2026-11-22T01:15:00Z"}
    delta:      {"in": 3, "out": 1, "seq": 58, "ts": "2026-11-22T01:16:00Z"}

The sensor's ``mode`` says what the counts are: totals since the counter's
power-up (cumulative) or passages since its previous report (delta, the
"period" counts of Milesight, Xovis, Axis). Accepted count keys, tried in
this order (N is the sensor's ``line``, default 1):

- cumulative: total_in/total_out, line_N_total_in/line_N_total_out
  (Milesight LoRaWAN codecs), line_total_data[N].in_counted/out_counted
  (Milesight VS125/VS133/VS135 MQTT), in/out, entries/exits;
- delta: period_in/period_out, line_N_period_in/line_N_period_out,
  line_periodic_data[N].in/out, people_in/people_out (VS121), in/out,
  entries/exits.

The keys without a line number are line 1's. ``entries_path`` /
``exits_path`` (dotted paths; a one-way counter maps one) replace the key
search for any other counter; ``time_path`` points at its time.

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
    lookup,
    need_door,
    parse_object,
    parse_time,
    payload_time,
    stamp,
)
from sensors.models import Decoded, DecodeError, DoorCounterReading, Message

Pair = tuple[str, str]
CUMULATIVE_KEYS: tuple[Pair, ...] = (
    ("total_in", "total_out"),
    ("line_total_in", "line_total_out"),
    ("in", "out"),
    ("entries", "exits"),
)
DELTA_KEYS: tuple[Pair, ...] = (
    ("period_in", "period_out"),
    ("line_period_in", "line_period_out"),
    ("people_in", "people_out"),
    ("in", "out"),
    ("entries", "exits"),
)
SEQ_KEYS = ("seq", "sequence", "fcnt")
TIME_KEYS = ("ts", "timestamp", "time")


def decode(sensor: DoorCounterSensor, ctx: DecodeContext, message: Message) -> list[Decoded]:
    obj = parse_object(message.payload)
    cumulative = sensor.mode == "cumulative"
    if sensor.entries_path is not None or sensor.exits_path is not None:
        entries, exits = _mapped(obj, sensor.entries_path, sensor.exits_path)
    else:
        entries, exits = _counts(_line_keys(obj, sensor.line), cumulative, sensor.line)
    found_seq = first_key(obj, SEQ_KEYS)
    seq = None if found_seq is None else count(found_seq[1], found_seq[0])
    if sensor.time_path is not None and (raw_time := lookup(obj, sensor.time_path)) is not None:
        sensor_time = parse_time(raw_time, None, ctx.timezone, sensor.time_path)
        when = stamp(sensor_time, sensor.id, ctx, message)
    else:
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


def _mapped(obj: JsonObject, entries_path: str | None, exits_path: str | None) -> tuple[int, int]:
    """Counts at configured paths; an unmapped direction is 0 (a one-way counter)."""
    totals: list[int] = []
    for path in (entries_path, exits_path):
        if path is None:
            totals.append(0)
            continue
        raw = lookup(obj, path)
        if raw is None:
            raise DecodeError(f"no count at {path} (sensor config entries_path/exits_path)")
        totals.append(count(raw, path))
    return totals[0], totals[1]


def _line_keys(obj: JsonObject, line: int) -> JsonObject:
    """The payload with line N's counts under the keys the search knows."""
    flat: JsonObject = dict(obj)
    for key in ("line_total_data", "line_periodic_data"):
        if key in flat:
            flat.pop(key)
    index = str(line - 1)
    for src, dst in (
        (f"line_total_data.{index}.in_counted", "line_total_in"),
        (f"line_total_data.{index}.out_counted", "line_total_out"),
        (f"line_periodic_data.{index}.in", "line_period_in"),
        (f"line_periodic_data.{index}.out", "line_period_out"),
        (f"line_periodic_data.{index}.in_counted", "line_period_in"),
        (f"line_periodic_data.{index}.out_counted", "line_period_out"),
        (f"line_{line}_total_in", "line_total_in"),
        (f"line_{line}_total_out", "line_total_out"),
        (f"line_{line}_period_in", "line_period_in"),
        (f"line_{line}_period_out", "line_period_out"),
    ):
        value = lookup(obj, src)
        if value is not None and flat.get(dst) is None:
            flat[dst] = value
    if line != 1:  # the keys without a line number are line 1's
        for pair in (*CUMULATIVE_KEYS, *DELTA_KEYS):
            if not pair[0].startswith("line_"):
                flat.pop(pair[0], None)
                flat.pop(pair[1], None)
    return flat


def _counts(obj: JsonObject, cumulative: bool, line: int) -> tuple[int, int]:
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
    expected = ", ".join(f"{a}/{b}" for a, b in pairs).replace("line_", f"line_{line}_")
    raise DecodeError(f"no door counts (expected {expected})")
