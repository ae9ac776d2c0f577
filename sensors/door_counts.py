"""Door-counter readings -> DoorTraffic, exactly once. Pure module.

MQTT at QoS 1 delivers at least once: a reading may come again (a broker
redelivery after a reconnect or a gateway restart, a device resending without
a PUBACK). A counter may also reboot and start from zero. The tracker turns
each counter's readings into passages counted once, keyed by the counter's
sensor id.

Cumulative counters (totals since power-up):

- the first reading of a counter only sets the baseline (None);
- a reading not newer than the last accepted one is a redelivery or a second
  report within the same timestamp (None; its passages are in the next delta,
  and a point at an existing timestamp would overwrite the stored one);
- equal totals at a newer time: DoorTraffic(0, 0): nobody passed;
- totals (and seq) equal to one of the recently accepted readings other than
  the last: a redelivery of an older reading stamped with its receipt time
  (the payload had no time), None; dropping a cumulative reading loses
  nothing, the next delta includes it;
- a total lower than the last, just past a 16- or 32-bit counter's maximum
  (``WRAPS``): the counter wrapped around, and the passages are counted
  across the wrap (4294967294 -> 3 is 5);
- any other total lower than the last: the counter was reset (rebooted), and
  the new totals are the passages since the reset;
- otherwise the difference of the totals.

Delta counters (passages since the previous report): a reading is a duplicate
when a recent reading of the same counter had the same key (``seq`` when the
device sends one, else the timestamp) and the same counts. The same key with
other counts is new data: a rebooted device reusing its sequence numbers.

Each counter keeps the last ``window`` accepted readings for these checks.
``snapshot()`` is plain JSON data; the hub saves it when the batch that moved
the counters is durable and ``restore()``s it after a restart, so the broker's
redelivery of the rest is counted exactly once.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from gateway.observations import DoorTraffic
from sensors.models import DoorCounterReading

SNAPSHOT_VERSION = 1
DEFAULT_WINDOW = 1024

Totals = tuple[int, int, int | None]  # entries, exits, seq
K = TypeVar("K")
V = TypeVar("V")


@dataclass(slots=True)
class _Cumulative:
    door_id: str
    at: datetime
    totals: Totals
    recent: OrderedDict[Totals, None] = field(default_factory=OrderedDict)


@dataclass(slots=True)
class _Delta:
    door_id: str
    recent: OrderedDict[str, tuple[int, int]] = field(default_factory=OrderedDict)


class DoorCounterTracker:
    """Passages per door counter from its readings; see the module docstring."""

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self._window = window
        self._counters: dict[str, _Cumulative | _Delta] = {}

    def update(self, reading: DoorCounterReading) -> DoorTraffic | None:
        """The passages this reading adds, or None when it adds none to count."""
        state = self._counters.get(reading.sensor_id)
        if reading.cumulative:
            if not isinstance(state, _Cumulative):  # first reading, or the mode changed
                self._counters[reading.sensor_id] = self._baseline(reading)
                return None
            return self._cumulative(state, reading)
        if not isinstance(state, _Delta):
            state = self._counters[reading.sensor_id] = _Delta(reading.door_id)
        return self._delta(state, reading)

    # ------------------------------------------------------------------ cumulative

    def _baseline(self, reading: DoorCounterReading) -> _Cumulative:
        totals = (reading.entries, reading.exits, reading.seq)
        return _Cumulative(reading.door_id, reading.at, totals, OrderedDict({totals: None}))

    def _cumulative(self, state: _Cumulative, reading: DoorCounterReading) -> DoorTraffic | None:
        if reading.at <= state.at:
            return None
        totals = (reading.entries, reading.exits, reading.seq)
        last_entries, last_exits, _ = state.totals
        if (reading.entries, reading.exits) == (last_entries, last_exits):
            entries = exits = 0
        elif totals in state.recent:
            return None
        else:
            entries_moved = _moved(last_entries, reading.entries)
            exits_moved = _moved(last_exits, reading.exits)
            if entries_moved is None or exits_moved is None:
                entries, exits = reading.entries, reading.exits  # reset: counted since zero
            else:
                entries, exits = entries_moved, exits_moved
        state.door_id, state.at, state.totals = reading.door_id, reading.at, totals
        _remember(state.recent, totals, None, self._window)
        return DoorTraffic(reading.door_id, reading.sensor_id, entries, exits, reading.at)

    # ------------------------------------------------------------------ delta

    def _delta(self, state: _Delta, reading: DoorCounterReading) -> DoorTraffic | None:
        key = f"seq:{reading.seq}" if reading.seq is not None else f"at:{reading.at.isoformat()}"
        counts = (reading.entries, reading.exits)
        if state.recent.get(key) == counts:
            return None
        state.door_id = reading.door_id
        _remember(state.recent, key, counts, self._window)
        return DoorTraffic(reading.door_id, reading.sensor_id, *counts, reading.at)

    # ------------------------------------------------------------------ persistence

    def snapshot(self) -> dict[str, object]:
        """The state as JSON data (a copy: later updates do not change it)."""
        counters: dict[str, object] = {}
        for sensor_id, state in self._counters.items():
            if isinstance(state, _Cumulative):
                counters[sensor_id] = {
                    "mode": "cumulative",
                    "door_id": state.door_id,
                    "at": state.at.isoformat(),
                    "last": list(state.totals),
                    "recent": list(state.recent),  # (entries, exits, seq) tuples: JSON arrays
                }
            else:
                counters[sensor_id] = {
                    "mode": "delta",
                    "door_id": state.door_id,
                    "recent": [[k, e, x] for k, (e, x) in state.recent.items()],
                }
        return {"version": SNAPSHOT_VERSION, "counters": counters}

    def restore(self, snapshot: object) -> None:
        """Replace the state with a snapshot(); ValueError says what is wrong with it."""
        if not isinstance(snapshot, dict) or snapshot.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"door counter state: expected version {SNAPSHOT_VERSION}")
        counters = snapshot.get("counters")
        if not isinstance(counters, dict):
            raise ValueError("door counter state: 'counters' is not a mapping")
        restored: dict[str, _Cumulative | _Delta] = {}
        for sensor_id, raw in counters.items():
            try:
                restored[str(sensor_id)] = self._restore_one(raw)
            except (TypeError, ValueError, KeyError) as exc:
                raise ValueError(f"door counter state of {sensor_id!r}: {exc!r}") from None
        self._counters = restored

    def _restore_one(self, raw: object) -> _Cumulative | _Delta:
        if not isinstance(raw, dict):
            raise TypeError("not a mapping")
        door_id = _text(raw["door_id"])
        if raw["mode"] == "cumulative":
            at = datetime.fromisoformat(_text(raw["at"]))
            if at.tzinfo is None:
                raise ValueError("time without offset")
            cumulative = _Cumulative(door_id, at, _totals(raw["last"]))
            for item in _items(raw["recent"]):
                _remember(cumulative.recent, _totals(item), None, self._window)
            return cumulative
        if raw["mode"] == "delta":
            delta = _Delta(door_id)
            for item in _items(raw["recent"]):
                if len(item) != 3:
                    raise ValueError("a delta entry is [key, entries, exits]")
                key, entries, exits = item
                _remember(delta.recent, _text(key), (_int(entries), _int(exits)), self._window)
            return delta
        raise ValueError(f"unknown mode {raw['mode']!r}")


# Counter widths whose wrap-around is told apart from a reset, each with the
# largest number of passages a wrap may span: a 16-bit total (Milesight VS350)
# that went from 65,530 to 4 wrapped (10 passages); one that went from 900 to
# 4 was reset (4 since the reset).
WRAPS: tuple[tuple[int, int], ...] = ((2**16, 1024), (2**32, 2**16))


def _moved(last: int, total: int) -> int | None:
    """Passages from ``last`` to ``total``: the difference, across a wrap; None: a reset."""
    if total >= last:
        return total - last
    for modulus, span in WRAPS:
        if last < modulus and total + modulus - last <= span:
            return total + modulus - last
    return None


def _remember(recent: OrderedDict[K, V], key: K, value: V, window: int) -> None:
    recent[key] = value
    recent.move_to_end(key)
    while len(recent) > window:
        recent.popitem(last=False)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {value!r}")
    return value


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError(f"expected a count, got {value!r}")
    return value


def _items(value: object) -> list[list[object]]:
    if not isinstance(value, list) or not all(isinstance(item, list) for item in value):
        raise TypeError("expected a list of lists")
    return value


def _totals(value: object) -> Totals:
    if not isinstance(value, list) or len(value) != 3:
        raise ValueError("totals are [entries, exits, seq]")
    entries, exits, seq = value
    return _int(entries), _int(exits), None if seq is None else _int(seq)
