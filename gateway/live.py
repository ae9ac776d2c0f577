"""The live picture the gateway serves: zone states, alerts, live events. Pure module.

This is the contract between the engine (zone fusion, crowd levels, alert
engine: ``gateway.engine``) and its readers (the API, the MQTT state writer,
the dashboards' feed). The engine produces these frozen records; readers never
see the engine's internals. ``FloorService`` is what the API is given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from gateway.observations import DeviceHealth
from gateway.seats import SeatState
from gateway.settings import CrowdLevel


class AlertState(StrEnum):
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class SourceReading:
    """One source behind a zone's occupancy, as the fusion saw it."""

    source_id: str
    kind: str  # "camera", "presence", "doors", "queue", "binary" (count 1 occupied, 0 vacant)
    count: float
    at: datetime | None
    fresh: bool
    confidence: float
    used: bool  # taken into the fused figure


@dataclass(frozen=True, slots=True)
class ZoneClimateState:
    at: datetime | None = None
    temperature_c: float | None = None
    humidity_pct: float | None = None
    co2_ppm: float | None = None
    pm25_ugm3: float | None = None
    temperature_mean_5m: float | None = None
    humidity_mean_5m: float | None = None
    co2_mean_5m: float | None = None
    # "low", "ok", "high" per quantity against the zone's comfort band; None: no data
    temperature_status: str | None = None
    humidity_status: str | None = None
    co2_status: str | None = None


@dataclass(frozen=True, slots=True)
class ZoneState:
    zone_id: str
    floor_id: str
    name: str
    occupancy: int
    capacity: int
    capacity_ratio: float
    density_per_m2: float
    level_of_service: str | None  # Fruin A..F, None where density is not used
    level: CrowdLevel
    # how occupancy was fused: "camera", "presence", "doors", "queue"; "binary": only
    # occupied / vacant is known (occupancy is the last figure, not a measurement); "none"
    method: str
    confidence: float  # 0..1
    sources: Sequence[SourceReading]
    disagreement: bool  # sources differ beyond the tolerance
    climate: ZoneClimateState
    waiting_tickets: int | None
    expected_wait_s: float | None
    updated_at: datetime
    presence: str | None = None  # binary sensors: "occupied", "vacant"; None: none fresh


@dataclass(frozen=True, slots=True)
class Alert:
    id: str  # stable: same rule + subject while active -> same id
    rule: str  # e.g. "crowd_level", "capacity", "waiting_time", "co2_high", "camera_offline"
    severity: Severity
    state: AlertState
    zone_id: str | None
    device_id: str | None
    message: str  # one readable sentence (English); the page translates by rule
    value: float | None
    threshold: float | None
    raised_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None  # None with resolved_at set: resolved by the engine
    note: str | None = None
    notifications: int = 1  # 1 + re-notifications/escalations sent
    escalated: bool = False  # severity was raised one step: unacknowledged past alerts.escalate_s
    subject: str | None = None  # what the alert is about: a zone, device or service id, "spool"


class LiveEventKind(StrEnum):
    ZONE = "zone"  # a zone's state changed
    ALERT = "alert"  # an alert was raised, re-notified, acknowledged or resolved
    DEVICE = "device"  # a device's health changed


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One entry of the live stream. ``seq`` rises by one per event, from 1."""

    seq: int
    kind: LiveEventKind
    at: datetime
    zone: ZoneState | None = None
    alert: Alert | None = None
    transition: str | None = None  # "raised", "renotified", "acknowledged", "resolved"
    device: DeviceHealth | None = None


class AlertNotFound(KeyError):
    """No alert with that id."""


class AlertTransitionError(ValueError):
    """The transition is not allowed from the alert's state (e.g. acknowledging a resolved one)."""


class FloorService(Protocol):
    """What the API reads and does. Implemented by ``gateway.engine.Engine``."""

    def zones(self) -> Sequence[ZoneState]: ...

    def devices(self) -> Sequence[DeviceHealth]: ...

    def seats(self) -> Sequence[SeatState]:
        """Counter seats (counters with a seat sensor), in counter order."""
        ...

    def alerts(self, *, include_resolved: bool = False) -> Sequence[Alert]: ...

    async def acknowledge(self, alert_id: str, *, by: str, note: str | None) -> Alert: ...

    async def resolve(self, alert_id: str, *, by: str, note: str | None) -> Alert: ...

    def events_since(self, seq: int) -> Sequence[LiveEvent] | None:
        """Events after ``seq`` still in the replay buffer; None if ``seq`` is too old."""
        ...

    def subscribe(self) -> AsyncIterator[LiveEvent]:
        """Every event from now on, in order, until the caller stops iterating."""
        ...
