"""The pure part of the HTTP ingest: a request body -> events, and which were seen before.

- ``split_events``: a body is one JSON object (one event) or a JSON array of
  them (a batch, at most ``max_events``). Each event is re-encoded canonically
  (keys sorted, no spaces), so the same event posted again with other spacing
  or key order is the same bytes. A body that is not JSON, or an array over the
  bound, is a ``BodyError`` with a reason a person can act on.
- ``event_key``: an event's identity for idempotency: the system's own event
  id (a dotted path, when the source names one), else the SHA-256 of its
  canonical bytes.
- ``SeenEvents``: what became of each key within a window (pending, stored,
  ignored, rejected with its reason), bounded in number, oldest forgotten
  first. Time comes in as a value (seconds on any monotonic scale).

No I/O, no clock.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum

from sensors.decoders.common import lookup
from sensors.models import DecodeError


class BodyError(Exception):
    """The body as a whole cannot be read as events; ``reason`` says why."""

    def __init__(self, reason: str, *, too_many: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.too_many = too_many


def split_events(body: bytes, max_events: int) -> list[bytes]:
    """The events of a body, each as canonical JSON bytes, in the order posted."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BodyError(f"the body is not UTF-8 (byte {exc.start})") from exc
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BodyError(f"the body is not JSON: {exc}") from exc
    if isinstance(data, list):
        if not data:
            raise BodyError("the body is an empty array: no event")
        if len(data) > max_events:
            raise BodyError(
                f"{len(data)} events in one request; at most {max_events} (ingest.max_events)",
                too_many=True,
            )
        items = data
    else:
        items = [data]
    return [canonical(item) for item in items]


def canonical(value: object) -> bytes:
    """One JSON encoding of a value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_key(event: bytes, id_path: str | None) -> bytes:
    """The event's identity: SHA-256 of its id (when ``id_path`` is set) or of its bytes.

    Raises DecodeError when the source names an id path and the event has no
    usable id there (a text or a whole number).
    """
    if id_path is None:
        return hashlib.sha256(b"content\0" + event).digest()
    obj = json.loads(event)
    raw = lookup(obj, id_path) if isinstance(obj, dict) else None
    if isinstance(raw, bool) or not isinstance(raw, str | int) or raw == "":
        shown = "missing" if raw is None else f"not an id: {json.dumps(raw)[:40]}"
        raise DecodeError(f"event id {id_path} {shown} (the source's event_id)")
    return hashlib.sha256(b"id\0" + str(raw).encode()).digest()


class Fate(StrEnum):
    """What became of an event."""

    PENDING = "pending"  # taken; its points are on their way to InfluxDB or the spool
    STORED = "stored"  # its points are durable
    IGNORED = "ignored"  # the mapping marks its event kind as not a ticket's step
    REJECTED = "rejected"  # it does not fit the mapping (in the dead letters)


@dataclass(frozen=True, slots=True)
class Seen:
    fate: Fate
    at: float
    reason: str | None = None


class SeenEvents:
    """Keys seen within ``window_s``, at most ``max_keys`` (the oldest forgotten first)."""

    def __init__(self, window_s: float, max_keys: int) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self._keys: OrderedDict[bytes, Seen] = OrderedDict()
        self.forgotten_early = 0  # keys dropped by the bound before their window ran out

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, key: bytes, now: float) -> Seen | None:
        self._expire(now)
        return self._keys.get(key)

    def put(self, key: bytes, seen: Seen) -> None:
        """Record a key's fate; a new key's time is the time it was first taken."""
        if self.window_s <= 0:
            return
        old = self._keys.get(key)
        if old is not None:
            self._keys[key] = Seen(seen.fate, old.at, seen.reason)
            return
        self._keys[key] = seen
        while len(self._keys) > self.max_keys:
            _, dropped = self._keys.popitem(last=False)
            if seen.at - dropped.at < self.window_s:
                self.forgotten_early += 1

    def forget(self, key: bytes) -> None:
        self._keys.pop(key, None)

    def settle(self, keys: list[bytes]) -> None:
        """These pending keys (one submission's) are stored now."""
        for key in keys:
            seen = self._keys.get(key)
            if seen is not None and seen.fate is Fate.PENDING:
                self._keys[key] = Seen(Fate.STORED, seen.at)

    def _expire(self, now: float) -> None:
        while self._keys:
            key, seen = next(iter(self._keys.items()))
            if now - seen.at < self.window_s or seen.fate is Fate.PENDING:
                return
            del self._keys[key]
