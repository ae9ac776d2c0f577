"""A staffing plan as a readable table and as CSV. Pure module."""

from __future__ import annotations

import csv
import io
import math

from gateway.planning.staffing import HourPlan, StaffingPlan

CSV_COLUMNS = (
    "date",
    "hour",
    "group",
    "open_minutes",
    "arrivals",
    "traffic_erlangs",
    "counters_needed",
    "counters_available",
    "counters_staffed",
    "short",
    "counters_open_actual",
    "counters_open_seats",
    "service_level",
    "p_wait",
    "expected_wait_min",
    "occupancy",
    "service_time_s",
    "service_time_source",
)


def plan_csv(plan: StaffingPlan) -> str:
    """One row per group and open hour; wait in minutes, empty where unbounded or unknown."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for g in plan.groups:
        for h in g.hours:
            writer.writerow(
                [
                    plan.day.isoformat(),
                    f"{h.hour:02d}:00",
                    g.group.id,
                    h.open_minutes,
                    f"{h.arrivals:.1f}",
                    f"{h.traffic:.2f}",
                    h.needed,
                    h.available,
                    h.staffed,
                    "yes" if h.short else "no",
                    "" if h.counters_open is None else f"{h.counters_open:g}",
                    "" if h.seats_open is None else f"{h.seats_open:.2f}",
                    f"{h.service_level:.3f}",
                    f"{h.p_wait:.3f}",
                    "" if not math.isfinite(h.wait_s) else f"{h.wait_s / 60:.1f}",
                    f"{h.occupancy:.2f}",
                    f"{g.group.service_time_s:.0f}",
                    g.group.source,
                ]
            )
    return out.getvalue()


def render_plan(plan: StaffingPlan) -> str:
    """The plan for a manager: totals per hour, then counters per group and hour."""
    p = plan.params
    head = [
        f"staffing plan for {plan.day:%A %d %B %Y}"
        f" (target: {p.level:.0%} called within {p.target_wait_s / 60:g} min;"
        f" arrivals from {plan.arrivals_source})",
    ]
    if not plan.groups or not plan.groups[0].hours:
        return "\n".join([*head, "closed: no opening hours or a public holiday"])
    first = plan.groups[0]
    refs = ", ".join(f"{d:%d/%m}" for d in first.reference_days) or "none"
    head.append(f"forecast basis: {first.forecast_basis}; reference days: {refs}")
    return "\n".join([*head, "", *_totals(plan), "", *_matrix(plan), *_legend(plan)])


def _totals(plan: StaffingPlan) -> list[str]:
    lines = ["hour   open  arrivals  counters  of   open(hist)  called<=target  wait min  busy"]
    hours = [h.hour for h in plan.groups[0].hours]
    for i, hour in enumerate(hours):
        rows = [g.hours[i] for g in plan.groups]
        arrivals = sum(h.arrivals for h in rows)
        needed = sum(h.needed for h in rows)
        available = sum(h.available for h in rows)
        opened = [h.counters_open for h in rows if h.counters_open is not None]
        mark = " !" if any(h.short for h in rows) else ""
        lines.append(
            f"{hour:02d}:00 {rows[0].open_minutes:4d}m {arrivals:9.0f} {needed:9d} {available:3d}"
            f" {(f'{sum(opened):g}' if opened else '-'):>12} {_weighted_sl(rows):>15}"
            f" {_wait(rows):>9} {_busy(rows):>5}{mark}"
        )
    return lines


def _matrix(plan: StaffingPlan) -> list[str]:
    hours = [h.hour for h in plan.groups[0].hours]
    width = max(len(g.group.id) for g in plan.groups)
    lines = [
        "counters needed per group (! = more than the group has)",
        " " * (width + 16) + " ".join(f"{h:02d}h" for h in hours),
    ]
    for g in plan.groups:
        cells = " ".join(f"{h.needed:>2}{'!' if h.short else ' '}" for h in g.hours)
        src = f"{g.group.service_time_s / 60:4.1f}m {g.group.source[:6]:<6}"
        lines.append(f"{g.group.id:<{width}} {g.group.counters:>2} {src} {cells}")
    return lines


def _legend(plan: StaffingPlan) -> list[str]:
    note = (
        "open(hist): counters that called tickets in the hour (that day, or the median"
        " of the reference days); busy: counter occupancy"
    )
    short = plan.short_hours
    if not short:
        return ["", "every hour can be served with the counters the center has", note]
    parts = ", ".join(f"{g} {h:02d}h" for g, h in short)
    return ["", f"! demand exceeds the counters available: {parts}", note]


def _weighted_sl(rows: list[HourPlan]) -> str:
    total = sum(h.arrivals for h in rows)
    if total <= 0:
        return "-"
    return f"{sum(h.service_level * h.arrivals for h in rows) / total:.0%}"


def _wait(rows: list[HourPlan]) -> str:
    total = sum(h.arrivals for h in rows)
    if total <= 0:
        return "-"
    if any(not math.isfinite(h.wait_s) and h.arrivals > 0 for h in rows):
        return "grows"
    return f"{sum(h.wait_s * h.arrivals for h in rows) / total / 60:.1f}"


def _busy(rows: list[HourPlan]) -> str:
    staffed = sum(h.staffed for h in rows)
    if staffed == 0:
        return "-"
    return f"{min(1.0, sum(h.traffic for h in rows) / staffed):.0%}"
