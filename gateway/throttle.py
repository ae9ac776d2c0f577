"""Rate-limited logging decisions per key and overall. Pure module: time is passed in.

A flood of bad messages must not become a flood of log lines, nor a table that
grows with every new topic: a wildcard subscription can see 50,000 topics.

- per key: one line per key per ``interval_s``;
- overall: at most ``burst`` lines at once and ``per_interval`` lines per
  ``interval_s`` on average (a token bucket), whatever the number of keys;
- memory: the ``max_keys`` most recently seen keys are remembered (LRU); a key
  pushed out is forgotten, and what it had held back is still counted in
  ``held_total``.

Every line allowed says how many lines its key held back since its last one,
and ``held_since_line`` how many were held back overall since the last line.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Key:
    last: float | None = None
    held: int = 0


@dataclass(slots=True)
class LogThrottle:
    """Allow one log line per key per ``interval_s``, within an overall budget."""

    interval_s: float
    per_interval: int = 60
    burst: int = 10
    max_keys: int = 1024
    held_total: int = 0  # lines held back since the start
    held_since_line: int = 0  # lines held back overall since the last allowed line
    evicted: int = 0  # keys forgotten to keep the table at ``max_keys``
    _keys: OrderedDict[str, _Key] = field(default_factory=OrderedDict)
    _tokens: float | None = None
    _refilled_at: float | None = None

    def __post_init__(self) -> None:
        if self.interval_s <= 0 or self.per_interval < 1 or self.burst < 1 or self.max_keys < 1:
            raise ValueError("interval_s, per_interval, burst and max_keys must be positive")

    def __len__(self) -> int:
        return len(self._keys)

    def allow(self, key: str, now_s: float) -> tuple[bool, int]:
        """(log now?, how many were held back since the last line for this key)."""
        entry = self._keys.get(key)
        if entry is None:
            entry = self._keys[key] = _Key()
            if len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
                self.evicted += 1
        else:
            self._keys.move_to_end(key)
        due = entry.last is None or now_s - entry.last >= self.interval_s
        if due and self._take_token(now_s):
            entry.last = now_s
            held, entry.held = entry.held, 0
            return True, held
        entry.held += 1
        self.held_total += 1
        self.held_since_line += 1
        return False, 0

    def line_logged(self) -> int:
        """Call after logging an allowed line: returns and resets ``held_since_line``."""
        held, self.held_since_line = self.held_since_line, 0
        return held

    def _take_token(self, now_s: float) -> bool:
        if self._tokens is None or self._refilled_at is None:
            self._tokens, self._refilled_at = float(self.burst), now_s
        elapsed = max(0.0, now_s - self._refilled_at)
        rate = self.per_interval / self.interval_s
        self._tokens = min(float(self.burst), self._tokens + elapsed * rate)
        self._refilled_at = now_s
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
