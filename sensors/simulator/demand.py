"""Who comes to the center, when, and what they will do there. Pure module.

Arrivals are a non-homogeneous Poisson process (Lewis-Shedler thinning) whose
rate follows the clock-time demand of a Vietnamese service center (a morning
peak around 09:00-10:00, an afternoon peak around 14:30-15:00), masked by the
site's opening sessions: no new arrivals in the lunch break or when closed.
The rate is scaled so that a weekday yields ``Demand.tickets_per_weekday``
ticket holders on average.

Every visitor's whole plan (party size, doors, stops, service, service time,
patience) is drawn when the visitor is created, from that day's random stream:
the queue dynamics never change which random numbers a visitor gets.

Times are integer milliseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from gateway.settings import Settings, Weekday, ZoneKind

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

# Relative demand by local clock time (hour, weight), linear in between.
DEMAND_KNOTS: tuple[tuple[float, float], ...] = (
    (6.0, 0.0),
    (7.0, 0.6),
    (7.5, 0.9),
    (8.0, 1.3),
    (8.5, 1.8),
    (9.0, 2.0),
    (9.5, 2.1),
    (10.0, 2.0),
    (10.5, 1.7),
    (11.0, 1.1),
    (11.5, 0.6),
    (12.0, 0.3),
    (13.0, 0.4),
    (13.5, 0.9),
    (14.0, 1.5),
    (14.5, 1.8),
    (15.0, 1.8),
    (15.5, 1.5),
    (16.0, 1.0),
    (16.5, 0.6),
    (17.0, 0.3),
    (18.0, 0.0),
)
# New arrivals stop this long before a session ends, tapering over TAPER_MS.
CUTOFF_MS = 10 * MINUTE_MS
TAPER_MS = 20 * MINUTE_MS

# Share of tickets per service id; land and police dominate. Unknown ids get
# UNKNOWN_SERVICE_WEIGHT per counter.
SERVICE_WEIGHTS: dict[str, float] = {
    "police": 0.15,
    "land": 0.14,
    "results": 0.14,
    "transport": 0.13,
    "civil": 0.12,
    "business": 0.09,
    "tax": 0.08,
    "labour": 0.08,
    "construction": 0.07,
}
UNKNOWN_SERVICE_WEIGHT = 0.03


@dataclass(frozen=True, slots=True)
class StopHabit:
    """How visitors use a floor-1 amenity zone: when, how often, how long."""

    when: str  # "before" going up for a ticket, or "after" the service
    share: float  # probability that a ticket holder stops here
    errand_weight: float  # relative choice among people who come only for this
    dwell_min_s: float
    dwell_max_s: float


# Matched against zone ids (substring); CANTEEN / SERVICE kinds get the fallbacks.
STOP_HABITS: dict[str, StopHabit] = {
    "photocopy": StopHabit("before", 0.15, 0.20, 180, 480),
    "atm": StopHabit("before", 0.06, 0.25, 90, 240),
    "post": StopHabit("after", 0.12, 0.40, 240, 600),
    "canteen": StopHabit("after", 0.08, 0.15, 480, 1500),
}
SERVICE_FALLBACK = StopHabit("before", 0.05, 0.10, 120, 360)
CANTEEN_FALLBACK = STOP_HABITS["canteen"]


@dataclass(frozen=True, slots=True)
class Demand:
    """Tunable figures of the visitor population."""

    tickets_per_weekday: float = 535.0
    saturday_factor: float = 0.55  # Saturday-morning rate relative to a weekday morning
    errand_share: float = 0.2  # visitors without a ticket (post, ATM, ...) per ticket holder
    companion_share: float = 0.35  # ticket holders who come with one companion
    main_door_share: float = 0.85  # of entries through doors into an entrance zone
    same_door_exit: float = 0.8  # leave by the door they came in
    quick_leaver_share: float = 0.03  # take a ticket, then leave within minutes
    patience_min_s: float = 2700.0
    patience_mean_extra_s: float = 7200.0
    service_shape: float = 2.0  # gamma shape of service times (1 = exponential)
    min_service_s: float = 60.0
    # After a caller, the officer works on online dossiers and paperwork before
    # calling the next ticket: on average this fraction of the service time.
    backoffice_factor: float = 0.75
    # Some wait in the hall after the counter for a receipt or a same-day result.
    results_wait_share: float = 0.3
    results_wait_s: tuple[float, float] = (600.0, 1800.0)


#: Ticket holders per service counter on a usual weekday: the provincial center
#: the demo site models (535 a day at 23 counters). A site's simulated day is
#: sized by its own counters, so a 4-counter commune center is not simulated
#: with a province's crowd.
TICKETS_PER_COUNTER = 535.0 / 23
#: The demo plays a busy day: this many times the site's usual weekday.
BUSY_DAY_FACTOR = 1.5


def usual_tickets(settings: Settings) -> float:
    """Ticket holders on a usual weekday at this site, from its number of counters."""
    counters = {c for service in settings.services for c in service.counters}
    return TICKETS_PER_COUNTER * max(1, len(counters))


def site_demand(settings: Settings, tickets_per_weekday: float | None = None) -> Demand:
    """The visitor population of ``settings``: its usual weekday unless told otherwise."""
    tickets = usual_tickets(settings) if tickets_per_weekday is None else tickets_per_weekday
    return Demand(tickets_per_weekday=tickets)


@dataclass(frozen=True, slots=True)
class Stop:
    zone_id: str
    dwell_ms: int


@dataclass(frozen=True, slots=True)
class Layout:
    """The roles the simulator needs, resolved from the site config."""

    entrance: str
    waiting: str
    counters: str
    stairs_door: str | None  # entrance -> upper floor; None when the hall is on the ground floor
    stairs_into: str | None  # the zone behind the stairs door (the landing)
    outside_doors: tuple[tuple[str, str, float], ...]  # (door, into zone, weight)
    amenities: tuple[tuple[str, StopHabit], ...]


def resolve_layout(settings: Settings, demand: Demand) -> Layout:
    """Find entrance, waiting and counters zones, the outside doors, the stairs."""
    kinds: dict[ZoneKind, list[str]] = {}
    for zone in settings.zones:
        kinds.setdefault(zone.kind, []).append(zone.id)
    outside = [d for d in settings.doors if d.from_zone is None]
    if not outside:
        raise ValueError("the simulator needs at least one outside door (a door with no from_zone)")
    if ZoneKind.WAITING not in kinds:
        raise ValueError("the simulator needs a zone of kind 'waiting'")
    if not settings.services:
        raise ValueError("the simulator needs at least one service")
    entrance = kinds.get(ZoneKind.ENTRANCE, [outside[0].into_zone])[0]
    waiting = kinds[ZoneKind.WAITING][0]
    counters = kinds.get(ZoneKind.COUNTERS, [waiting])[0]
    main = [d for d in outside if d.into_zone == entrance]
    other = [d for d in outside if d.into_zone != entrance]
    main_share = demand.main_door_share if main and other else (1.0 if main else 0.0)
    doors = tuple(
        (d.id, d.into_zone, main_share / len(main) if d in main else (1 - main_share) / len(other))
        for d in outside
    )
    stairs = next((d for d in settings.doors if d.from_zone == entrance), None)
    amenities: list[tuple[str, StopHabit]] = []
    for zone in settings.zones:
        if zone.kind not in (ZoneKind.SERVICE, ZoneKind.CANTEEN):
            continue
        habit = next((h for key, h in STOP_HABITS.items() if key in zone.id), None)
        if habit is None:
            habit = CANTEEN_FALLBACK if zone.kind is ZoneKind.CANTEEN else SERVICE_FALLBACK
        amenities.append((zone.id, habit))
    return Layout(
        entrance=entrance,
        waiting=waiting,
        counters=counters,
        stairs_door=stairs.id if stairs else None,
        stairs_into=stairs.into_zone if stairs else None,
        outside_doors=doors,
        amenities=tuple(amenities),
    )


# --------------------------------------------------------------------------- the rate


_WEEKDAYS = tuple(Weekday)


def sessions_on(settings: Settings, day: date, tz: ZoneInfo) -> list[tuple[int, int]]:
    """Opening sessions of a local date as (start_ms, end_ms), in order."""
    weekday = _WEEKDAYS[day.weekday()]
    out: list[tuple[int, int]] = []
    for rule in settings.site.opening_hours:
        if weekday in rule.days:
            out.extend(
                (local_ms(day, s.start, tz), local_ms(day, s.end, tz)) for s in rule.sessions
            )
    return sorted(out)


def local_ms(day: date, at: time, tz: ZoneInfo) -> int:
    return int(datetime.combine(day, at, tzinfo=tz).timestamp() * 1000)


def clock_demand(hour: float) -> float:
    """Relative demand at a local clock hour (0..24)."""
    hours = [k for k, _ in DEMAND_KNOTS]
    i = bisect_right(hours, hour)
    if i == 0 or i == len(DEMAND_KNOTS):
        return 0.0
    (h0, w0), (h1, w1) = DEMAND_KNOTS[i - 1], DEMAND_KNOTS[i]
    return w0 + (w1 - w0) * (hour - h0) / (h1 - h0)


def open_mask(t_ms: int, session: tuple[int, int]) -> float:
    """1 inside a session, tapering to 0 at CUTOFF_MS before its end."""
    start, end = session
    stop = end - CUTOFF_MS
    if t_ms < start or t_ms >= stop:
        return 0.0
    return min(1.0, (stop - t_ms) / TAPER_MS)


class ArrivalRate:
    """Ticket holders per millisecond over a local day, normalised on a weekday."""

    def __init__(self, settings: Settings, tz: ZoneInfo, demand: Demand) -> None:
        self._settings = settings
        self._tz = tz
        self._demand = demand
        self._scale = demand.tickets_per_weekday / self._weekday_integral()

    def _weekday_integral(self) -> float:
        monday = date(2024, 1, 1)  # a Monday; the first open weekday sets the norm
        for offset in range(5):
            day = date.fromordinal(monday.toordinal() + offset)
            sessions = sessions_on(self._settings, day, self._tz)
            if sessions:
                return sum(self._raw_integral(day, s) for s in sessions)
        raise ValueError("the site has no opening hours on weekdays (mon-fri)")

    def _raw_integral(self, day: date, session: tuple[int, int]) -> float:
        midnight = local_ms(day, time(0), self._tz)
        total = 0.0
        for t in range(session[0], session[1], MINUTE_MS):
            mid = t + MINUTE_MS // 2
            total += clock_demand((mid - midnight) / HOUR_MS) * open_mask(mid, session) * MINUTE_MS
        return total

    def rate(self, t_ms: int, day: date, session: tuple[int, int]) -> float:
        midnight = local_ms(day, time(0), self._tz)
        factor = self._demand.saturday_factor if day.weekday() == 5 else 1.0
        hour = (t_ms - midnight) / HOUR_MS
        return self._scale * factor * clock_demand(hour) * open_mask(t_ms, session)

    def arrivals(self, day: date, rng: random.Random, extra: float = 0.0) -> list[int]:
        """Arrival times of one local day: ticket holders, plus ``extra`` x as many others."""
        out: list[int] = []
        for session in sessions_on(self._settings, day, self._tz):
            grid = range(session[0], session[1], MINUTE_MS // 4)
            peak = max((self.rate(t, day, session) for t in grid), default=0.0) * 1.05
            peak *= 1.0 + extra
            if peak <= 0.0:
                continue
            t = float(session[0])
            while True:
                t += rng.expovariate(peak)
                if t >= session[1]:
                    break
                ti = int(t)
                if rng.random() * peak < self.rate(ti, day, session) * (1.0 + extra):
                    out.append(ti)
        return out


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True, slots=True)
class VisitorPlan:
    """Everything a party will do, drawn at arrival; the queue decides the timing."""

    vid: int
    arrive_ms: int
    size: int
    entry_door: str
    exit_door: str
    service_id: str | None  # None: an errand on the ground floor, no ticket
    before: tuple[Stop, ...]
    after: tuple[Stop, ...]
    lobby_ms: int  # crossing the entrance zone
    pass_ms: int  # crossing the zone behind a side door / the landing
    patience_ms: int
    service_ms: int
    backoffice_ms: int  # the officer's time after serving this party, before the next call
    results_wait_ms: int  # time in the hall after the counter


class Planner:
    """Draws visitor plans for a site."""

    def __init__(self, settings: Settings, layout: Layout, demand: Demand) -> None:
        self._layout = layout
        self._demand = demand
        self._services = [s.id for s in settings.services]
        self._service_weights = [
            SERVICE_WEIGHTS.get(s.id, UNKNOWN_SERVICE_WEIGHT * len(s.counters))
            for s in settings.services
        ]
        self._mean_s = {s.id: s.service_time_s for s in settings.services}
        self._doors = [d for d, _, _ in layout.outside_doors]
        self._door_weights = [w for _, _, w in layout.outside_doors]

    def plan(self, vid: int, arrive_ms: int, errand: bool, rng: random.Random) -> VisitorPlan:
        d = self._demand
        entry = rng.choices(self._doors, self._door_weights)[0]
        exit_door = (
            entry
            if rng.random() < d.same_door_exit
            else rng.choices(self._doors, self._door_weights)[0]
        )
        lobby_ms = _ms(rng.uniform(30, 120))
        pass_ms = _ms(rng.uniform(15, 60))
        if errand:
            return VisitorPlan(
                vid, arrive_ms, 1, entry, exit_door, None, self._errand(rng), (),
                lobby_ms, pass_ms, 0, 0, 0, 0,
            )  # fmt: skip
        size = 2 if rng.random() < d.companion_share else 1
        service = rng.choices(self._services, self._service_weights)[0]
        mean = self._mean_s[service]
        service_s = max(d.min_service_s, rng.gammavariate(d.service_shape, mean / d.service_shape))
        if rng.random() < d.quick_leaver_share:
            patience_s = rng.uniform(180, 1200)
        else:
            patience_s = d.patience_min_s + rng.expovariate(1.0 / d.patience_mean_extra_s)
        backoffice_s = (
            rng.expovariate(1.0 / (d.backoffice_factor * mean)) if d.backoffice_factor else 0.0
        )
        results_wait_s = (
            rng.uniform(*d.results_wait_s) if rng.random() < d.results_wait_share else 0.0
        )
        before: list[Stop] = []
        after: list[Stop] = []
        for zone_id, habit in self._layout.amenities:
            if rng.random() < habit.share:
                stop = Stop(zone_id, _ms(rng.uniform(habit.dwell_min_s, habit.dwell_max_s)))
                (before if habit.when == "before" else after).append(stop)
        return VisitorPlan(
            vid, arrive_ms, size, entry, exit_door, service, tuple(before), tuple(after),
            lobby_ms, pass_ms, _ms(patience_s), _ms(service_s), _ms(backoffice_s),
            _ms(results_wait_s),
        )  # fmt: skip

    def _errand(self, rng: random.Random) -> tuple[Stop, ...]:
        if not self._layout.amenities:
            return ()
        weights = [h.errand_weight for _, h in self._layout.amenities]
        zone_id, habit = rng.choices(self._layout.amenities, weights)[0]
        return (Stop(zone_id, _ms(rng.uniform(habit.dwell_min_s, habit.dwell_max_s))),)


def _ms(seconds: float) -> int:
    return int(math.floor(seconds * 1000))
