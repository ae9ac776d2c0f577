"""The floor picture: observations in, zone states and alert conditions out. Pure module.

``FloorModel`` keeps what each source last said (``FloorState``), the door
balances, the climate windows, the crowd-level trackers of every zone and the
counter seats (``gateway.seats``: a binary presence reading of a seat sensor
goes there, one of a zone sensor to the zone's occupied / vacant);
the waiting tickets and door balances are saved across restarts
(``gateway.day_state``).
``evaluate(now)`` fuses each zone's occupancy (``gateway.zones``), moves its
level (``gateway.levels``), reads its climate (``gateway.climate``) and the
expected waits of its services; ``conditions(now, ...)`` runs the alert rules
(``gateway.alerts``) over that picture. The engine (``gateway.engine``) calls
both with the clock; nothing here reads a clock or does I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from gateway.alert_rules import (
    DEVICE_RULES,
    ServiceWait,
    ZoneRule,
    device_conditions,
    spool_conditions,
    waiting_conditions,
    zone_conditions,
)
from gateway.alerts import Condition, alert_key
from gateway.climate import ZoneClimate
from gateway.day_state import DayRestore, capture_day, restore_day
from gateway.floor_state import FloorState
from gateway.levels import LevelTracker, level_of_service, thresholds
from gateway.live import ZoneState
from gateway.observations import (
    CAMERA_EVENTS,
    Climate,
    DeviceHealth,
    DeviceKind,
    DoorTraffic,
    Observation,
    PeopleCount,
    Presence,
    presence_of,
)
from gateway.seats import SeatBook, SeatState, SeatStatus, seat_counters, seat_specs
from gateway.settings import CrowdLevel, ServiceConfig, Settings
from gateway.zones import (
    DoorBalances,
    FusionInputs,
    ZoneSpec,
    closed_between,
    fuse,
    is_open,
    zone_specs,
)

_UNUSABLE_DETAIL = ("stall", "tamper")
_EVENT_ONLY = frozenset(d for d, (event, _) in CAMERA_EVENTS.items() if event == "motion")
# ONVIF video-loss states: the camera's own view of its video input, sticky until
# restored; never a report on the stream's health.
_VIDEO_LOSS = {d: active for d, (event, active) in CAMERA_EVENTS.items() if event == "video_loss"}


class FloorModel:
    def __init__(self, settings: Settings, *, start: datetime) -> None:
        self._site = settings.site
        self._rules = settings.alerts
        self._specs: dict[str, ZoneSpec] = {s.id: s for s in zone_specs(settings)}
        self._zones = {z.id: z for z in settings.zones}
        self._services: list[ServiceConfig] = list(settings.services)
        self._service_zone = {
            service: spec.id for spec in self._specs.values() for service in spec.services
        }
        self.state = FloorState()
        self.seats = SeatBook(seat_specs(settings), settings.seats)
        self._seat_counter = seat_counters(settings)
        # A gateway started while the site is closed may count from an empty building.
        self.doors = DoorBalances(self._specs.values(), anchored=not is_open(self._site, start))
        self._climate = {z.id: ZoneClimate(z.comfort) for z in settings.zones}
        self._levels = {
            z.id: LevelTracker(
                thresholds(z.crowd, capacity=z.capacity, area_m2=z.area_m2),
                z.crowd.dwell_s,
                z.crowd.hysteresis,
            )
            for z in settings.zones
        }
        self._rule_of = {
            z.id: ZoneRule(
                alert_level=z.alert_level,
                alert_people=self._levels[z.id].thresholds.of(z.alert_level),
                capacity=z.capacity,
                comfort=z.comfort,
            )
            for z in settings.zones
        }
        self._device_zone: dict[str, str] = {}
        for c in settings.cameras:
            if c.rois:
                self._device_zone[c.id] = c.rois[0].zone
        for s in settings.sensors:
            if s.zone is not None:
                self._device_zone[s.id] = s.zone
        self._last_occupancy: dict[str, int] = {}
        self.tampered: set[str] = set()
        self.video_lost: set[str] = set()
        self._last_eval = start
        self.states: dict[str, ZoneState] = {}

    @property
    def specs(self) -> dict[str, ZoneSpec]:
        return self._specs

    def apply(self, obs: Observation) -> None:
        if isinstance(obs, PeopleCount) and obs.binary:
            # a decoder's binary reading: occupied / vacant, never people
            obs = presence_of(obs, self._seat_counter.get(obs.source_id))
        if isinstance(obs, Presence) and self.seats.apply(obs):
            return  # a counter seat's sensor: the seat's state, not its zone's
        if isinstance(obs, DeviceHealth) and obs.kind is DeviceKind.CAMERA:
            detail = obs.detail.lower()
            if detail in _EVENT_ONLY:
                return  # ONVIF motion events say nothing about the camera's health
            if "tamper" in detail:
                # sticky until the camera says it is cleared; not a health report
                if "cleared" in detail:
                    self.tampered.discard(obs.device_id)
                else:
                    self.tampered.add(obs.device_id)
                return
            if detail in _VIDEO_LOSS:
                # "video_restored" must not report the camera online over its stream's health
                if _VIDEO_LOSS[detail]:
                    self.video_lost.add(obs.device_id)
                else:
                    self.video_lost.discard(obs.device_id)
                return
        if isinstance(obs, DeviceHealth) and obs.battery_pct is None:
            before = self.state.devices.get(obs.device_id)
            if before is not None and before.battery_pct is not None:
                # a health report without a battery reading keeps the last one known
                obs = dataclasses.replace(obs, battery_pct=before.battery_pct)
        self.state.apply(obs)
        if isinstance(obs, Climate):
            zc = self._climate.get(obs.zone_id)
            if zc is not None:
                zc.add(obs)
        elif isinstance(obs, DoorTraffic):
            self.doors.apply(obs)

    # ------------------------------------------------------------------ picture

    def evaluate(self, now: datetime) -> list[ZoneState]:
        """Every zone's state at ``now`` (levels move with time: call it periodically)."""
        if closed_between(self._site, self._last_eval, now):
            self._closing(now)
        self._last_eval = max(self._last_eval, now)
        unusable = self._unusable_devices()
        self.seats.evaluate(now, unusable)  # before the waits: they divide by open seats
        waits = {w.service_id: w for w in self.service_waits(now)}
        out = []
        for spec in self._specs.values():
            state = self._zone(spec, now, unusable, waits)
            self.states[spec.id] = state
            out.append(state)
        return out

    def seat_states(self) -> list[SeatState]:
        """Every counter seat as of the last ``evaluate``."""
        return self.seats.states

    def _closing(self, now: datetime) -> None:
        resettable = [z.id for z in self._zones.values() if z.door_reset_at_closing]
        self.doors.reset(resettable, now)
        self.state.clear_waiting()

    def _unusable_devices(self) -> frozenset[str]:
        return frozenset(
            d.device_id
            for d in self.state.devices.values()
            if not d.online or any(word in d.detail.lower() for word in _UNUSABLE_DETAIL)
        ) | frozenset(self.tampered | self.video_lost)

    def _zone(
        self,
        spec: ZoneSpec,
        now: datetime,
        unusable: frozenset[str],
        waits: dict[str, ServiceWait],
    ) -> ZoneState:
        zone_waits = [waits[s] for s in spec.services if s in waits]
        # no ticket event of its services since the start: unknown, not zero
        waiting = sum(w.waiting for w in zone_waits) if zone_waits else None
        expected = max((w.expected_wait_s for w in zone_waits), default=None)
        inputs = FusionInputs(
            counts=self.state.counts.get(spec.id, {}),
            offline=unusable,
            balance=self.doors.balances.get(spec.id),
            doors_offline=any(s in unusable for s in spec.door_sensors),
            waiting_tickets=waiting,
            presence=self.state.presence.get(spec.id, {}),
        )
        fusion = fuse(spec, inputs, now)
        if fusion.occupancy is not None:
            self._last_occupancy[spec.id] = fusion.occupancy
            if fusion.camera_confident:
                self.doors.anchor(spec.id, fusion.occupancy, now)
        occupancy = self._last_occupancy.get(spec.id, 0)
        tracker = self._levels[spec.id]
        level = tracker.update(occupancy, now) if fusion.occupancy is not None else tracker.level
        zone = self._zones[spec.id]
        return ZoneState(
            zone_id=spec.id,
            floor_id=spec.floor_id,
            name=spec.name,
            occupancy=occupancy,
            capacity=spec.capacity,
            capacity_ratio=occupancy / spec.capacity,
            density_per_m2=occupancy / spec.area_m2,
            level_of_service=(
                level_of_service(occupancy, spec.area_m2).value
                if zone.crowd.los is not None
                else None
            ),
            level=level,
            method=fusion.method,
            confidence=fusion.confidence,
            sources=fusion.sources,
            disagreement=fusion.disagreement,
            climate=self._climate[spec.id].state(now),
            waiting_tickets=waiting,
            expected_wait_s=expected,
            updated_at=now,
            presence=fusion.presence,
        )

    def service_waits(self, now: datetime) -> list[ServiceWait]:
        """Expected wait per service: waiting tickets / (open counters / service time)."""
        out = []
        idle_s = self._rules.counter_idle_s
        for service in self._services:
            q = self.state.queues.get(service.id)
            if q is None:
                continue
            active = sum(
                1
                for counter, at in q.counters.items()
                if counter in service.counters and (now - at).total_seconds() <= idle_s
            )
            staffed = self._staffed(service.counters)
            # counters with somebody behind them when every seat of the group is known;
            # else (or when none is) those that called recently, else all of them
            open_counters = staffed or active or len(service.counters)
            waiting = len(q.waiting)
            out.append(
                ServiceWait(
                    service_id=service.id,
                    name=service.name,
                    zone_id=self._service_zone.get(service.id),
                    waiting=waiting,
                    open_counters=open_counters,
                    expected_wait_s=waiting * service.service_time_s / open_counters,
                )
            )
        return out

    def _staffed(self, counters: Sequence[int]) -> int:
        """Open seats of ``counters`` when every one has a known seat state (else 0)."""
        status = {s.counter: s.status for s in self.seats.states}
        known = [status.get(c, SeatStatus.UNKNOWN) for c in counters]
        if not known or SeatStatus.UNKNOWN in known:
            return 0
        return known.count(SeatStatus.OPEN)

    # ------------------------------------------------------------------ rules

    def devices(self) -> Sequence[DeviceHealth]:
        return list(self.state.devices.values())

    def conditions(
        self, now: datetime, *, spool_fill: float | None, spool_warn: float
    ) -> list[Condition]:
        """What the alert rules see wrong in the picture of the last ``evaluate``."""
        out: list[Condition] = []
        for zone_id, state in self.states.items():
            out.extend(zone_conditions(state, self._rule_of[zone_id], self._rules))
        out.extend(waiting_conditions(self.service_waits(now), self._rules))
        out.extend(
            device_conditions(
                self.devices(),
                self._rules,
                now,
                self._device_zone,
                self.tampered,
                self.video_lost,
            )
        )
        if spool_fill is not None:
            out.extend(spool_conditions(spool_fill, spool_warn))
        return out

    def unknown(self, now: datetime) -> set[str]:
        """Alert keys the rules cannot judge now: their alerts keep their state.

        A zone with no usable occupancy source (all stale, or nothing heard
        since a restart), or only its waiting tickets while it has counting
        sources, keeps its crowd and capacity alerts; a quantity with no
        reading in the last five minutes keeps its climate alerts; a service
        with no ticket event since the start keeps its waiting-time alert.
        """
        out: set[str] = set()
        for zone_id, state in self.states.items():
            if state.method in ("none", "binary") or (
                state.method == "queue" and self._counts(zone_id)
            ):
                # Waiting tickets are a lower bound: while the zone's own counters are
                # unusable they can prove a crowd, never that it has gone.
                out.update((alert_key("crowd_level", zone_id), alert_key("capacity", zone_id)))
            c = state.climate
            for quantity, status in (
                ("temperature", c.temperature_status),
                ("humidity", c.humidity_status),
                ("co2", c.co2_status),
            ):
                if status is None:
                    out.update(
                        (
                            alert_key(f"{quantity}_low", zone_id),
                            alert_key(f"{quantity}_high", zone_id),
                        )
                    )
        for service in self._services:
            if service.id not in self.state.queues:
                out.add(alert_key("waiting_time", service.id))
        # a device in its maintenance window: its alerts are neither raised nor cleared
        for window in self._rules.maintenance:
            if window.start <= now < window.end:
                out.update(alert_key(rule, window.device) for rule in DEVICE_RULES)
        return out

    def _counts(self, zone_id: str) -> bool:
        """The zone has a source that counts people (camera, presence or doors)."""
        spec = self._specs[zone_id]
        return bool(spec.cameras or spec.presence or spec.door_sensors)

    def levels(self) -> dict[str, tuple[CrowdLevel, int]]:
        """Each zone's shown level and occupancy (saved across restarts)."""
        return {z: (t.level, self._last_occupancy.get(z, 0)) for z, t in self._levels.items()}

    def restore_levels(self, levels: Mapping[str, tuple[CrowdLevel, int]]) -> None:
        """Start from the levels shown before a restart: no fall-and-rise churn of alerts.

        The zone shows that level and occupancy (method ``none``, confidence 0)
        until a source is heard; then the level falls only below its threshold
        minus the hysteresis, as always.
        """
        for zone_id, (level, occupancy) in levels.items():
            tracker = self._levels.get(zone_id)
            if tracker is not None:
                tracker.level = level
                self._last_occupancy[zone_id] = occupancy

    def day_state(self) -> dict[str, Any]:
        """Waiting tickets and door balances, to save across restarts (gateway.day_state)."""
        return capture_day(self.state, self.doors)

    def restore_day_state(
        self, data: Mapping[str, Any], saved_at: datetime, now: datetime
    ) -> DayRestore:
        return restore_day(
            data,
            saved_at=saved_at,
            now=now,
            site=self._site,
            services={s.id for s in self._services},
            state=self.state,
            doors=self.doors,
        )
