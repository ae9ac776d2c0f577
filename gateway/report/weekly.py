"""The weekly summary: the open days of one week side by side. Pure module.

Built from the week's daily reports (``gateway.report.model.DailyReport``), so each
figure means exactly what it means in the daily report (docs/report.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from gateway.report.model import LEVEL_RANK, DailyReport
from gateway.settings import CrowdLevel


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of the ISO week of ``day``."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


@dataclass(frozen=True, slots=True)
class DayRow:
    day: date
    issued: int
    served: int
    no_show: int
    wait_p50_min: float | None  # every group pooled
    wait_p90_min: float | None
    peak_level: CrowdLevel | None
    peak_zone: str  # its name; "" without counts
    peak_at: datetime | None  # when the zone first reached the level (site time)
    peak_people: float | None
    alerts: int
    ack_median_min: float | None
    short_hours: int  # group-hours with fewer counters open than needed
    excursions: int  # climate readings out of band in opening hours


@dataclass(frozen=True, slots=True)
class WeeklyReport:
    site_id: str
    site_name: str
    first: date  # Monday
    last: date  # Sunday
    days: tuple[DayRow, ...]  # open days, in order
    closed: tuple[tuple[date, str], ...]  # days of the week the center did not open, why

    @property
    def issued(self) -> int:
        return sum(d.issued for d in self.days)

    @property
    def served(self) -> int:
        return sum(d.served for d in self.days)

    @property
    def no_show(self) -> int:
        return sum(d.no_show for d in self.days)

    @property
    def alerts(self) -> int:
        return sum(d.alerts for d in self.days)

    @property
    def busiest(self) -> DayRow | None:
        """The day with the most tickets issued (earliest on a tie)."""
        return max(self.days, key=lambda d: (d.issued, -d.day.toordinal()), default=None)

    @property
    def worst(self) -> DayRow | None:
        """The day with the worst crowd: highest level, then most people."""
        rated = [d for d in self.days if d.peak_level is not None]
        return max(
            rated,
            key=lambda d: (LEVEL_RANK[d.peak_level or CrowdLevel.CALM], d.peak_people or 0.0),
            default=None,
        )


def day_row(r: DailyReport) -> DayRow:
    t = r.totals
    p = r.peak
    w = r.wait_all
    return DayRow(
        day=r.day,
        issued=t.issued,
        served=t.served,
        no_show=t.no_show,
        wait_p50_min=w.p50_min if w else None,
        wait_p90_min=w.p90_min if w else None,
        peak_level=p.level if p else None,
        peak_zone=p.name if p else "",
        peak_at=p.level_at if p else None,
        peak_people=p.people if p else None,
        alerts=r.alerts.raised,
        ack_median_min=r.alerts.ack_median_min,
        short_hours=sum(len(g.short_hours) for g in r.counters),
        excursions=sum(e.readings_out for e in r.excursions),
    )


def build_week(
    site_id: str,
    site_name: str,
    first: date,
    reports: Sequence[DailyReport],
    closed: Mapping[date, str],
) -> WeeklyReport:
    """The week from ``first`` (a Monday): one row per daily report, the closed days named."""
    last = first + timedelta(days=6)
    inside = sorted((r for r in reports if first <= r.day <= last), key=lambda r: r.day)
    return WeeklyReport(
        site_id,
        site_name,
        first,
        last,
        tuple(day_row(r) for r in inside),
        tuple(sorted((d, why) for d, why in closed.items() if first <= d <= last)),
    )
