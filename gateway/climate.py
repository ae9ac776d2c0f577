"""Climate per zone: latest readings and 5-minute means against the comfort band. Pure.

Every climate sensor of a zone feeds one window per quantity. The latest value
is the most recent reading of any of the zone's sensors; the mean is over every
reading of the last five minutes (all sensors). The status of a quantity
(``low`` / ``ok`` / ``high``) is judged on the 5-minute mean, so one noisy
reading does not flip it; CO2 has only an upper limit.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gateway.live import ZoneClimateState
from gateway.observations import Climate
from gateway.settings import ComfortBand

WINDOW = timedelta(minutes=5)
QUANTITIES = ("temperature_c", "humidity_pct", "co2_ppm", "pm25_ugm3")


@dataclass(slots=True)
class Series:
    """One quantity in one zone: the latest value and per-second sums over ``WINDOW``.

    Readings are summed into one-second buckets, so the window costs at most
    300 buckets however fast the sensors report, and the mean is a running
    sum. A late reading joins its own second if that bucket still exists, else
    the newest one; a reading older than the window (before the newest) is
    left out of the mean.
    """

    buckets: deque[list[float]] = field(default_factory=deque)  # [second, sum, count]
    total: float = 0.0
    count: int = 0
    latest_at: datetime | None = None
    latest: float | None = None

    def add(self, at: datetime, value: float) -> None:
        if self.latest_at is None or at >= self.latest_at:
            self.latest_at, self.latest = at, value
        second = float(int(at.timestamp()))
        if self.latest_at is not None and at < self.latest_at - WINDOW:
            return
        bucket = self._bucket(second)
        bucket[1] += value
        bucket[2] += 1
        self.total += value
        self.count += 1

    def _bucket(self, second: float) -> list[float]:
        if not self.buckets or self.buckets[-1][0] < second:
            self.buckets.append([second, 0.0, 0])
            return self.buckets[-1]
        for bucket in reversed(self.buckets):
            if bucket[0] == second:
                return bucket
            if bucket[0] < second:
                break
        return self.buckets[-1]

    def mean(self, now: datetime) -> float | None:
        cutoff = (now - WINDOW).timestamp()
        while self.buckets and self.buckets[0][0] + 1 <= cutoff:
            _, total, count = self.buckets.popleft()
            self.total -= total
            self.count -= int(count)
        if self.count <= 0 or not self.buckets:
            self.total, self.count = 0.0, 0
            return None
        return self.total / self.count


def band_status(value: float | None, low: float | None, high: float | None) -> str | None:
    if value is None:
        return None
    if low is not None and value < low:
        return "low"
    if high is not None and value > high:
        return "high"
    return "ok"


@dataclass(slots=True)
class ZoneClimate:
    """The climate windows of one zone."""

    band: ComfortBand
    series: dict[str, Series] = field(default_factory=lambda: {q: Series() for q in QUANTITIES})
    at: datetime | None = None

    def add(self, obs: Climate) -> None:
        for quantity in QUANTITIES:
            value = getattr(obs, quantity)
            if value is not None:
                self.series[quantity].add(obs.at, float(value))
        if self.at is None or obs.at > self.at:
            self.at = obs.at

    def state(self, now: datetime) -> ZoneClimateState:
        s = self.series
        t_mean = s["temperature_c"].mean(now)
        h_mean = s["humidity_pct"].mean(now)
        c_mean = s["co2_ppm"].mean(now)
        s["pm25_ugm3"].mean(now)  # trims its window
        band = self.band
        return ZoneClimateState(
            at=self.at,
            temperature_c=s["temperature_c"].latest,
            humidity_pct=s["humidity_pct"].latest,
            co2_ppm=s["co2_ppm"].latest,
            pm25_ugm3=s["pm25_ugm3"].latest,
            temperature_mean_5m=t_mean,
            humidity_mean_5m=h_mean,
            co2_mean_5m=c_mean,
            temperature_status=band_status(t_mean, *band.temperature_c),
            humidity_status=band_status(h_mean, *band.humidity_pct),
            co2_status=band_status(c_mean, None, band.co2_ppm_max),
        )
