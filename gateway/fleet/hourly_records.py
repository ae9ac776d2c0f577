"""The records of the fleet's hourly kinds and of the day's plan. Pure module.

``HourSummary`` (kind ``hourly``) and ``HealthSummary`` (kind ``health``) are
what ``gateway.fleet.hourly.HourlyAggregator`` builds for each closed hour;
``plan_body`` is the ``plan`` record of a staffing plan (gateway.planning).
Their payloads and ids are built in gateway.fleet.messages.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway.planning.staffing import StaffingPlan


@dataclass(frozen=True, slots=True)
class ZoneHour:
    people_mean: float
    people_max: int
    covered_s: float


@dataclass(frozen=True, slots=True)
class ServiceHour:
    tickets: int
    called: int
    waits: int
    wait_p50_s: float | None
    wait_p90_s: float | None
    wait_max_s: float | None
    counters_open: int
    counters_planned: int | None
    counters_open_mean: float | None = None  # time-weighted, from seat sensors only
    counters_source: str = "tickets"  # or "seats"


@dataclass(frozen=True, slots=True)
class KindHour:
    configured: int
    reported: int
    online: int
    down: int
    downtime_s: float


@dataclass(frozen=True, slots=True)
class DeviceDown:
    kind: str
    downtime_s: float
    online: bool | None


@dataclass(frozen=True, slots=True)
class HourSummary:
    """The ``hourly`` record of one closed hour."""

    hour: datetime  # start, UTC
    end: datetime
    local: datetime  # start, in the site's time zone
    zones: Mapping[str, ZoneHour]
    services: Mapping[str, ServiceHour]


@dataclass(frozen=True, slots=True)
class HealthSummary:
    """The ``health`` record of one closed hour."""

    hour: datetime
    end: datetime
    local: datetime
    kinds: Mapping[str, KindHour]
    devices: Mapping[str, DeviceDown]


# --------------------------------------------------------------------------- the plan


def plan_counters(plan: StaffingPlan) -> dict[str, dict[int, int]]:
    """Service group -> local hour -> counters planned (the plan's ``staffed``)."""
    return {g.group.id: {h.hour: h.staffed for h in g.hours} for g in plan.groups}


def plan_body(plan: StaffingPlan, tz: ZoneInfo, computed_at: datetime) -> dict[str, Any]:
    """The ``plan`` record: per group its counters and per open hour the figures.

    ``id`` is ``<day>:<digest>``, the digest (12 hex of SHA-256) over the
    figures, not over ``computed_at``: the same plan computed again has the
    same id.
    """
    groups: dict[str, Any] = {}
    for g in plan.groups:
        hours = []
        for h in g.hours:
            start = datetime(plan.day.year, plan.day.month, plan.day.day, h.hour, tzinfo=tz)
            hours.append(
                {
                    "hour": start.astimezone(UTC).isoformat(),
                    "local_hour": h.hour,
                    "needed": h.needed,
                    "counters": h.staffed,
                    "short": h.short,
                    "arrivals": round(h.arrivals, 3),
                    "expected_wait_s": round(h.wait_s, 3) if math.isfinite(h.wait_s) else None,
                    "service_level": round(h.service_level, 4),
                }
            )
        groups[g.group.id] = {"available": g.group.counters, "hours": hours}
    figures = {
        "day": plan.day.isoformat(),
        "arrivals_source": plan.arrivals_source,
        "groups": groups,
    }
    digest = hashlib.sha256(json.dumps(figures, sort_keys=True).encode()).hexdigest()[:12]
    return {
        "id": f"{plan.day.isoformat()}:{digest}",
        "computed_at": computed_at.astimezone(UTC).isoformat(),
        **figures,
    }
