"""A center's month against the province's other centers. Pure module.

From the central store's hourly figures per center (read by ``api.fleet.store``:
the uplink's hourly aggregates, or the zone states where there are none):

- **busiest hours**: per hour of the day (the province's time zone), the mean
  number of people present at the center (its zones' mean occupancy summed, per
  hour, averaged over the days of the month that have data), beside the mean
  and the highest of the other centers at that hour;
- **waiting-time league table**: per center, one wait figure per hour (the
  worst service group's 90th-percentile wait, or the zones' longest expected
  wait), summarised over the month as its mean and its 90th percentile
  (nearest rank); shortest mean first.

Times come in as values (``now``), so a month is the same month on any machine.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class MonthError(ValueError):
    """A month that is not ``YYYY-MM``."""


@dataclass(frozen=True, slots=True)
class MonthRange:
    label: str  # YYYY-MM
    start: datetime  # the first day 00:00 in the time zone, as UTC
    end: datetime  # the next month's first day 00:00, as UTC


def month_range(month: str | None, now: datetime, timezone: str) -> MonthRange:
    """``month`` (``YYYY-MM``; None: the month ``now`` is in, in ``timezone``)."""
    tz = ZoneInfo(timezone)
    if month is None:
        local = now.astimezone(tz)
        year, number = local.year, local.month
    else:
        match = _MONTH.match(month)
        if match is None:
            raise MonthError(f"month {month!r} is not YYYY-MM")
        year, number = int(match[1]), int(match[2])
    start = datetime(year, number, 1, tzinfo=tz)
    following = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=tz)
    return MonthRange(f"{year:04d}-{number:02d}", start.astimezone(UTC), following.astimezone(UTC))


@dataclass(frozen=True, slots=True)
class HourRow:
    hour: int  # 0-23, local
    people: float | None  # this center's mean; None: no data at that hour
    others_mean: float | None
    others_max: float | None
    others: int  # how many other centers have data at that hour


@dataclass(frozen=True, slots=True)
class LeagueRow:
    rank: int
    key: str
    hours: int  # hours of the month with an expected wait
    mean_wait_s: float
    p90_wait_s: float


def hour_profile(hourly: Mapping[datetime, float], timezone: str) -> dict[int, float]:
    """Mean per local hour of the day of one center's hourly figures."""
    tz = ZoneInfo(timezone)
    sums: dict[int, list[float]] = defaultdict(list)
    for at, value in hourly.items():
        sums[at.astimezone(tz).hour].append(value)
    return {h: sum(v) / len(v) for h, v in sums.items()}


def busiest_hours(
    people: Mapping[str, Mapping[datetime, float]], center: str, timezone: str
) -> list[HourRow]:
    """Per hour of the day with data anywhere: the center beside the others (see module doc)."""
    profiles = {key: hour_profile(hourly, timezone) for key, hourly in people.items()}
    mine = profiles.get(center, {})
    others = [p for key, p in profiles.items() if key != center]
    hours = sorted(set(mine).union(*others)) if others else sorted(mine)
    rows = []
    for h in hours:
        theirs = [p[h] for p in others if h in p]
        rows.append(
            HourRow(
                hour=h,
                people=mine.get(h),
                others_mean=sum(theirs) / len(theirs) if theirs else None,
                others_max=max(theirs) if theirs else None,
                others=len(theirs),
            )
        )
    return rows


def top_hours(rows: Sequence[HourRow], n: int = 3) -> list[int]:
    """The center's ``n`` busiest hours, busiest first (the earlier hour on a tie)."""
    counted = [r for r in rows if r.people is not None]
    counted.sort(key=lambda r: (-(r.people or 0.0), r.hour))
    return [r.hour for r in counted[:n]]


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0 < q <= 100) of non-empty ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def wait_league(waits: Mapping[str, Sequence[float]]) -> list[LeagueRow]:
    """Centers by their hourly longest wait over the month, shortest mean first.

    Ties: the lower 90th percentile, then the key. A center with no wait figure
    in the month is not in the table.
    """
    rows = [(sum(v) / len(v), percentile(v, 90), key, len(v)) for key, v in waits.items() if v]
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return [
        LeagueRow(rank=i + 1, key=key, hours=n, mean_wait_s=mean, p90_wait_s=p90)
        for i, (mean, p90, key, n) in enumerate(rows)
    ]
