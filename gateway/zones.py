"""Zone occupancy fusion: one number per zone from its fresh sources. Pure module.

Sources of a zone, in order of preference:

1. ``camera``: the people counts of the cameras with an ROI on the zone, summed
   (ROIs of different cameras cover different parts). Used when every one of
   them is fresh (younger than ``crowd.camera_max_age_s``, camera not reported
   offline) and confident (``crowd.camera_min_confidence``).
2. ``presence``: the zone's people-counting presence sensors (mmWave and
   ceiling counters that report a number), summed, when all are fresh
   (younger than ``interval_s`` x ``alerts.sensor_stale_factor``, not stale).
3. ``doors``: the running balance of the door counters around the zone
   (entries minus exits of the doors into it, the reverse for doors out of it),
   never below zero, re-anchored to a confident camera figure, reset to zero at
   closing time; used when none of its counters is stale.
4. ``queue``: waiting tickets of the zone's services x ``crowd.people_per_ticket``
   (a lower bound: not everybody holds a ticket).

The first usable source gives the figure; its confidence is part of the result.

Binary presence (a PIR or mmWave sensor's occupied / vacant: ``Presence``) is
never added as people. It is the zone's ``presence``: ``occupied`` when a fresh
binary sensor of the zone says so, ``vacant`` when fresh ones all say vacant,
None when none is fresh. With a counted figure it only judges it: a zone
counted 0 while a binary sensor says occupied is occupied but uncounted, and
the figure's confidence is multiplied by ``UNCOUNTED_FACTOR``. With no usable
counting source the zone's method is ``binary``: no number (occupancy stays the
last known, the level does not move), only occupied or vacant. A presence
sensor with ``counter:`` watches a counter seat (``gateway.seats``), not its zone.
Stale sources are listed with ``fresh=False`` and never used. When two usable
sources differ by more than the tolerance (``crowd.disagreement_ratio`` of the
larger and more than ``crowd.disagreement_min_people``) the result says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.live import SourceReading, ZoneState
from gateway.observations import DoorTraffic, PeopleCount, Presence
from gateway.settings import (
    CrowdConfig,
    DoorConfig,
    SensorKind,
    Settings,
    SiteConfig,
    Weekday,
    ZoneKind,
)

PRESENCE_CONFIDENCE = 0.8
BINARY_CONFIDENCE = 0.5  # occupied / vacant only: how sure we are of that, not of a number
UNCOUNTED_FACTOR = 0.5  # a figure of 0 while a binary sensor says occupied
OCCUPIED = "occupied"
VACANT = "vacant"
DOORS_ANCHORED_CONFIDENCE = 0.6
DOORS_DRIFTING_CONFIDENCE = 0.3
QUEUE_CONFIDENCE = 0.3
_WEEKDAYS = list(Weekday)


@dataclass(frozen=True, slots=True)
class DoorLink:
    """A door of a zone: +1 if an entry brings a person into the zone, -1 if out of it."""

    door_id: str
    sign: int


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    """What fusion needs to know of a zone, derived once from the settings."""

    id: str
    floor_id: str
    name: str
    area_m2: float
    capacity: int
    crowd: CrowdConfig
    cameras: tuple[str, ...] = ()
    presence: Mapping[str, float] = field(default_factory=dict)  # sensor id -> max age (s)
    doors: tuple[DoorLink, ...] = ()
    door_sensors: tuple[str, ...] = ()
    services: tuple[str, ...] = ()


def zone_specs(settings: Settings) -> list[ZoneSpec]:
    factor = settings.alerts.sensor_stale_factor
    specs = []
    all_services = tuple(s.id for s in settings.services)
    for z in settings.zones:
        cameras = tuple(
            c.id
            for c in settings.cameras
            if any(r.zone == z.id for r in c.rois)
            or z.id in c.onvif.events.counting_rules.values()  # the camera's own analytics
        )
        presence = {
            s.id: s.interval_s * factor
            for s in settings.sensors
            if s.kind is SensorKind.PRESENCE and s.zone == z.id and s.counter is None
        }
        links = tuple(_links(z.id, settings.doors)) if z.door_balance else ()
        linked = {link.door_id for link in links}
        door_sensors = tuple(
            s.id for s in settings.sensors if s.kind is SensorKind.DOOR_COUNTER and s.door in linked
        ) + tuple(  # a camera counting line crossings on board (ONVIF Profile M)
            f"{c.id}/onvif"
            for c in settings.cameras
            if any(r.door in linked for r in c.onvif.events.crossing_rules.values())
        )
        if z.services is not None:
            services = tuple(z.services)
        else:
            services = all_services if z.kind is ZoneKind.WAITING else ()
        specs.append(
            ZoneSpec(
                id=z.id,
                floor_id=z.floor,
                name=z.name,
                area_m2=z.area_m2,
                capacity=z.capacity,
                crowd=z.crowd,
                cameras=cameras,
                presence=presence,
                doors=links,
                door_sensors=door_sensors,
                services=services,
            )
        )
    return specs


def _links(zone_id: str, doors: Iterable[DoorConfig]) -> Iterable[DoorLink]:
    for d in doors:
        if d.into_zone == zone_id:
            yield DoorLink(d.id, +1)
        if d.from_zone == zone_id:
            yield DoorLink(d.id, -1)


# --------------------------------------------------------------------------- doors


@dataclass(slots=True)
class Balance:
    people: float = 0.0
    anchored: bool = False
    at: datetime | None = None


class DoorBalances:
    """Running people balance per zone from door traffic; never below zero."""

    def __init__(self, specs: Iterable[ZoneSpec], *, anchored: bool = False) -> None:
        self._by_door: dict[str, list[tuple[str, int]]] = {}
        self.balances: dict[str, Balance] = {}
        for spec in specs:
            if not spec.doors:
                continue
            self.balances[spec.id] = Balance(anchored=anchored)
            for link in spec.doors:
                self._by_door.setdefault(link.door_id, []).append((spec.id, link.sign))

    def apply(self, traffic: DoorTraffic) -> list[str]:
        """Add the passages; return the zones whose balance moved."""
        moved = []
        net = traffic.entries - traffic.exits
        for zone_id, sign in self._by_door.get(traffic.door_id, ()):
            b = self.balances[zone_id]
            b.people = max(0.0, b.people + sign * net)
            b.at = traffic.at
            moved.append(zone_id)
        return moved

    def anchor(self, zone_id: str, people: float, at: datetime) -> None:
        b = self.balances.get(zone_id)
        if b is not None:
            b.people, b.anchored, b.at = max(0.0, people), True, at

    def reset(self, zone_ids: Iterable[str], at: datetime) -> None:
        for zone_id in zone_ids:
            self.anchor(zone_id, 0.0, at)


def last_closing(site: SiteConfig, day: date) -> datetime | None:
    """The end of the last opening session on ``day`` (site-local), as an aware datetime."""
    weekday = _WEEKDAYS[day.weekday()]
    ends = [s.end for days in site.opening_hours if weekday in days.days for s in days.sessions]
    if not ends:
        return None
    return datetime.combine(day, max(ends), tzinfo=ZoneInfo(site.timezone))


def closed_between(site: SiteConfig, after: datetime, until: datetime) -> bool:
    """Whether a daily closing time falls in (after, until]."""
    tz = ZoneInfo(site.timezone)
    day = after.astimezone(tz).date()
    last = until.astimezone(tz).date()
    while day <= last:
        closing = last_closing(site, day)
        if closing is not None and after < closing <= until:
            return True
        day += timedelta(days=1)
    return False


def is_open(site: SiteConfig, at: datetime) -> bool:
    local = at.astimezone(ZoneInfo(site.timezone))
    weekday = _WEEKDAYS[local.weekday()]
    return any(
        s.start <= local.time() < s.end
        for days in site.opening_hours
        if weekday in days.days
        for s in days.sessions
    )


# --------------------------------------------------------------------------- fusion


@dataclass(frozen=True, slots=True)
class FusionInputs:
    """The latest of everything that can tell a zone's occupancy."""

    counts: Mapping[str, PeopleCount]  # source id -> latest count in this zone
    offline: frozenset[str]  # devices last reported offline (stale, stalled, ...)
    balance: Balance | None = None
    doors_offline: bool = False
    waiting_tickets: int | None = None
    presence: Mapping[str, Presence] = field(default_factory=dict)  # binary sensor -> latest


@dataclass(frozen=True, slots=True)
class Fusion:
    occupancy: int | None  # None: no usable source, or binary presence only (no number)
    method: str
    confidence: float
    sources: tuple[SourceReading, ...]
    disagreement: bool
    camera_confident: bool  # the camera figure may re-anchor the door balance
    presence: str | None = None  # "occupied", "vacant", None: no fresh binary sensor


@dataclass(frozen=True, slots=True)
class _Group:
    kind: str
    readings: tuple[SourceReading, ...]
    usable: bool
    value: float
    confidence: float


def fuse(spec: ZoneSpec, inputs: FusionInputs, now: datetime) -> Fusion:
    groups = [
        _camera_group(spec, inputs, now),
        _presence_group(spec, inputs, now),
        _doors_group(spec, inputs),
        _queue_group(spec, inputs),
    ]
    chosen = next((g for g in groups if g is not None and g.usable), None)
    readings: list[SourceReading] = []
    for g in groups:
        if g is None:
            continue
        used = g is chosen
        readings.extend(_replace_used(r, used) for r in g.readings)
    presence, binary = _binary(spec, inputs, now)
    if chosen is None:
        if presence is None:
            return Fusion(None, "none", 0.0, (*readings, *binary), False, False)
        binary = tuple(_replace_used(r, r.fresh) for r in binary)
        return Fusion(
            None, "binary", BINARY_CONFIDENCE, (*readings, *binary), False, False, presence
        )
    usable = [g for g in groups if g is not None and g.usable]
    occupancy = round(chosen.value)
    confidence = chosen.confidence
    if occupancy == 0 and presence == OCCUPIED:
        confidence *= UNCOUNTED_FACTOR  # occupied but uncounted
    return Fusion(
        occupancy=occupancy,
        method=chosen.kind,
        confidence=confidence,
        sources=(*readings, *binary),
        disagreement=_disagree(chosen, usable, spec.crowd),
        camera_confident=chosen.kind == "camera",
        presence=presence,
    )


def _binary(
    spec: ZoneSpec, inputs: FusionInputs, now: datetime
) -> tuple[str | None, tuple[SourceReading, ...]]:
    """The zone's occupied / vacant from its binary presence sensors, and their readings."""
    readings = []
    for sensor_id, p in inputs.presence.items():
        max_age = spec.presence.get(sensor_id)
        if max_age is None:
            continue
        ok = sensor_id not in inputs.offline and _age_ok(p.at, now, max_age)
        count = 1.0 if p.occupied else 0.0
        readings.append(
            SourceReading(sensor_id, "binary", count, p.at, ok, BINARY_CONFIDENCE, False)
        )
    fresh = [r for r in readings if r.fresh]
    if not fresh:
        return None, tuple(readings)
    return (OCCUPIED if any(r.count > 0 for r in fresh) else VACANT), tuple(readings)


def _replace_used(r: SourceReading, used: bool) -> SourceReading:
    return SourceReading(r.source_id, r.kind, r.count, r.at, r.fresh, r.confidence, used)


def _age_ok(at: datetime, now: datetime, max_age_s: float) -> bool:
    return (now - at).total_seconds() <= max_age_s


def _camera_group(spec: ZoneSpec, inputs: FusionInputs, now: datetime) -> _Group | None:
    if not spec.cameras:
        return None
    crowd = spec.crowd
    readings = []
    usable = True
    for camera_id in spec.cameras:
        c = inputs.counts.get(camera_id)
        fresh = (
            c is not None
            and camera_id not in inputs.offline
            and _age_ok(c.at, now, crowd.camera_max_age_s)
        )
        confident = c is not None and c.confidence >= crowd.camera_min_confidence
        usable = usable and fresh and confident
        readings.append(
            SourceReading(
                camera_id,
                "camera",
                float(c.count) if c else 0.0,
                c.at if c else None,
                fresh,
                c.confidence if c else 0.0,
                False,
            )
        )
    value = sum(r.count for r in readings)
    confidence = min(r.confidence for r in readings)
    return _Group("camera", tuple(readings), usable, value, confidence)


def _presence_group(spec: ZoneSpec, inputs: FusionInputs, now: datetime) -> _Group | None:
    counting = [s for s in spec.presence.items() if s[0] not in inputs.presence]
    if not counting:  # no presence sensor, or only binary ones (not people counts)
        return None
    readings = []
    for sensor_id, max_age_s in counting:
        c = inputs.counts.get(sensor_id)
        fresh = c is not None and sensor_id not in inputs.offline and _age_ok(c.at, now, max_age_s)
        conf = PRESENCE_CONFIDENCE * (c.confidence if c else 0.0)
        readings.append(
            SourceReading(
                sensor_id,
                "presence",
                float(c.count) if c else 0.0,
                c.at if c else None,
                fresh,
                conf,
                False,
            )
        )
    usable = all(r.fresh for r in readings)
    value = sum(r.count for r in readings)
    return _Group("presence", tuple(readings), usable, value, min(r.confidence for r in readings))


def _doors_group(spec: ZoneSpec, inputs: FusionInputs) -> _Group | None:
    b = inputs.balance
    if b is None or not spec.door_sensors:
        return None
    fresh = not inputs.doors_offline
    conf = DOORS_ANCHORED_CONFIDENCE if b.anchored else DOORS_DRIFTING_CONFIDENCE
    reading = SourceReading("doors", "doors", b.people, b.at, fresh, conf, False)
    return _Group("doors", (reading,), fresh, b.people, conf)


def _queue_group(spec: ZoneSpec, inputs: FusionInputs) -> _Group | None:
    if not spec.services or inputs.waiting_tickets is None:
        return None
    value = inputs.waiting_tickets * spec.crowd.people_per_ticket
    reading = SourceReading("queue", "queue", value, None, True, QUEUE_CONFIDENCE, False)
    return _Group("queue", (reading,), True, value, QUEUE_CONFIDENCE)


def _disagree(chosen: _Group, usable: Sequence[_Group], crowd: CrowdConfig) -> bool:
    for g in usable:
        if g is chosen:
            continue
        if g.kind == "queue" and g.value <= chosen.value:
            continue  # a lower bound below the figure agrees with it
        larger = max(g.value, chosen.value)
        diff = abs(g.value - chosen.value)
        if diff > crowd.disagreement_min_people and diff > crowd.disagreement_ratio * larger:
            return True
    return False


# --------------------------------------------------------------------------- totals


@dataclass(frozen=True, slots=True)
class Totals:
    site: int
    floors: Mapping[str, int]


def totals(states: Iterable[ZoneState]) -> Totals:
    floors: dict[str, int] = {}
    for s in states:
        floors[s.floor_id] = floors.get(s.floor_id, 0) + s.occupancy
    return Totals(site=sum(floors.values()), floors=floors)
