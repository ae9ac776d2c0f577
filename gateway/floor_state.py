"""The latest picture of the floor: what each source last said. Pure module.

The hub applies every observation here; the API and the alert engine read it.
Fusion of sources into one occupancy per zone and crowd levels build on this
(gateway.zones, gateway.levels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from gateway.observations import (
    Climate,
    DeviceHealth,
    DoorTraffic,
    Observation,
    PeopleCount,
    TicketEvent,
    TicketEventKind,
)


@dataclass(slots=True)
class ZoneClimate:
    at: datetime | None = None
    temperature_c: float | None = None
    humidity_pct: float | None = None
    co2_ppm: float | None = None
    pm25_ugm3: float | None = None


@dataclass(slots=True)
class DoorTotals:
    entries: int = 0
    exits: int = 0
    last_at: datetime | None = None


@dataclass(slots=True)
class QueueState:
    waiting: set[str] = field(default_factory=set)
    issued: int = 0
    served: int = 0
    no_show: int = 0
    last_at: datetime | None = None
    counters: dict[int, datetime] = field(default_factory=dict)  # counter -> last call/serve


@dataclass(slots=True)
class FloorState:
    counts: dict[str, dict[str, PeopleCount]] = field(default_factory=dict)
    climate: dict[str, dict[str, ZoneClimate]] = field(default_factory=dict)
    devices: dict[str, DeviceHealth] = field(default_factory=dict)
    doors: dict[str, DoorTotals] = field(default_factory=dict)
    queues: dict[str, QueueState] = field(default_factory=dict)

    def apply(self, obs: Observation) -> None:
        if isinstance(obs, PeopleCount):
            self.counts.setdefault(obs.zone_id, {})[obs.source_id] = obs
        elif isinstance(obs, Climate):
            self._apply_climate(obs)
        elif isinstance(obs, DeviceHealth):
            self.devices[obs.device_id] = obs
        elif isinstance(obs, DoorTraffic):
            totals = self.doors.setdefault(obs.door_id, DoorTotals())
            totals.entries += obs.entries
            totals.exits += obs.exits
            totals.last_at = obs.at
        else:
            self._apply_ticket(obs)

    def _apply_climate(self, obs: Climate) -> None:
        zc = self.climate.setdefault(obs.zone_id, {}).setdefault(obs.sensor_id, ZoneClimate())
        zc.at = obs.at
        if obs.temperature_c is not None:
            zc.temperature_c = obs.temperature_c
        if obs.humidity_pct is not None:
            zc.humidity_pct = obs.humidity_pct
        if obs.co2_ppm is not None:
            zc.co2_ppm = obs.co2_ppm
        if obs.pm25_ugm3 is not None:
            zc.pm25_ugm3 = obs.pm25_ugm3

    def clear_waiting(self) -> None:
        """Forget the tickets still waiting (at closing: they do not carry over to tomorrow)."""
        for q in self.queues.values():
            q.waiting.clear()

    def _apply_ticket(self, obs: TicketEvent) -> None:
        q = self.queues.setdefault(obs.service_id, QueueState())
        q.last_at = obs.at
        if obs.counter is not None and obs.event is not TicketEventKind.ISSUED:
            last = q.counters.get(obs.counter)
            q.counters[obs.counter] = obs.at if last is None else max(last, obs.at)
        if obs.event is TicketEventKind.ISSUED:
            q.issued += 1
            q.waiting.add(obs.ticket)
        elif obs.event is TicketEventKind.CALLED:
            q.waiting.discard(obs.ticket)
        elif obs.event is TicketEventKind.SERVED:
            q.served += 1
            q.waiting.discard(obs.ticket)
        else:
            q.no_show += 1
            q.waiting.discard(obs.ticket)
