"""Rate-limited logging decisions per key. Pure module: time is passed in."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class LogThrottle:
    """Allow one log line per key per ``interval_s``; count what was held back."""

    interval_s: float
    _last: dict[str, float] = field(default_factory=dict)
    _held: dict[str, int] = field(default_factory=dict)

    def allow(self, key: str, now_s: float) -> tuple[bool, int]:
        """(log now?, how many were held back since the last line for this key)."""
        last = self._last.get(key)
        if last is None or now_s - last >= self.interval_s:
            self._last[key] = now_s
            held = self._held.pop(key, 0)
            return True, held
        self._held[key] = self._held.get(key, 0) + 1
        return False, 0
