"""The daily report's figures from what storage holds. Pure module: values in, values out.

Every input is a plain value read from InfluxDB by ``gateway.report.reader``; the output
(``DailyReport``) is what the renderer draws and writes, in site-local hours.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.levels import LevelThresholds, instant_level
from gateway.settings import CrowdLevel

PERCENTILES = (50, 90, 95)


@dataclass(frozen=True, slots=True)
class ZoneRef:
    id: str
    name: str
    thresholds: LevelThresholds  # people from which the zone is busy / crowded / critical
    temperature_c: tuple[float, float]  # comfort band
    humidity_pct: tuple[float, float]
    co2_ppm_max: float


@dataclass(frozen=True, slots=True)
class TicketPoint:
    service: str
    ticket: str
    event: str  # issued, called, served, no_show
    at: datetime


@dataclass(frozen=True, slots=True)
class AlertPoint:
    alert_id: str
    rule: str
    severity: str
    zone: str
    transition: str  # raised, renotified, acknowledged, resolved
    at: datetime


@dataclass(frozen=True, slots=True)
class ClimatePoint:
    zone: str
    at: datetime
    temperature_c: float | None
    humidity_pct: float | None
    co2_ppm: float | None


@dataclass(frozen=True, slots=True)
class CounterHour:
    group: str
    group_name: str
    hour: int
    needed: int
    # counters open in the hour: by seat sensors where there are, else those that called
    # or served (ticket data)
    open_actual: float | None


@dataclass(frozen=True, slots=True)
class DayFigures:
    """What the reader found for one day (``day``) and the same weekday a week before."""

    site_id: str
    site_name: str
    day: date
    tz: ZoneInfo
    open_hours: tuple[int, ...]  # hours of the day the center is open (site time)
    zones: tuple[ZoneRef, ...]
    services: Mapping[str, str]  # service id -> name
    occupancy: Mapping[str, Mapping[int, float]]  # zone -> hour -> mean people
    occupancy_last_week: Mapping[str, Mapping[int, float]]
    peaks: Mapping[str, tuple[float, datetime]]  # zone -> highest count read, when
    tickets: Sequence[TicketPoint]
    alerts: Sequence[AlertPoint]
    counters: Sequence[CounterHour]
    climate: Sequence[ClimatePoint]
    # zone -> (time, level) of the fused states stored above calm (the engine's own levels,
    # with dwell and hysteresis); empty where the gateway stored none (e.g. simulated history)
    levels: Mapping[str, Sequence[tuple[datetime, str]]] = field(default_factory=dict)

    @property
    def last_week(self) -> date:
        return self.day - timedelta(days=7)


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True, slots=True)
class ZoneHours:
    zone: str
    name: str
    today: tuple[float | None, ...]  # per report hour
    last_week: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class Peak:
    """A zone's worst crowd level of the day, since when, and its highest count."""

    zone: str
    name: str
    people: float  # the highest count
    at: datetime  # when it was read (site time)
    level: CrowdLevel
    level_at: datetime  # when the zone first reached ``level`` (site time)
    level_source: str  # "stored": the engine's levels; "count": the highest count's level


@dataclass(frozen=True, slots=True)
class TicketCounts:
    service: str
    name: str
    issued: int
    called: int
    served: int
    no_show: int


@dataclass(frozen=True, slots=True)
class WaitStats:
    """Issued -> first called, in minutes, per service group."""

    service: str
    name: str
    samples: int
    p50_min: float
    p90_min: float
    p95_min: float
    max_min: float


@dataclass(frozen=True, slots=True)
class AlertStats:
    raised: int
    by_severity: tuple[tuple[str, int], ...]
    by_rule: tuple[tuple[str, int], ...]
    acknowledged: int
    never_acknowledged: int
    ack_median_min: float | None
    ack_max_min: float | None


@dataclass(frozen=True, slots=True)
class CounterGroup:
    group: str
    name: str
    needed: tuple[int, ...]  # per report hour
    open_actual: tuple[float | None, ...]
    short_hours: tuple[int, ...]  # hours with fewer counters open than needed


@dataclass(frozen=True, slots=True)
class Excursion:
    """Readings of one zone and quantity outside its comfort band."""

    zone: str
    name: str
    quantity: str  # temperature_c, humidity_pct, co2_ppm
    readings_out: int
    readings: int
    worst: float
    first: datetime  # site time
    last: datetime
    band: tuple[float | None, float | None]


@dataclass(frozen=True, slots=True)
class DailyReport:
    site_id: str
    site_name: str
    day: date
    last_week: date
    hours: tuple[int, ...]
    zones: tuple[ZoneHours, ...]
    peaks: tuple[Peak, ...]  # per zone, worst first
    tickets: tuple[TicketCounts, ...]
    waits: tuple[WaitStats, ...]
    alerts: AlertStats
    counters: tuple[CounterGroup, ...]
    excursions: tuple[Excursion, ...]
    wait_all: WaitStats | None = None  # every group pooled

    @property
    def peak(self) -> Peak | None:
        """The day's worst crowd: highest level, then most people, then earliest."""
        return self.peaks[0] if self.peaks else None

    @property
    def totals(self) -> TicketCounts:
        return TicketCounts(
            "all",
            "",
            sum(t.issued for t in self.tickets),
            sum(t.called for t in self.tickets),
            sum(t.served for t in self.tickets),
            sum(t.no_show for t in self.tickets),
        )


LEVEL_RANK = {
    CrowdLevel.CALM: 0,
    CrowdLevel.BUSY: 1,
    CrowdLevel.CROWDED: 2,
    CrowdLevel.CRITICAL: 3,
}
LEVEL_NAMES = frozenset(level.value for level in CrowdLevel)


def build_report(f: DayFigures) -> DailyReport:
    zones = {z.id: z for z in f.zones}
    hours = f.open_hours or tuple(sorted({h for z in f.occupancy.values() for h in z}))
    return DailyReport(
        site_id=f.site_id,
        site_name=f.site_name,
        day=f.day,
        last_week=f.last_week,
        hours=hours,
        zones=tuple(
            ZoneHours(
                z.id,
                z.name,
                tuple(f.occupancy.get(z.id, {}).get(h) for h in hours),
                tuple(f.occupancy_last_week.get(z.id, {}).get(h) for h in hours),
            )
            for z in f.zones
        ),
        peaks=peaks(f.peaks, zones, f.tz, f.levels),
        tickets=ticket_counts(f.tickets, f.services),
        waits=wait_stats(f.tickets, f.services),
        wait_all=pooled_wait(f.tickets),
        alerts=alert_stats(f.alerts),
        counters=counter_groups(f.counters, hours),
        excursions=excursions(
            [c for c in f.climate if c.at.astimezone(f.tz).hour in set(hours)], zones, f.tz
        ),
    )


def peaks(
    found: Mapping[str, tuple[float, datetime]],
    zones: Mapping[str, ZoneRef],
    tz: ZoneInfo,
    levels: Mapping[str, Sequence[tuple[datetime, str]]] | None = None,
) -> tuple[Peak, ...]:
    """Per zone: the worst level (stored by the engine if any, else that of the highest count).

    Worst first: highest level, then most people, then earliest.
    """
    out = []
    for zone_id, (people, at) in found.items():
        z = zones.get(zone_id)
        if z is None:  # a zone no longer in the site file
            continue
        stored = [
            (t, CrowdLevel(v)) for t, v in (levels or {}).get(zone_id, ()) if v in LEVEL_NAMES
        ]
        if stored:
            level = max((lv for _, lv in stored), key=LEVEL_RANK.__getitem__)
            since = min(t for t, lv in stored if lv is level)
            source = "stored"
        else:
            level, since, source = instant_level(people, z.thresholds), at, "count"
        out.append(
            Peak(z.id, z.name, people, at.astimezone(tz), level, since.astimezone(tz), source)
        )
    out.sort(key=lambda p: (-LEVEL_RANK[p.level], -p.people, p.level_at, p.zone))
    return tuple(out)


def ticket_counts(
    points: Sequence[TicketPoint], names: Mapping[str, str]
) -> tuple[TicketCounts, ...]:
    """Per service group: tickets issued, called, served and no-shows (distinct tickets)."""
    seen: dict[str, dict[str, set[str]]] = {}
    for p in points:
        seen.setdefault(p.service, {}).setdefault(p.event, set()).add(p.ticket)
    services = list(names) + sorted(s for s in seen if s not in names)
    out = []
    for s in services:
        ev = seen.get(s, {})
        out.append(
            TicketCounts(
                s,
                names.get(s, s),
                len(ev.get("issued", ())),
                len(ev.get("called", ())),
                len(ev.get("served", ())),
                len(ev.get("no_show", ())),
            )
        )
    return tuple(out)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile ``q`` (0..100) of ``values`` (not empty)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    rank = (len(ordered) - 1) * q / 100
    lo = math.floor(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def waits_min(points: Sequence[TicketPoint]) -> dict[str, list[float]]:
    """Service -> minutes from a ticket's issue to its first call (tickets never called: none)."""
    issued: dict[tuple[str, str], datetime] = {}
    called: dict[tuple[str, str], datetime] = {}
    for p in points:
        key = (p.service, p.ticket)
        if p.event == "issued":
            issued[key] = min(p.at, issued.get(key, p.at))
        elif p.event == "called":
            called[key] = min(p.at, called.get(key, p.at))
    out: dict[str, list[float]] = {}
    for key, at in issued.items():
        call = called.get(key)
        if call is not None and call >= at:
            out.setdefault(key[0], []).append((call - at).total_seconds() / 60)
    return out


def wait_stats(points: Sequence[TicketPoint], names: Mapping[str, str]) -> tuple[WaitStats, ...]:
    out = []
    for service, values in sorted(waits_min(points).items()):
        p50, p90, p95 = (percentile(values, q) for q in PERCENTILES)
        out.append(
            WaitStats(service, names.get(service, service), len(values), p50, p90, p95, max(values))
        )
    order = list(names)
    out.sort(
        key=lambda w: (order.index(w.service) if w.service in order else len(order), w.service)
    )
    return tuple(out)


def pooled_wait(points: Sequence[TicketPoint]) -> WaitStats | None:
    """The waits of every service group together (None: no ticket was called)."""
    values = [v for vs in waits_min(points).values() for v in vs]
    if not values:
        return None
    p50, p90, p95 = (percentile(values, q) for q in PERCENTILES)
    return WaitStats("all", "", len(values), p50, p90, p95, max(values))


def alert_stats(points: Sequence[AlertPoint]) -> AlertStats:
    """Raises of the day, by severity and rule, and how long each took to be acknowledged."""
    raised: dict[str, AlertPoint] = {}
    acked: dict[str, datetime] = {}
    for p in sorted(points, key=lambda p: p.at):
        if p.transition == "raised":
            raised.setdefault(p.alert_id, p)
        elif p.transition == "acknowledged":
            acked.setdefault(p.alert_id, p.at)
    severity: dict[str, int] = {}
    rule: dict[str, int] = {}
    delays = []
    for alert_id, p in raised.items():
        severity[p.severity] = severity.get(p.severity, 0) + 1
        rule[p.rule] = rule.get(p.rule, 0) + 1
        if alert_id in acked:
            delays.append((acked[alert_id] - p.at).total_seconds() / 60)
    return AlertStats(
        raised=len(raised),
        by_severity=tuple(sorted(severity.items(), key=lambda kv: (-kv[1], kv[0]))),
        by_rule=tuple(sorted(rule.items(), key=lambda kv: (-kv[1], kv[0]))),
        acknowledged=len(delays),
        never_acknowledged=len(raised) - len(delays),
        ack_median_min=percentile(delays, 50) if delays else None,
        ack_max_min=max(delays) if delays else None,
    )


def counter_groups(rows: Sequence[CounterHour], hours: Sequence[int]) -> tuple[CounterGroup, ...]:
    by: dict[str, dict[int, CounterHour]] = {}
    names: dict[str, str] = {}
    for r in rows:
        by.setdefault(r.group, {})[r.hour] = r
        names[r.group] = r.group_name
    out = []
    for group, per_hour in by.items():
        needed = tuple(per_hour[h].needed if h in per_hour else 0 for h in hours)
        actual = tuple(per_hour[h].open_actual if h in per_hour else None for h in hours)
        short = tuple(
            h for h, n, a in zip(hours, needed, actual, strict=True) if a is not None and a < n
        )
        out.append(CounterGroup(group, names[group], needed, actual, short))
    return tuple(out)


def excursions(
    points: Sequence[ClimatePoint], zones: Mapping[str, ZoneRef], tz: ZoneInfo
) -> tuple[Excursion, ...]:
    """Per zone and quantity, the readings outside the zone's comfort band (most first).

    ``build_report`` passes only the readings of the open hours: the band is kept for visitors.
    """
    acc: dict[tuple[str, str], list[tuple[datetime, float, bool]]] = {}
    for p in points:
        z = zones.get(p.zone)
        if z is None:
            continue
        checks: tuple[tuple[str, float | None, float | None, float | None], ...] = (
            ("temperature_c", p.temperature_c, *z.temperature_c),
            ("humidity_pct", p.humidity_pct, *z.humidity_pct),
            ("co2_ppm", p.co2_ppm, None, z.co2_ppm_max),
        )
        for quantity, value, lo, hi in checks:
            if value is None:
                continue
            out = (lo is not None and value < lo) or (hi is not None and value > hi)
            acc.setdefault((p.zone, quantity), []).append((p.at, value, out))
    result = []
    for (zone_id, quantity), rows in acc.items():
        bad = sorted((at, v) for at, v, out in rows if out)
        if not bad:
            continue
        z = zones[zone_id]
        band = _band(z, quantity)
        worst = max((v for _, v in bad), key=lambda v: _distance(v, band))
        result.append(
            Excursion(
                zone_id,
                z.name,
                quantity,
                len(bad),
                len(rows),
                worst,
                bad[0][0].astimezone(tz),
                bad[-1][0].astimezone(tz),
                band,
            )
        )
    result.sort(key=lambda e: (-e.readings_out, e.zone, e.quantity))
    return tuple(result)


def _band(z: ZoneRef, quantity: str) -> tuple[float | None, float | None]:
    if quantity == "temperature_c":
        return z.temperature_c
    if quantity == "humidity_pct":
        return z.humidity_pct
    return (None, z.co2_ppm_max)


def _distance(value: float, band: tuple[float | None, float | None]) -> float:
    lo, hi = band
    if lo is not None and value < lo:
        return lo - value
    if hi is not None and value > hi:
        return value - hi
    return 0.0
