"""A staffing plan as InfluxDB points (``staffing_plan``), and when to publish it. Pure module.

Measurement ``staffing_plan[service,site]``, one point per service group and
planned (open) hour, stamped at the start of that local hour: what the
managers' dashboard reads ("Counters: plan vs actual",
``SELECT sum("counters") FROM "staffing_plan" WHERE "service" =~ ...``).
Fields:

- ``counters`` (int): counters to open, ``min(needed, available)``: the
  figure to set against the counters actually open;
- ``needed`` (int), ``available`` (int), ``short`` (bool: needed > available);
- ``arrivals`` (forecast visitors in the hour), ``expected_wait_s`` (mean wait
  with ``counters`` open; left out when the queue would grow all hour),
  ``service_level`` (share called within the target), ``open_minutes`` (int).

Besides the groups, ``service=all`` carries the whole center: sums of the
counts and arrivals, ``short`` if any group is short, the arrivals-weighted
wait and service level. The dashboard's ``$service`` variable lists the
services of the ``queue`` measurement, so it never sums ``all`` in with the
groups. A plan of one pooled group (door counts only) is already ``all``: no
second total then. Writing the same plan again overwrites the same points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gateway.planning.staffing import HourPlan, StaffingPlan
from gateway.points import escape_measurement, escape_name, timestamp_ns

MEASUREMENT = "staffing_plan"
TOTAL = "all"


def _number(value: float) -> str | None:
    f = float(value)
    return repr(f) if math.isfinite(f) else None


def _series(site_id: str, service: str) -> str:
    tags = "".join(
        f",{escape_name(k)}={escape_name(v)}"
        for k, v in (("service", service), ("site", site_id))
        if v
    )
    return escape_measurement(MEASUREMENT) + tags


def _weighted(values: Sequence[tuple[float, float]]) -> float:
    """Mean of ``value`` weighted by ``weight`` (plain mean when no weight; inf stays inf)."""
    total = sum(w for w, _ in values)
    if total <= 0:
        return sum(v for _, v in values) / len(values)
    if any(w > 0 and not math.isfinite(v) for w, v in values):
        return math.inf
    return sum(w * v for w, v in values if w > 0) / total


def _fields(
    counters: int,
    needed: int,
    available: int,
    short: bool,
    arrivals: float,
    wait_s: float,
    level: float,
    open_minutes: int,
) -> str:
    out = [
        f"counters={int(counters)}i",
        f"needed={int(needed)}i",
        f"available={int(available)}i",
        f"short={'true' if short else 'false'}",
    ]
    for key, value in (
        ("arrivals", arrivals),
        ("expected_wait_s", wait_s),
        ("service_level", level),
    ):
        if (text := _number(value)) is not None:
            out.append(f"{key}={text}")
    out.append(f"open_minutes={int(open_minutes)}i")
    return ",".join(out)


def hour_start_ns(day: date, hour: int, tz: ZoneInfo) -> int:
    """The start of local ``hour`` on ``day``, in ns since the epoch."""
    return timestamp_ns(datetime.combine(day, time(hour), tzinfo=tz))


def _total(hours: Sequence[HourPlan]) -> str:
    weights = [(h.arrivals, h.wait_s) for h in hours]
    return _fields(
        sum(h.staffed for h in hours),
        sum(h.needed for h in hours),
        sum(h.available for h in hours),
        any(h.short for h in hours),
        sum(h.arrivals for h in hours),
        _weighted(weights),
        _weighted([(h.arrivals, h.service_level) for h in hours]),
        max(h.open_minutes for h in hours),
    )


def plan_lines(site_id: str, plan: StaffingPlan, tz: ZoneInfo) -> list[str]:
    """The plan's ``staffing_plan`` lines: every group's open hours, then the ``all`` totals."""
    lines: list[str] = []
    by_hour: dict[int, list[HourPlan]] = {}
    for group in plan.groups:
        series = _series(site_id, group.group.id)
        for h in group.hours:
            fields = _fields(
                h.staffed,
                h.needed,
                h.available,
                h.short,
                h.arrivals,
                h.wait_s,
                h.service_level,
                h.open_minutes,
            )
            lines.append(f"{series} {fields} {hour_start_ns(plan.day, h.hour, tz)}")
            by_hour.setdefault(h.hour, []).append(h)
    if any(g.group.id == TOTAL for g in plan.groups):
        return lines
    series = _series(site_id, TOTAL)
    for hour in sorted(by_hour):
        lines.append(f"{series} {_total(by_hour[hour])} {hour_start_ns(plan.day, hour, tz)}")
    return lines


def next_publish(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    """The first local ``at`` o'clock strictly after ``now`` (aware, in ``tz``)."""
    local = now.astimezone(tz)
    due = datetime.combine(local.date(), at, tzinfo=tz)
    if due <= local:
        due = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return due
