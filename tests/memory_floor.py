"""A small, working in-memory ``FloorService`` for the API's tests and benchmark.

Not a mock: it keeps zone states, device health and alerts, runs the alert
lifecycle (active -> acknowledged -> resolved, with the same errors as the
engine), numbers every change as a ``LiveEvent``, keeps a bounded replay
buffer and fans events out to subscribers. Call its methods on the event loop
that serves the API (``tests.api_support.LiveServer.call`` does that from
another thread).

What it shares with the engine (``gateway.engine``), so that the API tests
over it say something about the gateway (tests/integration/test_api_contract.py
runs one suite over both):

- crowd levels from the pure ``gateway.levels``: the zone's thresholds (the
  worse of occupancy / capacity and Fruin's LOS), its hysteresis on the way
  down and, with ``dwell=True``, its dwell time on the way up (the default
  ``dwell=False`` shows a higher level at once: tests set a count and see it);
  the level of service of zones that configure one;
- climate readings (``add_climate``) through the engine's 5-minute windows and
  comfort bands (``gateway.climate``); ``set_climate`` sets a state as given;
- the crowd alert of ``gateway.alert_rules`` (message, severity, value,
  threshold), re-notified when it worsens, resolved by itself once the level
  has been below the alert level for ``alerts.clear_s``, and not raised again
  after a resolve by hand until its condition has cleared once;
- a note given with an acknowledge or resolve replaces the alert's note (the
  store keeps every transition's note); a zone event only when the zone's
  figures changed, a device event only when a device is new or its online /
  detail changed, and a health report without a battery reading keeps the last
  one; a resume point beyond the last event gets a snapshot.

What it leaves out (the contract tests the engine alone on these): fusion
(one presence source per zone, "presence" from the start, where the engine
says "none" until a source is heard, and never a disagreement); alert ids
(the first crowd alert of a zone is ``crowd_level:<zone>``, later ones
``crowd_level:<zone>:<n>``, where the engine's are all ``...:<n>``); the other
alert rules (capacity, climate, waiting time, devices); climate means that
age out of their window between readings (the engine evaluates every tick, the
fake only when a reading comes); re-notification and
escalation of an unacknowledged alert; the 1 s per-zone publish throttle; the
gateway's own health among the devices.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from gateway.alert_rules import ZoneRule, zone_conditions
from gateway.alerts import Condition
from gateway.climate import ZoneClimate
from gateway.levels import LevelTracker, level_of_service, thresholds
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
from gateway.observations import Climate, DeviceHealth
from gateway.seats import SeatState
from gateway.settings import CrowdLevel, Settings, ZoneConfig
from gateway.zones import PRESENCE_CONFIDENCE, QUEUE_CONFIDENCE

READING_CONFIDENCE = 0.9  # what the fake's presence sensors say of their own counts
_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


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
        dwell: bool = False,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._seq = 0
        self._events: deque[LiveEvent] = deque(maxlen=replay)
        self._subscribers: set[_Subscription] = set()
        self._devices: dict[str, DeviceHealth] = {}
        self._seats: list[SeatState] = []
        self._alerts: dict[str, Alert] = {}
        self._levels = {
            z.id: LevelTracker(
                thresholds(z.crowd, capacity=z.capacity, area_m2=z.area_m2),
                z.crowd.dwell_s if dwell else 0.0,
                z.crowd.hysteresis,
            )
            for z in settings.zones
        }
        self._clear_since: dict[str, datetime] = {}  # crowd alert id -> level below since
        self._crowd_ids: dict[str, str] = {}  # zone -> id of its latest crowd alert
        self._raises: dict[str, int] = {}  # zone -> crowd alerts raised
        self._latched: set[str] = set()  # zones resolved by hand while crowded: no re-raise yet
        self._climate = {z.id: ZoneClimate(z.comfort) for z in settings.zones}
        now = clock()
        self._zones = {z.id: self._state(z, 0, now) for z in settings.zones}

    # ------------------------------------------------------------------ FloorService

    def zones(self) -> Sequence[ZoneState]:
        return list(self._zones.values())

    def devices(self) -> Sequence[DeviceHealth]:
        return list(self._devices.values())

    def seats(self) -> Sequence[SeatState]:
        return list(self._seats)

    def set_seats(self, seats: Sequence[SeatState]) -> None:
        """Counter seats as given (the engine debounces them: ``gateway.seats``)."""
        self._seats = sorted(seats, key=lambda s: s.counter)

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
            note=note if note is not None else alert.note,
            updated_at=now,
        )
        return self._put_alert(alert, "acknowledged")

    async def resolve(self, alert_id: str, *, by: str, note: str | None) -> Alert:
        alert = self._get(alert_id)
        if alert.state is AlertState.RESOLVED:
            raise AlertTransitionError(f"alert {alert_id} is already resolved")
        if alert.rule == "crowd_level" and alert.zone_id is not None:
            zone = self._zones[alert.zone_id]
            if self._crowd_condition(zone) is not None:
                self._latched.add(alert.zone_id)
        return self._close(alert, by, note)

    def events_since(self, seq: int) -> Sequence[LiveEvent] | None:
        if seq > self._seq:
            return None  # a sequence this floor never gave (the engine: an earlier run)
        if seq == self._seq:
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
        """A new occupancy for a zone at the clock's now; runs the crowd alert rule.

        ``method`` is fusion's: "presence", "queue" (a lower bound) or "none" (no
        usable source: the count is the last one known, at confidence 0, and the
        level and the crowd alert keep what they were, as the engine's do).
        """
        cfg = self._settings.zone(zone_id)
        now = self._clock()
        before = self._zones[zone_id]
        tracker = self._levels[zone_id]
        level = tracker.level if method == "none" else tracker.update(count, now)
        state = self._state(cfg, count, now, before.climate, method, level)
        self._zones[zone_id] = state
        if _key(state) != _key(before):
            self._emit(LiveEventKind.ZONE, zone=state)
        if method != "none":
            self._crowd_alert(cfg, state, now)
        return state

    def set_presence(self, zone_id: str, presence: str | None) -> ZoneState:
        """The zone's binary presence (occupied / vacant / None) beside its figures."""
        state = replace(self._zones[zone_id], presence=presence, updated_at=self._clock())
        self._zones[zone_id] = state
        self._emit(LiveEventKind.ZONE, zone=state)
        return state

    def _crowd_condition(self, state: ZoneState) -> Condition | None:
        cfg = self._settings.zone(state.zone_id)
        rule = ZoneRule(
            alert_level=cfg.alert_level,
            alert_people=self._levels[cfg.id].thresholds.of(cfg.alert_level),
            capacity=cfg.capacity,
            comfort=cfg.comfort,
        )
        conditions = zone_conditions(state, rule, self._settings.alerts)
        return next((c for c in conditions if c.rule == "crowd_level"), None)

    def _crowd_alert(self, cfg: ZoneConfig, state: ZoneState, now: datetime) -> None:
        condition = self._crowd_condition(state)
        current = self._alerts.get(self._crowd_ids.get(cfg.id, ""))
        open_ = current is not None and current.state is not AlertState.RESOLVED
        if condition is None:
            self._latched.discard(cfg.id)
            if current is not None and open_ and method_known(state):
                since = self._clear_since.setdefault(current.id, now)
                if (now - since).total_seconds() >= self._settings.alerts.clear_s:
                    self._close(current, None, None)
            return
        if current is not None and open_:
            self._clear_since.pop(current.id, None)
            if _SEVERITY_RANK[condition.severity] > _SEVERITY_RANK[current.severity]:
                worse = replace(
                    current,
                    severity=condition.severity,
                    message=condition.message,
                    value=condition.value,
                    threshold=condition.threshold,
                    updated_at=now,
                    notifications=current.notifications + 1,
                )
                self._put_alert(worse, "renotified")
        elif cfg.id not in self._latched:
            # the first raise keeps the id the older tests know; later ones count, as the
            # engine's ids do, so a resolved alert is never overwritten
            n = self._raises.get(cfg.id, 0) + 1
            self._raises[cfg.id] = n
            alert_id = f"crowd_level:{cfg.id}" + (f":{n}" if n > 1 else "")
            self._crowd_ids[cfg.id] = alert_id
            self.raise_alert(
                alert_id,
                rule=condition.rule,
                severity=condition.severity,
                zone_id=cfg.id,
                message=condition.message,
                value=condition.value,
                threshold=condition.threshold,
            )

    def drop_subscribers(self) -> None:
        """End every subscription, as the engine does with a subscriber that fell behind."""
        for sub in list(self._subscribers):
            sub.queue.put_nowait(None)

    def set_climate(self, zone_id: str, climate: ZoneClimateState) -> ZoneState:
        before = self._zones[zone_id]
        state = replace(before, climate=climate, updated_at=self._clock())
        self._zones[zone_id] = state
        if _key(state) != _key(before):
            self._emit(LiveEventKind.ZONE, zone=state)
        return state

    def add_climate(self, reading: Climate) -> ZoneState:
        """A climate sensor's reading, through the engine's pure windows (``gateway.climate``):
        the latest values, 5-minute means and their status against the zone's comfort band.
        ``set_climate`` instead sets a zone's climate as given."""
        windows = self._climate[reading.zone_id]
        windows.add(reading)
        return self.set_climate(reading.zone_id, windows.state(self._clock()))

    def set_device(self, health: DeviceHealth) -> None:
        """A health report; an event when the device is new or its online/detail changed.

        A report without a battery reading keeps the last one known (as the engine).
        """
        before = self._devices.get(health.device_id)
        if health.battery_pct is None and before is not None and before.battery_pct is not None:
            health = replace(health, battery_pct=before.battery_pct)
        self._devices[health.device_id] = health
        if before is None or (before.online, before.detail) != (health.online, health.detail):
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

    def _close(self, alert: Alert, by: str | None, note: str | None) -> Alert:
        now = self._clock()
        self._clear_since.pop(alert.id, None)
        closed = replace(
            alert,
            state=AlertState.RESOLVED,
            resolved_at=now,
            resolved_by=by,
            note=note if note is not None else alert.note,
            updated_at=now,
        )
        return self._put_alert(closed, "resolved")

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
        level: CrowdLevel = CrowdLevel.CALM,
    ) -> ZoneState:
        presence = PRESENCE_CONFIDENCE * READING_CONFIDENCE
        confidence = {"presence": presence, "queue": QUEUE_CONFIDENCE}.get(method, 0.0)
        fresh = method == "presence"
        return ZoneState(
            zone_id=cfg.id,
            floor_id=cfg.floor,
            name=cfg.name,
            occupancy=count,
            capacity=cfg.capacity,
            capacity_ratio=count / cfg.capacity,
            density_per_m2=count / cfg.area_m2,
            level_of_service=(
                level_of_service(count, cfg.area_m2).value if cfg.crowd.los is not None else None
            ),
            level=level,
            method=method,
            confidence=confidence,
            sources=[
                SourceReading(f"pc-{cfg.id}", "presence", float(count), at, fresh, presence, fresh)
            ],
            disagreement=False,
            climate=climate or ZoneClimateState(),
            waiting_tickets=None,
            expected_wait_s=None,
            updated_at=at,
        )


def method_known(state: ZoneState) -> bool:
    """The crowd rule can judge the zone: a source counts it (tickets only prove a crowd)."""
    return state.method not in ("none", "queue")


def _key(s: ZoneState) -> tuple[object, ...]:
    """What a zone event is sent for (the engine's ``_zone_key``): its figures, not the time."""
    c = s.climate
    return (
        s.level,
        s.occupancy,
        s.method,
        round(s.confidence, 2),
        s.level_of_service,
        c.temperature_c,
        c.humidity_pct,
        c.co2_ppm,
        c.pm25_ugm3,
        c.temperature_status,
        c.humidity_status,
        c.co2_status,
    )
