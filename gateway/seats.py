"""Counter seats: is anybody behind counter N? Pure module.

A counter-seat sensor is a presence sensor configured with ``counter: N``
(a PIR or mmWave sensor over the clerk's chair). Its occupied / vacant
readings become the seat's state:

- ``open``: occupied (at least one fresh sensor of the seat says so) for
  ``seats.open_after_s`` without a vacant reading in between;
- ``closed``: vacant (every fresh sensor of the seat says so) for
  ``seats.vacant_after_s``. Seat sensors flicker: a PIR that saw no motion
  for 30 s is a clerk sitting still, so a short vacancy keeps the seat open,
  and a short occupancy (somebody passing the chair) keeps it closed;
- ``unknown``: no sensor of the seat is fresh (nothing heard for
  ``interval_s`` x ``alerts.sensor_stale_factor``, or the sensor is reported
  offline), or nothing heard since the start, or a new reading has not yet
  held long enough to say.

``since`` is when the reading that made the state began (the clerk left at
``since``, the seat was confirmed closed ``vacant_after_s`` later).
``counters_open`` is the one figure the rest of the gateway needs: the
counters whose seat is open now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from gateway.observations import Presence
from gateway.settings import SeatTimings, SensorKind, Settings


class SeatStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class SeatSpec:
    """A counter seat and the sensors that watch it, derived once from the settings."""

    counter: int
    service_id: str | None
    sensors: Mapping[str, float]  # sensor id -> max age (s) before it is stale


@dataclass(frozen=True, slots=True)
class SeatState:
    counter: int
    service_id: str | None
    status: SeatStatus
    since: datetime | None  # when the reading behind ``status`` began; None: never known
    occupied: bool | None  # the seat's reading now (debounced or not); None: no fresh sensor
    at: datetime | None  # the latest reading of any of its sensors


def seat_specs(settings: Settings) -> list[SeatSpec]:
    """Every counter that has at least one seat sensor, in counter order."""
    factor = settings.alerts.sensor_stale_factor
    service_of = {c: svc.id for svc in settings.services for c in svc.counters}
    sensors: dict[int, dict[str, float]] = {}
    for s in settings.sensors:
        if s.kind is SensorKind.PRESENCE and s.counter is not None:
            sensors.setdefault(s.counter, {})[s.id] = s.interval_s * factor
    return [SeatSpec(c, service_of.get(c), sensors[c]) for c in sorted(sensors)]


def seat_counters(settings: Settings) -> dict[str, int]:
    """Seat sensor id -> the counter it watches."""
    return {
        s.id: s.counter
        for s in settings.sensors
        if s.kind is SensorKind.PRESENCE and s.counter is not None
    }


@dataclass(frozen=True, slots=True)
class _Reading:
    occupied: bool
    at: datetime
    changed_at: datetime  # when this sensor last went from vacant to occupied or back


@dataclass(slots=True)
class _Seat:
    spec: SeatSpec
    readings: dict[str, _Reading] = field(default_factory=dict)
    status: SeatStatus = SeatStatus.UNKNOWN
    since: datetime | None = None


class SeatBook:
    """The state of every counter seat; ``apply`` readings, ``evaluate(now)`` states."""

    def __init__(self, specs: Iterable[SeatSpec], timings: SeatTimings) -> None:
        self._seats = {s.counter: _Seat(s) for s in specs}
        self._by_sensor = {
            sensor: seat.spec.counter
            for seat in self._seats.values()
            for sensor in seat.spec.sensors
        }
        self._timings = timings
        self.states: list[SeatState] = [
            self._state(seat, None, None) for seat in self._seats.values()
        ]

    @property
    def counters(self) -> list[int]:
        return list(self._seats)

    def watches(self, sensor_id: str) -> bool:
        return sensor_id in self._by_sensor

    def apply(self, p: Presence) -> bool:
        """Keep a seat sensor's reading; False if the sensor watches no seat."""
        counter = self._by_sensor.get(p.source_id)
        if counter is None:
            return False
        seat = self._seats[counter]
        last = seat.readings.get(p.source_id)
        if last is None:
            seat.readings[p.source_id] = _Reading(p.occupied, p.at, p.at)
        elif p.at >= last.at:  # a late redelivery does not undo a newer reading
            # a repeated reading (a heartbeat saying vacant again) keeps its streak, unless
            # the sensor was silent past its stale age: what happened meanwhile is unknown
            gap = (p.at - last.at).total_seconds()
            same = p.occupied == last.occupied and gap <= seat.spec.sensors[p.source_id]
            changed = last.changed_at if same else p.at
            seat.readings[p.source_id] = _Reading(p.occupied, p.at, changed)
        return True

    def evaluate(self, now: datetime, offline: frozenset[str] = frozenset()) -> list[SeatState]:
        self.states = [self._evaluate(seat, now, offline) for seat in self._seats.values()]
        return self.states

    def _evaluate(self, seat: _Seat, now: datetime, offline: frozenset[str]) -> SeatState:
        fresh = [
            r
            for sensor, max_age in seat.spec.sensors.items()
            if (r := seat.readings.get(sensor)) is not None
            and sensor not in offline
            and (now - r.at).total_seconds() <= max_age
        ]
        latest = max((r.at for r in seat.readings.values()), default=None)
        if not fresh:
            if seat.status is not SeatStatus.UNKNOWN:
                seat.status, seat.since = SeatStatus.UNKNOWN, now
            return self._state(seat, None, latest)
        occupied = any(r.occupied for r in fresh)
        if occupied:  # the longest standing of the sensors that see somebody
            began = min(r.changed_at for r in fresh if r.occupied)
        else:  # the last sensor to stop seeing somebody
            began = max(r.changed_at for r in fresh)
        wanted = SeatStatus.OPEN if occupied else SeatStatus.CLOSED
        hold = self._timings.open_after_s if occupied else self._timings.vacant_after_s
        if seat.status is not wanted and (now - began).total_seconds() >= hold:
            seat.status, seat.since = wanted, began
        return self._state(seat, occupied, latest)

    @staticmethod
    def _state(seat: _Seat, occupied: bool | None, latest: datetime | None) -> SeatState:
        return SeatState(
            counter=seat.spec.counter,
            service_id=seat.spec.service_id,
            status=seat.status,
            since=seat.since,
            occupied=occupied,
            at=latest,
        )


def counters_open(seats: Iterable[SeatState]) -> list[int]:
    """The counters whose seat is open now (somebody behind them), in counter order.

    What the fleet uplink and the staffing view call "counters actually open";
    a seat that is closed or unknown is not counted.
    """
    return sorted(s.counter for s in seats if s.status is SeatStatus.OPEN)


def open_by_service(seats: Iterable[SeatState]) -> dict[str, int]:
    """Service id -> counters open now (services with a seat sensor; 0 included)."""
    out: dict[str, int] = {}
    for s in seats:
        if s.service_id is None:
            continue
        out[s.service_id] = out.get(s.service_id, 0) + (s.status is SeatStatus.OPEN)
    return out
