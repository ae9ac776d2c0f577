"""Counters to open per hour, from the arrivals forecast and the Erlang C model. Pure.

Each service group has its own counters and queue (ticket prefixes). Its mean
handling time comes from ticket data (``called`` -> ``served`` of the same
ticket, outliers trimmed) when there are enough pairs, else from the site file
(``ServiceConfig.service_time_s``); ``wrap_up_ratio`` adds the back-office time
a counter spends after each visitor. Per open hour the arrival rate is the
forecast over the minutes the center is open in that hour, and the plan is the
fewest counters that reach the service-level target (e.g. 80 % called within
15 min). Where that is more than the group has, the hour is marked short and
the figures are those of opening every counter it has.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from gateway.planning import erlang
from gateway.planning.forecast import DayForecast, DayHour, robust_center
from gateway.settings import ServiceConfig

MIN_SERVICE_S = 10.0  # shorter called -> served pairs are mis-clicks
MAX_SERVICE_S = 2 * 3600.0  # longer ones were left open (lunch break, end of day)


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """One called or served event as stored (``queue`` measurement)."""

    service_id: str
    ticket: str
    event: str  # "called" or "served"
    at: datetime  # aware
    counter: int | None


@dataclass(frozen=True, slots=True)
class ServiceGroup:
    id: str
    name: str
    counters: int  # counters the center has for this group
    service_time_s: float  # mean handling time used
    source: str  # "tickets" or "config"
    samples: int  # called -> served pairs behind a "tickets" figure


@dataclass(frozen=True, slots=True)
class StaffingParams:
    level: float = 0.8
    target_wait_s: float = 900.0
    wrap_up_ratio: float = 0.0


@dataclass(frozen=True, slots=True)
class HourPlan:
    hour: int
    open_minutes: int
    arrivals: float
    traffic: float  # Erlangs: counters kept busy on average
    needed: int  # counters for the target
    available: int  # counters the group has
    staffed: int  # min(needed, available): what the figures below assume
    short: bool  # needed > available
    service_level: float
    p_wait: float
    wait_s: float  # mean wait over all visitors (inf: the queue grows all hour)
    occupancy: float
    counters_open: float | None  # counters actually open (ticket data), when known
    # counters with somebody behind them (seat sensors: the hour's mean of open seats);
    # None: no seat sensor reported in the hour
    seats_open: float | None = None


@dataclass(frozen=True, slots=True)
class GroupPlan:
    group: ServiceGroup
    hours: tuple[HourPlan, ...]
    forecast_basis: str
    reference_days: tuple[date, ...]


@dataclass(frozen=True, slots=True)
class StaffingPlan:
    day: date
    params: StaffingParams
    groups: tuple[GroupPlan, ...]
    arrivals_source: str  # "tickets" or "doors"

    @property
    def short_hours(self) -> tuple[tuple[str, int], ...]:
        return tuple((g.group.id, h.hour) for g in self.groups for h in g.hours if h.short)


# --------------------------------------------------------------------------- service times


def service_durations(records: Iterable[TicketRecord]) -> dict[str, list[float]]:
    """Service group -> called -> served durations (s), pairing each served with its call."""
    called: dict[tuple[str, str], datetime] = {}
    out: dict[str, list[float]] = {}
    for r in sorted(records, key=lambda r: r.at):
        key = (r.service_id, r.ticket)
        if r.event == "called":
            called[key] = r.at
        elif r.event == "served" and key in called:
            seconds = (r.at - called.pop(key)).total_seconds()
            if MIN_SERVICE_S <= seconds <= MAX_SERVICE_S:
                out.setdefault(r.service_id, []).append(seconds)
    return out


def service_groups(
    services: Sequence[ServiceConfig],
    durations: Mapping[str, Sequence[float]],
    min_samples: int,
    trim_fraction: float = 0.1,
) -> list[ServiceGroup]:
    """The groups of the site file, with the measured mean handling time where there is enough."""
    out = []
    for svc in services:
        samples = durations.get(svc.id, ())
        if len(samples) >= min_samples:
            mean = robust_center(list(samples), "trimmed_mean", trim_fraction)
            out.append(
                ServiceGroup(svc.id, svc.name, len(svc.counters), mean, "tickets", len(samples))
            )
        else:
            out.append(
                ServiceGroup(
                    svc.id, svc.name, len(svc.counters), svc.service_time_s, "config", len(samples)
                )
            )
    return out


def pooled_group(groups: Sequence[ServiceGroup]) -> ServiceGroup:
    """Every counter as one group (door counts have no service): the mean handling time."""
    counters = sum(g.counters for g in groups)
    mean = sum(g.service_time_s for g in groups) / len(groups) if groups else 600.0
    return ServiceGroup("all", "all services", counters, mean, "config", 0)


def counters_open(records: Iterable[TicketRecord], tz: ZoneInfo) -> dict[str, dict[DayHour, int]]:
    """Service group -> (local day, hour) -> distinct counters that called or served in it."""
    seen: dict[str, dict[DayHour, set[int]]] = {}
    for r in records:
        if r.counter is None:
            continue
        local = r.at.astimezone(tz)
        seen.setdefault(r.service_id, {}).setdefault((local.date(), local.hour), set()).add(
            r.counter
        )
    return {g: {k: len(v) for k, v in hours.items()} for g, hours in seen.items()}


def seats_on_day(
    seats_by_hour: Mapping[str, Mapping[DayHour, float]], day: date, groups: Sequence[str]
) -> dict[int, float]:
    """Hour -> counters open on ``day`` by their seat sensors, summed over ``groups``.

    Only the day's own readings: a seat is "actually open" or it is not known,
    never a typical figure from other days.
    """
    out: dict[int, float] = {}
    for g in groups:
        for (d, h), n in seats_by_hour.get(g, {}).items():
            if d == day:
                out[h] = out.get(h, 0.0) + n
    return out


def typical_open(
    open_by_hour: Mapping[DayHour, int], day: date, reference: Sequence[date]
) -> dict[int, float]:
    """Hour -> counters open: on ``day`` itself when it has data, else the median of ``reference``."""
    own = {h: float(n) for (d, h), n in open_by_hour.items() if d == day}
    if own:
        return own
    hours = {h for (d, h) in open_by_hour if d in set(reference)}
    return {
        h: robust_center([float(open_by_hour.get((d, h), 0)) for d in reference], "median")
        for h in sorted(hours)
    }


# --------------------------------------------------------------------------- the plan


def plan_hour(
    hour: int,
    open_minutes: int,
    arrivals: float,
    group: ServiceGroup,
    params: StaffingParams,
    counters_open_now: float | None = None,
    seats_open: float | None = None,
) -> HourPlan:
    """Erlang C for one group and one hour."""
    handle = group.service_time_s * (1.0 + params.wrap_up_ratio)
    traffic = erlang.traffic_erlangs(arrivals, max(open_minutes, 1) * 60.0, handle)
    needed = erlang.counters_needed(traffic, handle, params.target_wait_s, params.level)
    staffed = min(needed, group.counters)
    result = erlang.evaluate(staffed, traffic, handle, params.target_wait_s)
    return HourPlan(
        hour=hour,
        open_minutes=open_minutes,
        arrivals=arrivals,
        traffic=traffic,
        needed=needed,
        available=group.counters,
        staffed=staffed,
        short=needed > group.counters,
        service_level=result.service_level,
        p_wait=result.p_wait,
        wait_s=result.asa_s,
        occupancy=min(result.occupancy, 1.0),
        counters_open=counters_open_now,
        seats_open=seats_open,
    )


def plan_group(
    group: ServiceGroup,
    forecast: DayForecast,
    params: StaffingParams,
    counters_open_by_hour: Mapping[int, float] | None = None,
    seats_open_by_hour: Mapping[int, float] | None = None,
) -> GroupPlan:
    opened = counters_open_by_hour or {}
    seats = seats_open_by_hour or {}
    hours = tuple(
        plan_hour(
            h.hour, h.open_minutes, h.arrivals, group, params, opened.get(h.hour), seats.get(h.hour)
        )
        for h in forecast.hours
    )
    return GroupPlan(group, hours, forecast.basis, forecast.reference_days)
