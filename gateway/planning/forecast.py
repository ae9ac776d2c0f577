"""Arrivals per hour for a target day, from the same weekday and hour of recent weeks. Pure.

History is a mapping ``(local day, hour) -> count`` per group (a service group
from the ticket system, or ``"all"`` from the entrance doors). Hours absent
from the mapping are zero. A past day is a *reference day* for a target when it
falls on the same weekday within ``weeks`` weeks before it, the center was open
(opening hours), it is no public holiday or configured closure, and something
was recorded on it (a day with no data at all is a gap, not a day without
visitors). With no such day the forecast falls back to every open day of the
same kind (Monday-Friday, or the same weekend day) in the window. Each hour's
forecast is the median (or trimmed mean) over the reference days, so one odd
day (a system outage, a queue of people before Tết) does not move it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

import holidays

from gateway.settings import SiteConfig, Weekday

DayHour = tuple[date, int]
History = Mapping[DayHour, float]
Method = Literal["median", "trimmed_mean"]
Basis = Literal["same weekday", "same day type", "no history", "closed"]
WEEKDAYS = list(Weekday)


@dataclass(frozen=True, slots=True)
class ForecastParams:
    weeks: int = 6
    method: Method = "median"
    trim_fraction: float = 0.2


@dataclass(frozen=True, slots=True)
class HourForecast:
    hour: int  # local hour of day, 0..23
    open_minutes: int  # minutes of the hour the center is open (lunch break, 07:30 start)
    arrivals: float  # expected arrivals in the hour


@dataclass(frozen=True, slots=True)
class DayForecast:
    day: date
    group: str
    hours: tuple[HourForecast, ...]  # the open hours only, in order
    reference_days: tuple[date, ...]
    basis: Basis
    skipped: tuple[tuple[date, str], ...]  # candidate days left out, and why

    @property
    def total(self) -> float:
        return sum(h.arrivals for h in self.hours)


# --------------------------------------------------------------------------- calendar


def vietnam_holidays(years: Iterable[int], closed_days: Iterable[date] = ()) -> dict[date, str]:
    """Public holidays of Vietnam (Tết included) in ``years``, plus extra closures."""
    out: dict[date, str] = dict(holidays.country_holidays("VN", years=sorted(set(years))).items())
    for day in closed_days:
        out.setdefault(day, "closed (configured)")
    return out


def holidays_around(target: date, weeks: int, closed_days: Iterable[date] = ()) -> dict[date, str]:
    """The holidays of every year a forecast window of ``weeks`` before ``target`` touches."""
    first = target - timedelta(weeks=weeks + 1)
    return vietnam_holidays(range(first.year, target.year + 1), closed_days)


def open_minutes(site: SiteConfig, day: date) -> dict[int, int]:
    """Hour of day -> minutes open in that hour, by the site's opening hours (lunch break gaps)."""
    weekday = WEEKDAYS[day.weekday()]
    out: dict[int, int] = {}
    for rule in site.opening_hours:
        if weekday not in rule.days:
            continue
        for session in rule.sessions:
            start = _minutes(session.start)
            end = _minutes(session.end)
            for hour in range(start // 60, math.ceil(end / 60)):
                lo, hi = max(start, hour * 60), min(end, hour * 60 + 60)
                if hi > lo:
                    out[hour] = out.get(hour, 0) + hi - lo
    return dict(sorted(out.items()))


def is_open_day(site: SiteConfig, day: date, holiday_names: Mapping[date, str]) -> bool:
    return day not in holiday_names and bool(open_minutes(site, day))


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


# --------------------------------------------------------------------------- forecast


def robust_center(values: Sequence[float], method: Method, trim_fraction: float = 0.2) -> float:
    """Median, or the mean after cutting ``trim_fraction`` of the values from each end."""
    if not values:
        return 0.0
    ordered = sorted(values)
    n = len(ordered)
    if method == "median":
        mid = n // 2
        return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    cut = int(n * trim_fraction)
    kept = ordered[cut : n - cut] or ordered
    return sum(kept) / len(kept)


def observed_days(history: History) -> set[date]:
    """Days with anything recorded (a positive count in some hour)."""
    return {day for (day, _), value in history.items() if value > 0}


def reference_days(
    target: date,
    site: SiteConfig,
    holiday_names: Mapping[date, str],
    observed: set[date],
    weeks: int,
) -> tuple[list[date], Basis, list[tuple[date, str]]]:
    """The days a forecast of ``target`` rests on, the basis, and the candidates skipped."""
    skipped: list[tuple[date, str]] = []
    same: list[date] = []
    for k in range(1, weeks + 1):
        day = target - timedelta(weeks=k)
        reason = _skip_reason(day, site, holiday_names, observed)
        if reason is None:
            same.append(day)
        else:
            skipped.append((day, reason))
    if same:
        return same, "same weekday", skipped
    kind = _day_kind(target)
    similar = []
    for k in range(1, weeks * 7 + 1):
        day = target - timedelta(days=k)
        if _day_kind(day) == kind and _skip_reason(day, site, holiday_names, observed) is None:
            similar.append(day)
    basis: Basis = "same day type" if similar else "no history"
    return similar, basis, skipped


def _skip_reason(
    day: date, site: SiteConfig, holiday_names: Mapping[date, str], observed: set[date]
) -> str | None:
    if day in holiday_names:
        return f"holiday: {holiday_names[day]}"
    if not open_minutes(site, day):
        return "closed (opening hours)"
    if day not in observed:
        return "no data"
    return None


def _day_kind(day: date) -> int:
    """0 for Monday-Friday, else the weekday itself (5 Saturday, 6 Sunday)."""
    return 0 if day.weekday() < 5 else day.weekday()


def forecast_day(
    history: History,
    target: date,
    site: SiteConfig,
    holiday_names: Mapping[date, str],
    params: ForecastParams,
    group: str = "all",
    observed: set[date] | None = None,
) -> DayForecast:
    """Expected arrivals per open hour of ``target`` from ``history`` before it.

    ``observed`` (default: the days of ``history`` with data) says which days
    have data at all; pass the days of the whole center when forecasting one
    small service group, whose quiet days are real zeros.
    """
    hours = open_minutes(site, target)
    if target in holiday_names or not hours:
        return DayForecast(target, group, (), (), "closed", ())
    known = observed_days(history) if observed is None else observed
    observed = {d for d in known if d < target}
    days, basis, skipped = reference_days(target, site, holiday_names, observed, params.weeks)
    out = []
    for hour, minutes in hours.items():
        values = [history.get((day, hour), 0.0) for day in days]
        value = robust_center(values, params.method, params.trim_fraction)
        out.append(HourForecast(hour, minutes, value))
    return DayForecast(target, group, tuple(out), tuple(days), basis, tuple(skipped))


def local_day_hour(at: datetime) -> DayHour:
    """The (day, hour) bucket of a local time."""
    return at.date(), at.hour
