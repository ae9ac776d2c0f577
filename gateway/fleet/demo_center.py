"""A light simulated center for the fleet demo and bench: the simulator's summaries. Pure module.

Not a gateway: no broker, no cameras, no engine. ``SimulatedCenter`` runs the
sensor simulator's model of the center (``sensors.simulator.model.CenterModel``:
visitors, tickets, climate) and samples it every ``sample_s`` of scene time into
what a center's uplink sends (gateway.fleet.messages):

- a **zone state** when what the engine would publish changed (occupancy, crowd
  level, waiting tickets, expected wait, the climate to 0.1 °C), at most once
  per sample: the level from the site's thresholds with dwell and hysteresis
  (gateway.levels), the expected wait as the engine computes it (waiting
  tickets x service time / counters of the group);
- **alert transitions** of the ``crowd_level`` rule: raised when a zone reaches
  its alert level (crowded by default; critical is the critical severity),
  re-notified when it turns critical, resolved when it falls back; and of the
  ``waiting_time`` rule, by the gateway's own rule and lifecycle
  (``gateway.alert_rules.waiting_conditions`` into a ``gateway.alerts.AlertBook``
  with the site's ``alerts:`` settings): a service group whose expected wait
  stays over ``waiting_target_s`` for ``waiting_dwell_s`` raises a warning,
  re-notified every ``renotify_s``, resolved ``clear_s`` after it falls back.
  Nobody acknowledges in the demo, so escalation is off (it would turn every
  such warning critical after ``escalate_s``);
- **device health** changes: every camera and sensor online at start, and at
  some centers (from the seed) one device offline for a while on the day;
- the **hourly** and **health** aggregates of each closed local hour, from the
  gateway's own aggregator (gateway.fleet.hourly) fed the same states, the
  ticket system's events and the device changes.

Times are scene times (the simulator's clock), passed in: same seed and start,
same messages.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.alert_rules import ServiceWait, waiting_conditions
from gateway.alerts import AlertBook
from gateway.fleet.hourly import HourlyAggregator
from gateway.fleet.messages import (
    FleetMessage,
    FleetSubjects,
    alert_message,
    device_message,
    health_message,
    hourly_message,
    zone_message,
)
from gateway.levels import RANK, LevelTracker, level_of_service, thresholds
from gateway.live import Alert, AlertState, Severity, ZoneClimateState, ZoneState
from gateway.observations import DeviceHealth, DeviceKind, TicketEvent, TicketEventKind
from gateway.settings import CrowdLevel, Settings, ZoneConfig, ZoneKind
from sensors.simulator.demand import BUSY_DAY_FACTOR, site_demand, usual_tickets
from sensors.simulator.model import CenterModel
from sensors.simulator.readings import TicketReading

#: a device outage at some centers: when it may start (local hour) and how long it lasts
OUTAGE_SHARE = 0.35
OUTAGE_HOURS = (8, 15)
OUTAGE_MINUTES = (20, 90)


@dataclass(frozen=True, slots=True)
class Outage:
    device_id: str
    start: datetime
    end: datetime


@dataclass(slots=True)
class _Zone:
    config: ZoneConfig
    tracker: LevelTracker
    services: tuple[str, ...]
    key: tuple[object, ...] | None = None
    state: ZoneState | None = None
    alert: Alert | None = None


@dataclass(slots=True)
class CenterStats:
    """What the center produced, by kind."""

    by_kind: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1


def devices_of(settings: Settings) -> dict[str, str]:
    """Configured device id -> kind (camera, sensor)."""
    out = {c.id: DeviceKind.CAMERA.value for c in settings.cameras}
    out.update({s.id: DeviceKind.SENSOR.value for s in settings.sensors})
    return out


def outage_of(settings: Settings, seed: int, day_start: datetime) -> Outage | None:
    """The day's device outage at this center, if the seed gives it one."""
    rng = random.Random(f"{seed}:{settings.site.id}:outage")  # noqa: S311 - a scene, not secrets
    devices = sorted(devices_of(settings))
    if not devices or rng.random() >= OUTAGE_SHARE:
        return None
    start = day_start.replace(hour=rng.randint(*OUTAGE_HOURS), minute=rng.randint(0, 59))
    return Outage(
        rng.choice(devices), start, start + timedelta(minutes=rng.randint(*OUTAGE_MINUTES))
    )


class SimulatedCenter:
    """One center's uplink messages from its simulated day; ``step(now)`` advances it."""

    def __init__(
        self,
        settings: Settings,
        subjects: FleetSubjects,
        seed: int,
        start: datetime,
        *,
        sample_s: float = 5.0,
        busy: bool = True,
    ) -> None:
        tickets = usual_tickets(settings) * (BUSY_DAY_FACTOR if busy else 1.0)
        self._settings = settings
        self._subjects = subjects
        self._tz = ZoneInfo(settings.site.timezone)
        self._model = CenterModel(
            settings, seed, start, demand=site_demand(settings, tickets), pin_day=True
        )
        self._sample = timedelta(seconds=sample_s)
        self._t = start
        self._services = {s.id: s for s in settings.services}
        self._waiting: dict[str, set[str]] = {s: set() for s in self._services}
        self._zones = {z.id: self._zone(z) for z in settings.zones}
        self._service_zone = {s: z.config.id for z in self._zones.values() for s in z.services}
        rules = settings.alerts
        self._book = AlertBook(renotify_s=rules.renotify_s, escalate_s=None, clear_s=rules.clear_s)
        self._device_kinds = devices_of(settings)
        self._devices = {
            d: DeviceHealth(d, DeviceKind(k), True, start, "")
            for d, k in self._device_kinds.items()
        }
        local_start = start.astimezone(self._tz)
        self.outage = outage_of(
            settings, seed, local_start.replace(hour=0, minute=0, second=0, microsecond=0)
        )
        self._hours = HourlyAggregator(self._tz, self._device_kinds)
        self.stats = CenterStats()
        self._first = True

    @property
    def now(self) -> datetime:
        return self._t

    def occupancy(self) -> Mapping[str, int]:
        return dict(self._model.occupancy)

    def levels(self) -> dict[str, CrowdLevel]:
        return {z: s.tracker.level for z, s in self._zones.items()}

    def open_alerts(self) -> list[Alert]:
        """The alerts open now: each zone's crowd alert, then the wait alerts."""
        crowd = [z.alert for z in self._zones.values() if z.alert is not None]
        return crowd + list(self._book.active.values())

    def current(self) -> list[FleetMessage]:
        """Every zone's and device's present state (what the uplink re-sends on connection)."""
        out = [zone_message(self._subjects, z.state) for z in self._zones.values() if z.state]
        out += [device_message(self._subjects, d) for d in self._devices.values()]
        return out

    def step(self, now: datetime) -> list[FleetMessage]:
        """The messages of the scene up to ``now``, one sample every ``sample_s``."""
        out: list[FleetMessage] = []
        if self._first:
            self._first = False
            out += self._sample_at(self._t)
            for d in self._devices.values():
                out.append(self._device(d))
        while self._t + self._sample <= now:
            self._t += self._sample
            out += self._sample_at(self._t)
        return out

    # ------------------------------------------------------------------ internals

    def _zone(self, z: ZoneConfig) -> _Zone:
        t = thresholds(z.crowd, capacity=z.capacity, area_m2=z.area_m2)
        tracker = LevelTracker(t, z.crowd.dwell_s, z.crowd.hysteresis)
        if z.services is not None:
            services = tuple(z.services)
        elif z.kind is ZoneKind.WAITING:
            services = tuple(self._services)
        else:
            services = ()
        return _Zone(z, tracker, services)

    def _sample_at(self, t: datetime) -> list[FleetMessage]:
        out: list[FleetMessage] = []
        for reading in self._model.step(t):
            if isinstance(reading, TicketReading):
                self._ticket(reading)
        out += self._outage(t)
        waits = self._service_waits()
        for zone in self._zones.values():
            out += self._zone_at(zone, t, waits)
        for tr in self._book.evaluate(t, waiting_conditions(waits.values(), self._settings.alerts)):
            out.append(self._alert(tr.alert, tr.kind))
        for hourly, health in self._hours.close(t):
            if hourly is not None:
                out.append(hourly_message(self._subjects, hourly))
                self.stats.count("hourly")
            if health is not None:
                out.append(health_message(self._subjects, health))
                self.stats.count("health")
        return out

    def _ticket(self, r: TicketReading) -> None:
        waiting = self._waiting.setdefault(r.service_id, set())
        if r.event is TicketEventKind.ISSUED:
            waiting.add(r.ticket)
        else:
            waiting.discard(r.ticket)
        self._hours.ticket(
            TicketEvent(r.service_id, r.ticket, r.event, r.at, r.sensor_id, r.counter)
        )

    def _service_waits(self) -> dict[str, ServiceWait]:
        """Each service group's expected wait as the engine computes it (every counter open)."""
        out = {}
        for sid, svc in self._services.items():
            waiting = len(self._waiting.get(sid, ()))
            out[sid] = ServiceWait(
                service_id=sid,
                name=svc.name,
                zone_id=self._service_zone.get(sid),
                waiting=waiting,
                open_counters=len(svc.counters),
                expected_wait_s=waiting * svc.service_time_s / len(svc.counters),
            )
        return out

    @staticmethod
    def _expected_wait(
        services: tuple[str, ...], waits: Mapping[str, ServiceWait]
    ) -> tuple[int | None, float | None]:
        if not services:
            return None, None
        mine = [waits[s] for s in services if s in waits]
        waiting = sum(w.waiting for w in mine)
        return waiting, max((w.expected_wait_s for w in mine), default=None)

    def _zone_at(
        self, zone: _Zone, t: datetime, waits: Mapping[str, ServiceWait]
    ) -> list[FleetMessage]:
        z = zone.config
        people = self._model.occupancy.get(z.id, 0)
        level = zone.tracker.update(people, t)
        waiting, wait_s = self._expected_wait(zone.services, waits)
        air = self._model.air(z.id)
        climate = ZoneClimateState(
            at=t,
            temperature_c=round(air.temperature_c, 1),
            humidity_pct=round(air.humidity_pct),
            co2_ppm=round(air.co2_ppm, -1),
        )
        key = (
            level,
            people,
            waiting,
            None if wait_s is None else round(wait_s),
            climate.temperature_c,
            climate.humidity_pct,
            climate.co2_ppm,
        )
        if key == zone.key:
            return []
        zone.key = key
        state = ZoneState(
            zone_id=z.id,
            floor_id=z.floor,
            name=z.name,
            occupancy=people,
            capacity=z.capacity,
            capacity_ratio=round(people / z.capacity, 3),
            density_per_m2=round(people / z.area_m2, 3),
            level_of_service=(
                level_of_service(people, z.area_m2).value if z.crowd.los is not None else None
            ),
            level=level,
            method="camera" if self._settings.cameras else "doors",
            confidence=0.9,
            sources=(),
            disagreement=False,
            climate=climate,
            waiting_tickets=waiting,
            expected_wait_s=None if wait_s is None else round(wait_s, 1),
            updated_at=t,
        )
        zone.state = state
        self._hours.zone(state)
        self.stats.count("zone")
        out = [zone_message(self._subjects, state)]
        out += self._crowd_alert(zone, state, t)
        return out

    def _crowd_alert(self, zone: _Zone, state: ZoneState, t: datetime) -> list[FleetMessage]:
        alerting = RANK[state.level] >= RANK[zone.config.alert_level]
        severity = Severity.CRITICAL if state.level is CrowdLevel.CRITICAL else Severity.WARNING
        alert = zone.alert
        if alerting and alert is None:
            zone.alert = Alert(
                id=f"crowd_level:{state.zone_id}",
                rule="crowd_level",
                severity=severity,
                state=AlertState.ACTIVE,
                zone_id=state.zone_id,
                device_id=None,
                message=f"{state.name}: {state.level.value} ({state.occupancy} people)",
                value=float(state.occupancy),
                threshold=round(zone.tracker.thresholds.of(zone.config.alert_level), 1),
                raised_at=t,
                updated_at=t,
                subject=state.zone_id,
            )
            return [self._alert(zone.alert, "raised")]
        if alerting and alert is not None and alert.severity is not severity:
            zone.alert = replace(
                alert, severity=severity, updated_at=t, notifications=alert.notifications + 1
            )
            return [self._alert(zone.alert, "renotified")]
        if not alerting and alert is not None:
            zone.alert = None
            done = replace(alert, state=AlertState.RESOLVED, updated_at=t, resolved_at=t)
            return [self._alert(done, "resolved")]
        return []

    def _alert(self, alert: Alert, transition: str) -> FleetMessage:
        self.stats.count("alert")
        return alert_message(self._subjects, alert, transition)

    def _outage(self, t: datetime) -> list[FleetMessage]:
        o = self.outage
        if o is None or o.device_id not in self._devices:
            return []
        down = o.start <= t < o.end
        before = self._devices[o.device_id]
        if before.online != down:
            return []
        health = DeviceHealth(
            o.device_id, before.kind, not down, t, "no data" if down else "", None, None
        )
        self._devices[o.device_id] = health
        return [self._device(health)]

    def _device(self, health: DeviceHealth) -> FleetMessage:
        self._hours.device(health)
        self.stats.count("device")
        return device_message(self._subjects, health)
