"""What each source last said: counts, device health, waiting tickets. Pure module.

The floor model (gateway.floor_model) applies every observation here and fuses
it into zone states (gateway.zones, gateway.levels). Climate windows and door
balances are kept by the model itself (gateway.climate, gateway.zones).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from gateway.observations import (
    DeviceHealth,
    Observation,
    PeopleCount,
    Presence,
    TicketEvent,
    TicketEventKind,
)


@dataclass(slots=True)
class QueueState:
    waiting: set[str] = field(default_factory=set)  # tickets issued, not yet called
    counters: dict[int, datetime] = field(default_factory=dict)  # counter -> last call/serve


@dataclass(slots=True)
class FloorState:
    counts: dict[str, dict[str, PeopleCount]] = field(default_factory=dict)
    presence: dict[str, dict[str, Presence]] = field(default_factory=dict)  # zone binary sensors
    devices: dict[str, DeviceHealth] = field(default_factory=dict)
    queues: dict[str, QueueState] = field(default_factory=dict)

    def apply(self, obs: Observation) -> None:
        if isinstance(obs, PeopleCount):
            self.counts.setdefault(obs.zone_id, {})[obs.source_id] = obs
        elif isinstance(obs, Presence):
            seen = self.presence.setdefault(obs.zone_id, {})
            last = seen.get(obs.source_id)
            if last is None or obs.at >= last.at:
                seen[obs.source_id] = obs
        elif isinstance(obs, DeviceHealth):
            self.devices[obs.device_id] = obs
        elif isinstance(obs, TicketEvent):
            self._apply_ticket(obs)
        # Climate and DoorTraffic: the model's climate windows and door balances

    def clear_waiting(self) -> None:
        """Forget the tickets still waiting (at closing: they do not carry over to tomorrow)."""
        for q in self.queues.values():
            q.waiting.clear()

    def _apply_ticket(self, obs: TicketEvent) -> None:
        q = self.queues.setdefault(obs.service_id, QueueState())
        if obs.counter is not None and obs.event is not TicketEventKind.ISSUED:
            last = q.counters.get(obs.counter)
            q.counters[obs.counter] = obs.at if last is None else max(last, obs.at)
        if obs.event is TicketEventKind.ISSUED:
            q.waiting.add(obs.ticket)
        else:  # called, served or no-show: no longer waiting
            q.waiting.discard(obs.ticket)
