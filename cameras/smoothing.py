"""Temporal smoothing of counts, day/night mode hysteresis and the confidence of a count.

Pure module: time is passed in as values (the frame's timestamp).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from datetime import datetime

from cameras.models import Mode


class CountSmoother:
    """Exponential smoothing with a time constant, robust to uneven frame intervals.

    The weight of a new value is 1 - exp(-dt / tau), so 2 fps and 5 fps smooth
    alike. A gap longer than five time constants (a stall, a reconnect)
    restarts from the new value instead of dragging an old one along.
    """

    def __init__(self, tau_s: float, history: int = 10) -> None:
        self.tau_s = tau_s
        self.value: float | None = None
        self.last_at: datetime | None = None
        self.recent: deque[float] = deque(maxlen=history)

    def update(self, raw: float, at: datetime) -> float:
        self.recent.append(raw)
        if self.value is None or self.last_at is None or self.tau_s <= 0:
            self.value = raw
        else:
            dt = (at - self.last_at).total_seconds()
            if dt < 0:
                return self.value  # a frame from the past: keep what we have
            if dt > 5 * self.tau_s:
                self.value = raw
            else:
                alpha = 1.0 - math.exp(-dt / self.tau_s)
                self.value += alpha * (raw - self.value)
        self.last_at = at
        return self.value


class ModeTracker:
    """Day/night of a camera with hysteresis: a change needs ``hold`` frames in a row."""

    def __init__(self, hold: int = 3) -> None:
        self.hold = hold
        self.mode: Mode | None = None
        self._streak = 0

    def update(self, seen: Mode) -> Mode:
        if self.mode is None or seen == self.mode:
            self.mode = seen
            self._streak = 0
            return self.mode
        self._streak += 1
        if self._streak >= self.hold:
            self.mode = seen
            self._streak = 0
        return self.mode


def stability(recent: Sequence[float]) -> float:
    """1 for steady recent counts, towards 0 as they jump about (coefficient of variation)."""
    if len(recent) < 2:
        return 1.0
    mean = sum(recent) / len(recent)
    var = sum((v - mean) ** 2 for v in recent) / (len(recent) - 1)
    return 1.0 / (1.0 + math.sqrt(var) / max(1.0, mean))


def confidence(
    *,
    base: float,
    recent: Sequence[float],
    warm: float = 1.0,
    fill: float = 0.0,
    night: bool = False,
) -> float:
    """Confidence 0..1 of a count.

    ``base`` is the estimator's own trust; ``warm`` (0..1) how far a fresh
    background model has learnt; ``fill`` (0..1) the share of the ROI covered
    by people: beyond ~40 % people hide one another and the count is an
    extrapolation. Night (infrared, noisier) costs 10 %.
    """
    crowd = 1.0 - min(0.6, max(0.0, fill - 0.4))
    value = base * stability(recent) * max(0.0, min(1.0, warm)) * crowd
    if night:
        value *= 0.9
    return round(max(0.0, min(1.0, value)), 3)
