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
    """(time, value) samples of one quantity in one zone, kept for ``WINDOW``."""

    samples: deque[tuple[datetime, float]] = field(default_factory=deque)
    latest_at: datetime | None = None
    latest: float | None = None

    def add(self, at: datetime, value: float) -> None:
        if self.latest_at is None or at >= self.latest_at:
            self.latest_at, self.latest = at, value
        self.samples.append((at, value))

    def mean(self, now: datetime) -> float | None:
        cutoff = now - WINDOW
        while self.samples and self.samples[0][0] < cutoff:
            self.samples.popleft()
        if not self.samples:
            return None
        # samples are nearly in time order; late ones may sit behind newer ones
        values = [v for at, v in self.samples if at >= cutoff]
        return sum(values) / len(values) if values else None


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
