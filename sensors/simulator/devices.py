"""Simulated devices: they turn the model's truth into readings, noise included. Pure module.

A device is asked to ``report(t_ms)`` at its configured interval. Presence
sensors count their zone with a little noise; climate sensors read their zone's
air with probe noise (and, on Zigbee, a slowly draining battery); door
counters count passages since power-up and send either those totals or the
difference since their previous report, numbering their reports. A door
counter may reboot (``reboot_after``): right after a report, so no passage is
lost, its totals and sequence restart at 0.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.settings import (
    GenericJsonSensor,
    HomeAssistantSensor,
    SensorConfig,
    TasmotaSensor,
    ZoneConfig,
    ZoneKind,
)
from sensors.simulator.climate import Air
from sensors.simulator.readings import (
    ClimateReading,
    DoorCountReading,
    PresenceReading,
    SeatReading,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_MS = 86_400_000
BATTERY_DRAIN_PCT_PER_DAY = 1.5


def to_dt(t_ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=t_ms)


def reports_co2(sensor: SensorConfig, zone: ZoneConfig) -> bool:
    """Which simulated climate devices carry a CO2 probe."""
    if isinstance(sensor, TasmotaSensor):
        return zone.kind is ZoneKind.WAITING  # an SCD40 where people wait, SHT3X elsewhere
    if isinstance(sensor, GenericJsonSensor):
        return "co2_ppm" in sensor.fields
    if isinstance(sensor, HomeAssistantSensor):
        return sensor.quantity == "co2_ppm"
    return True


class PresenceDevice:
    def __init__(
        self, sensor_id: str, zone_id: str, occupancy: Mapping[str, int], rng: random.Random
    ) -> None:
        self._sensor_id = sensor_id
        self._zone_id = zone_id
        self._occupancy = occupancy
        self._rng = rng

    def report(self, t_ms: int) -> PresenceReading:
        true = self._occupancy[self._zone_id]
        count = max(0, round(true + self._rng.gauss(0.0, 0.4 + 0.03 * true)))
        return PresenceReading(self._sensor_id, to_dt(t_ms), count)


class SeatDevice:
    """A PIR over a clerk's chair: occupied while the clerk is at the counter.

    A clerk sitting still is now and then missed (``STILL_MISS``): the sensor
    says vacant for one report, never two in a row (the clerk moves within
    minutes), which the gateway's vacant delay absorbs.
    """

    STILL_MISS = 0.1

    def __init__(self, sensor_id: str, staffed: Callable[[int], bool], rng: random.Random) -> None:
        self._sensor_id = sensor_id
        self._staffed = staffed
        self._rng = rng
        self._missed = False

    def report(self, t_ms: int) -> SeatReading:
        occupied = self._staffed(t_ms)
        miss = occupied and not self._missed and self._rng.random() < self.STILL_MISS
        self._missed = miss
        return SeatReading(self._sensor_id, to_dt(t_ms), occupied and not miss)


class ClimateDevice:
    def __init__(
        self,
        sensor_id: str,
        air: Callable[[], Air],
        *,
        has_co2: bool,
        battery: bool,
        origin_ms: int,
        rng: random.Random,
    ) -> None:
        self._sensor_id = sensor_id
        self._air = air
        self._has_co2 = has_co2
        self._rng = rng
        self._origin_ms = origin_ms
        self._battery0 = rng.uniform(85.0, 95.0) if battery else None

    def report(self, t_ms: int) -> ClimateReading:
        air, rng = self._air(), self._rng
        battery: int | None = None
        link: int | None = None
        if self._battery0 is not None:
            days = (t_ms - self._origin_ms) / DAY_MS
            battery = max(1, round(self._battery0 - BATTERY_DRAIN_PCT_PER_DAY * days))
            link = rng.randint(90, 150)
        return ClimateReading(
            self._sensor_id,
            to_dt(t_ms),
            temperature_c=air.temperature_c + rng.gauss(0.0, 0.08),
            humidity_pct=air.humidity_pct + rng.gauss(0.0, 0.4),
            co2_ppm=self._co2(air.co2_ppm) if self._has_co2 else None,
            pm25_ugm3=max(0.0, air.pm25_ugm3 + rng.gauss(0.0, 1.5)),
            battery_pct=battery,
            linkquality=link,
        )

    def _co2(self, true_ppm: float) -> float:
        # NDIR noise grows with the reading; the baseline calibration keeps it above 400.
        return max(400.0, true_ppm + self._rng.gauss(0.0, 4.0 + 0.01 * true_ppm))


@dataclass(slots=True)
class DoorCounterDevice:
    """Totals since power-up, what was last reported, and the report sequence."""

    sensor_id: str
    cumulative: bool
    total_in: int
    total_out: int
    seq: int
    reboot_after: Callable[[int], bool] | None = None  # asked after each report
    reported_in: int = 0
    reported_out: int = 0

    @classmethod
    def running_for_weeks(
        cls,
        sensor_id: str,
        cumulative: bool,
        rng: random.Random,
        reboot_after: Callable[[int], bool] | None = None,
    ) -> DoorCounterDevice:
        """A counter powered up long ago: large totals, a long report sequence."""
        base_in = rng.randint(10_000, 90_000) if cumulative else 0
        base_out = max(0, base_in - rng.randint(0, 40))
        device = cls(sensor_id, cumulative, base_in, base_out, rng.randint(1, 50_000), reboot_after)
        device.reported_in, device.reported_out = base_in, base_out
        return device

    def count(self, entering: bool, people: int) -> None:
        if entering:
            self.total_in += people
        else:
            self.total_out += people

    def report(self, t_ms: int) -> DoorCountReading:
        self.seq += 1
        if self.cumulative:
            entries, exits = self.total_in, self.total_out
        else:
            entries = self.total_in - self.reported_in
            exits = self.total_out - self.reported_out
        self.reported_in, self.reported_out = self.total_in, self.total_out
        reading = DoorCountReading(
            self.sensor_id, to_dt(t_ms), entries, exits, self.seq, self.cumulative
        )
        if self.reboot_after is not None and self.reboot_after(t_ms):
            self.total_in = self.total_out = self.seq = 0
            self.reported_in = self.reported_out = 0
        return reading
