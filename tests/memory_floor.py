"""A small, working in-memory ``FloorService`` for the API's tests and benchmark.

Not a mock: it keeps zone states, device health and alerts, runs the alert
lifecycle (active -> acknowledged -> resolved, with the same errors as the
engine), numbers every change as a ``LiveEvent``, keeps a bounded replay
buffer and fans events out to subscribers. Levels come from occupancy /
capacity against the zone's thresholds, with no dwell time: tests set a count
and see the level at once. Call its methods on the event loop that serves the
API (``tests.api_support.LiveServer.call`` does that from another thread).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from gateway.live import (
    Alert,
    AlertNotFound,
    AlertState,
    AlertTransitionError,
    LiveEvent,
    LiveEventKind,
    Severity,
    SourceReading,
    ZoneClimateState,
    ZoneState,
)
from gateway.observations import DeviceHealth
from gateway.settings import CrowdLevel, Settings, ZoneConfig

_RANK = {level: i for i, level in enumerate(CrowdLevel)}


def level_of(zone: ZoneConfig, count: int) -> CrowdLevel:
    ratio = count / zone.capacity
    t = zone.crowd.occupancy
    if ratio >= t.critical:
        return CrowdLevel.CRITICAL
    if ratio >= t.crowded:
        return CrowdLevel.CROWDED
    if ratio >= t.busy:
        return CrowdLevel.BUSY
    return CrowdLevel.CALM


class _Subscription:
    """Registered at creation (not at first iteration), so no event falls in between."""

    def __init__(self, floor: MemoryFloor) -> None:
        self._floor = floor
        self.queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue()
        floor._subscribers.add(self)

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> LiveEvent:
        event = await self.queue.get()
        if event is None:  # dropped by the floor
            self._floor._subscribers.discard(self)
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        self._floor._subscribers.discard(self)


class MemoryFloor:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        replay: int = 1000,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._seq = 0
        self._events: deque[LiveEvent] = deque(maxlen=replay)
        self._subscribers: set[_Subscription] = set()
        self._devices: dict[str, DeviceHealth] = {}
        self._alerts: dict[str, Alert] = {}
        now = clock()
        self._zones = {z.id: self._state(z, 0, now) for z in settings.zones}

    # ------------------------------------------------------------------ FloorService

    def zones(self) -> Sequence[ZoneState]:
        return list(self._zones.values())

    def devices(self) -> Sequence[DeviceHealth]:
        return list(self._devices.values())

    def alerts(self, *, include_resolved: bool = False) -> Sequence[Alert]:
        return [
            a
            for a in self._alerts.values()
            if include_resolved or a.state is not AlertState.RESOLVED
        ]

    async def acknowledge(self, alert_id: str, *, by: str, note: str | None) -> Alert:
        alert = self._get(alert_id)
        if alert.state is not AlertState.ACTIVE:
            raise AlertTransitionError(f"alert {alert_id} is {alert.state.value}")
        now = self._clock()
        alert = replace(
            alert,
            state=AlertState.ACKNOWLEDGED,
            acknowledged_at=now,
            acknowledged_by=by,
            note=_join(alert.note, note),
            updated_at=now,
        )
        return self._put_alert(alert, "acknowledged")

    async def resolve(self, alert_id: str, *, by: str, note: str | None) -> Alert:
        alert = self._get(alert_id)
        if alert.state is AlertState.RESOLVED:
            raise AlertTransitionError(f"alert {alert_id} is already resolved")
        now = self._clock()
        alert = replace(
            alert,
            state=AlertState.RESOLVED,
            resolved_at=now,
            resolved_by=by,
            note=_join(alert.note, note),
            updated_at=now,
        )
        return self._put_alert(alert, "resolved")

    def events_since(self, seq: int) -> Sequence[LiveEvent] | None:
        if seq >= self._seq:
            return []
        if not self._events or self._events[0].seq > seq + 1:
            return None
        return [e for e in self._events if e.seq > seq]

    def subscribe(self) -> AsyncIterator[LiveEvent]:
        return _Subscription(self)

    # ------------------------------------------------------------------ drivers

    @property
    def seq(self) -> int:
        return self._seq

    def set_count(self, zone_id: str, count: int, method: str = "presence") -> ZoneState:
        """A new occupancy for a zone; raises the crowd alert at the zone's alert level.

        ``method`` is fusion's: "presence", "queue" (a lower bound) or "none" (no
        usable source: the count is the last one known, at confidence 0).
        """
        cfg = self._settings.zone(zone_id)
        state = self._state(cfg, count, self._clock(), self._zones[zone_id].climate, method)
        self._zones[zone_id] = state
        self._emit(LiveEventKind.ZONE, zone=state)
        alert_id = f"crowd_level:{zone_id}"
        current = self._alerts.get(alert_id)
        open_ = current is not None and current.state is not AlertState.RESOLVED
        if _RANK[state.level] >= _RANK[cfg.alert_level] and not open_:
            self.raise_alert(
                alert_id,
                rule="crowd_level",
                severity=Severity.CRITICAL
                if state.level is CrowdLevel.CRITICAL
                else Severity.WARNING,
                zone_id=zone_id,
                message=f"{zone_id} is {state.level.value} ({count} people)",
                value=float(count),  # as the engine: people, against the alert level's people
                threshold=round(cfg.capacity * cfg.crowd.occupancy.crowded, 1),
            )
        return state

    def drop_subscribers(self) -> None:
        """End every subscription, as the engine does with a subscriber that fell behind."""
        for sub in list(self._subscribers):
            sub.queue.put_nowait(None)

    def set_climate(self, zone_id: str, climate: ZoneClimateState) -> ZoneState:
        state = replace(self._zones[zone_id], climate=climate, updated_at=self._clock())
        self._zones[zone_id] = state
        self._emit(LiveEventKind.ZONE, zone=state)
        return state

    def set_device(self, health: DeviceHealth) -> None:
        self._devices[health.device_id] = health
        self._emit(LiveEventKind.DEVICE, device=health)

    def raise_alert(
        self,
        alert_id: str,
        *,
        rule: str,
        severity: Severity,
        message: str,
        zone_id: str | None = None,
        device_id: str | None = None,
        value: float | None = None,
        threshold: float | None = None,
        subject: str | None = None,
    ) -> Alert:
        now = self._clock()
        alert = Alert(
            id=alert_id,
            rule=rule,
            severity=severity,
            state=AlertState.ACTIVE,
            zone_id=zone_id,
            device_id=device_id,
            message=message,
            value=value,
            threshold=threshold,
            raised_at=now,
            updated_at=now,
            subject=subject or zone_id or device_id,
        )
        return self._put_alert(alert, "raised")

    # ------------------------------------------------------------------ internals

    def _get(self, alert_id: str) -> Alert:
        try:
            return self._alerts[alert_id]
        except KeyError:
            raise AlertNotFound(alert_id) from None

    def _put_alert(self, alert: Alert, transition: str) -> Alert:
        self._alerts[alert.id] = alert
        self._emit(LiveEventKind.ALERT, alert=alert, transition=transition)
        return alert

    def _emit(self, kind: LiveEventKind, **fields: object) -> None:
        self._seq += 1
        event = LiveEvent(seq=self._seq, kind=kind, at=self._clock(), **fields)  # type: ignore[arg-type]
        self._events.append(event)
        for sub in list(self._subscribers):
            sub.queue.put_nowait(event)

    def _state(
        self,
        cfg: ZoneConfig,
        count: int,
        at: datetime,
        climate: ZoneClimateState | None = None,
        method: str = "presence",
    ) -> ZoneState:
        confidence = {"presence": 0.9, "queue": 0.3}.get(method, 0.0)
        return ZoneState(
            zone_id=cfg.id,
            floor_id=cfg.floor,
            name=cfg.name,
            occupancy=count,
            capacity=cfg.capacity,
            capacity_ratio=count / cfg.capacity,
            density_per_m2=count / cfg.area_m2,
            level_of_service=None,
            level=level_of(cfg, count),
            method=method,
            confidence=confidence,
            sources=[
                SourceReading(
                    f"pc-{cfg.id}", "presence", float(count), at, method == "presence", 0.9, True
                )
            ],
            disagreement=False,
            climate=climate or ZoneClimateState(),
            waiting_tickets=None,
            expected_wait_s=None,
            updated_at=at,
        )


def _join(old: str | None, new: str | None) -> str | None:
    parts = [p for p in (old, new) if p]
    return "\n".join(parts) if parts else None
