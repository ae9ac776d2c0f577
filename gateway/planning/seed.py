"""Weeks of simulated history in InfluxDB, for the demo and the tests. Shell module.

Runs the sensor simulator's model (``sensors.simulator.model.CenterModel``,
deterministic for a seed) day by day and writes what the gateway would have
stored, in the gateway's own line protocol (``gateway.points``): every ticket
event, door passages summed per quarter hour, presence counts every five
minutes and climate readings every quarter hour. On public holidays (and
configured closures) the center is closed: nothing is written for those days.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gateway.influx_writer import make_client
from gateway.observations import Climate, DoorTraffic, Observation, PeopleCount, TicketEvent
from gateway.planning.forecast import vietnam_holidays
from gateway.points import to_lines, zone_geometries
from gateway.settings import InfluxConfig, Settings
from sensors.simulator.demand import Demand
from sensors.simulator.model import CenterModel
from sensors.simulator.readings import (
    ClimateReading,
    DoorCountReading,
    PresenceReading,
    SimReading,
    TicketReading,
)

PRESENCE_EVERY_S = 300
CLIMATE_EVERY_S = 900
DOOR_BUCKET_S = 900
BATCH_LINES = 20_000


@dataclass(frozen=True, slots=True)
class SeedReport:
    first: date
    last: date
    days_written: int
    days_closed: tuple[date, ...]
    lines: int


class _Sampler:
    """Turns simulator readings into the observations the gateway would store, thinned."""

    def __init__(self, settings: Settings) -> None:
        self._zone = {s.id: s.zone for s in settings.sensors}
        self._door = {s.id: s.door for s in settings.sensors}
        self._last: dict[str, int] = {}
        self._totals: dict[str, tuple[int, int]] = {}
        self._bucket: dict[tuple[str, int], list[int]] = {}

    def take(self, r: SimReading) -> list[Observation]:
        ts = int(r.at.timestamp())
        if isinstance(r, TicketReading):
            return [TicketEvent(r.service_id, r.ticket, r.event, r.at, r.sensor_id, r.counter)]
        if isinstance(r, PresenceReading) and self._due(r.sensor_id, ts, PRESENCE_EVERY_S):
            return [PeopleCount(self._zone[r.sensor_id] or "", r.sensor_id, r.count, r.at)]
        if isinstance(r, ClimateReading) and self._due(r.sensor_id, ts, CLIMATE_EVERY_S):
            zone = self._zone[r.sensor_id] or ""
            return [
                Climate(
                    zone, r.sensor_id, r.at, r.temperature_c, r.humidity_pct, r.co2_ppm, r.pm25_ugm3
                )
            ]
        if isinstance(r, DoorCountReading):
            return self._door_delta(r, ts)
        return []

    def _due(self, sensor: str, ts: int, every: int) -> bool:
        if ts // every == self._last.get(sensor):
            return False
        self._last[sensor] = ts // every
        return True

    def _door_delta(self, r: DoorCountReading, ts: int) -> list[Observation]:
        if r.cumulative:
            prev = self._totals.get(r.sensor_id)
            self._totals[r.sensor_id] = (r.entries, r.exits)
            if prev is None:
                return []
            entries, exits = r.entries - prev[0], r.exits - prev[1]
            if entries < 0 or exits < 0:  # rebooted: the totals are the passages since
                entries, exits = r.entries, r.exits
        else:
            entries, exits = r.entries, r.exits
        key = (r.sensor_id, ts // DOOR_BUCKET_S)
        out: list[Observation] = []
        for (sensor, bucket), (e, x) in list(self._bucket.items()):
            if sensor == r.sensor_id and bucket != key[1]:
                at = datetime.fromtimestamp((bucket + 1) * DOOR_BUCKET_S, tz=r.at.tzinfo)
                out.append(DoorTraffic(self._door[sensor] or "", sensor, e, x, at))
                del self._bucket[(sensor, bucket)]
        acc = self._bucket.setdefault(key, [0, 0])
        acc[0] += entries
        acc[1] += exits
        return out


def simulated_days(
    settings: Settings,
    first: date,
    days: int,
    seed: int,
    closed: Mapping[date, str],
    demand: Demand | None = None,
) -> Iterator[tuple[date, list[str]]]:
    """(day, its line-protocol lines) for ``days`` days from ``first``; closed days get none."""
    tz = ZoneInfo(settings.site.timezone)
    start = datetime.combine(first, time(0), tzinfo=tz)
    model = CenterModel(settings, seed, start, demand=demand)
    sampler = _Sampler(settings)
    geometry = zone_geometries(settings.zones)
    for k in range(days):
        day = first + timedelta(days=k)
        readings = model.step(datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz))
        lines: list[str] = []
        for r in readings:
            for obs in sampler.take(r):
                lines.extend(to_lines(settings.site.id, obs, geometry))
        yield day, ([] if day in closed else lines)


def seed_history(
    settings: Settings,
    config: InfluxConfig,
    first: date,
    days: int,
    seed: int = 7,
    demand: Demand | None = None,
) -> SeedReport:
    """Write ``days`` simulated days from ``first`` to the database of ``config``.

    ``demand``: the visitors simulated (default: the site's usual weekday,
    sized by its counters, ``sensors.simulator.demand.site_demand``).
    """
    closed = vietnam_holidays(range(first.year, first.year + 2), settings.planning.closed_days)
    client = make_client(config)
    client.prepare()
    written = 0
    total = 0
    shut: list[date] = []
    pending: list[str] = []
    try:
        for day, lines in simulated_days(settings, first, days, seed, closed, demand):
            if day in closed:
                shut.append(day)
            elif lines:
                written += 1
            pending.extend(lines)
            total += len(lines)
            if len(pending) >= BATCH_LINES:
                client.write("\n".join(pending))
                pending = []
        if pending:
            client.write("\n".join(pending))
    finally:
        client.close()
    return SeedReport(first, first + timedelta(days=days - 1), written, tuple(shut), total)
