"""Duplicate suppression: the same payload from the same sensor and topic, again, soon.

Devices and brokers repeat themselves: Zigbee2MQTT republishes a device's
whole state when any attribute changes, Tasmota answers a ``Status 8`` with
the telemetry it just sent, a QoS 1 message is redelivered after a
reconnect, a bridge retries. Four identical payloads within a second are one
reading, not four points.

``DuplicateFilter.seen(sensor, topic, payload, at)`` is true when the same
bytes came for that sensor on that topic less than ``window_s`` before (the
first of a run of repeats: a device repeating every 0.5 s for a minute is
not suppressed for the whole minute, only within ``window_s`` of the last
one kept). Different topics under one wildcard sensor are different devices;
a different payload is a new reading. ``window_s`` 0 turns it off.

The table is bounded (``max_keys`` sensor/topic pairs, the least recently
seen dropped first): a flood on 50,000 topics cannot grow it. Only a 16-byte
digest of each payload is kept. Pure module: time is passed in.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from datetime import datetime

MAX_KEYS = 10_000


class DuplicateFilter:
    def __init__(self, window_s: float, max_keys: int = MAX_KEYS) -> None:
        if window_s < 0:
            raise ValueError("window_s must be 0 (off) or more")
        self.window_s = window_s
        self.max_keys = max_keys
        self._last: OrderedDict[tuple[str, str], tuple[bytes, datetime]] = OrderedDict()
        self.suppressed = 0

    def seen(self, sensor_id: str, topic: str, payload: bytes, at: datetime) -> bool:
        """Whether ``payload`` repeats what ``sensor_id`` had on ``topic`` within the window."""
        if self.window_s <= 0:
            return False
        key = (sensor_id, topic)
        digest = hashlib.blake2b(payload, digest_size=16).digest()
        previous = self._last.pop(key, None)
        if previous is not None:
            last_digest, last_at = previous
            age = (at - last_at).total_seconds()
            if last_digest == digest and 0 <= age < self.window_s:
                self._last[key] = previous  # the kept one's time: a window, not a slide
                self.suppressed += 1
                return True
        self._last[key] = (digest, at)
        if len(self._last) > self.max_keys:
            self._last.popitem(last=False)
        return False

    def __len__(self) -> int:
        return len(self._last)
