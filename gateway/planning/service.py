"""``PlanningService``: staffing plans, backtests and HVAC advice from stored history. Shell.

Built once by the composition root (``PlanningService.from_settings``) and
handed to the API and the CLI. Calls are synchronous (HTTP to InfluxDB): from
async code run them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import structlog

from gateway.influx_query import HistoryError
from gateway.live import ZoneState
from gateway.planning.backtest import BacktestResult, backtest
from gateway.planning.forecast import (
    DayHour,
    ForecastParams,
    forecast_day,
    holidays_around,
    is_open_day,
    observed_days,
)
from gateway.planning.history import InfluxHistory
from gateway.planning.hvac import HvacAdvice, HvacParams, VentilationParams, ZoneConditions
from gateway.planning.hvac_rules import advise
from gateway.planning.plan_points import plan_lines
from gateway.planning.report import plan_csv, render_plan
from gateway.planning.staffing import (
    StaffingParams,
    StaffingPlan,
    TicketRecord,
    counters_open,
    plan_group,
    pooled_group,
    seats_on_day,
    service_durations,
    service_groups,
    typical_open,
)
from gateway.settings import PlanningConfig, Settings

log = structlog.get_logger("floorwatch.planning")
TREND_WINDOW = timedelta(minutes=30)
TREND_MIN_SPAN = timedelta(minutes=5)


class HistorySource(Protocol):
    """What planning reads from storage (``gateway.planning.history.InfluxHistory``)."""

    def hourly_tickets(self, first: date, end: date) -> dict[str, dict[DayHour, float]]: ...

    def hourly_entries(
        self, first: date, end: date, doors: Sequence[str]
    ) -> dict[DayHour, float]: ...

    def hourly_occupancy(self, first: date, end: date) -> dict[str, dict[DayHour, float]]: ...

    def ticket_records(self, first: date, end: date) -> list[TicketRecord]: ...

    def hourly_seats(self, first: date, end: date) -> dict[str, dict[DayHour, float]]: ...


@dataclass(frozen=True, slots=True)
class Arrivals:
    source: str  # "tickets" or "doors"
    by_group: dict[str, dict[DayHour, float]]
    observed: set[date]


def forecast_params(cfg: PlanningConfig) -> ForecastParams:
    return ForecastParams(cfg.history_weeks, cfg.robust_method, cfg.trim_fraction)


def staffing_params(cfg: PlanningConfig) -> StaffingParams:
    return StaffingParams(cfg.service_level_fraction, cfg.target_wait_s, cfg.wrap_up_ratio)


def hvac_params(cfg: PlanningConfig) -> HvacParams:
    v = cfg.ventilation
    vent = VentilationParams(
        cfg.ventilation_standard,
        v.tcvn_m3h_per_person,
        v.ashrae_ls_per_person,
        v.ashrae_ls_per_m2,
        cfg.outdoor_co2_ppm,
    )
    return HvacParams(vent, cfg.precool_lead_min, cfg.precool_occupancy_ratio, cfg.setback_c)


class PlanningService:
    """Staffing plan, backtest and HVAC advice of one site."""

    def __init__(self, settings: Settings, history: HistorySource) -> None:
        self._settings = settings
        self._cfg = settings.planning
        self._history = history
        self.tz = ZoneInfo(settings.site.timezone)
        self._occupancy_forecast: dict[date, dict[str, dict[int, float]]] = {}
        self._recent: dict[str, deque[tuple[datetime, int]]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> PlanningService:
        tz = ZoneInfo(settings.site.timezone)
        return cls(settings, InfluxHistory(settings.influxdb, settings.site.id, tz))

    @property
    def site_id(self) -> str:
        return self._settings.site.id

    def next_open_day(self, after: date) -> date:
        """The first day after ``after`` the center opens."""
        return next_open_day(self._settings, after)

    # ------------------------------------------------------------------ staffing

    def staffing_plan(self, day: date) -> StaffingPlan:
        """Counters per hour and service group for ``day`` from the weeks before it."""
        weeks = self._cfg.history_weeks
        first = day - timedelta(weeks=weeks, days=1)
        arrivals = self._arrivals(first, day + timedelta(days=1))
        records = self._history.ticket_records(first, day + timedelta(days=1))
        seats = self._history.hourly_seats(day, day + timedelta(days=1))
        return self._plan(day, arrivals, records, seats)

    def staffing_csv(self, day: date) -> str:
        return plan_csv(self.staffing_plan(day))

    def staffing_table(self, day: date) -> str:
        return render_plan(self.staffing_plan(day))

    def staffing_lines(self, day: date) -> list[str]:
        """The plan of ``day`` as ``staffing_plan`` line-protocol lines (``plan_points``)."""
        return plan_lines(self.site_id, self.staffing_plan(day), self.tz)

    def _plan(
        self,
        day: date,
        arrivals: Arrivals,
        records: list[TicketRecord],
        seats: dict[str, dict[DayHour, float]] | None = None,
    ) -> StaffingPlan:
        cfg = self._cfg
        hols = holidays_around(day, cfg.history_weeks, cfg.closed_days)
        history_records = [r for r in records if r.at.astimezone(self.tz).date() < day]
        groups = service_groups(
            self._settings.services, service_durations(history_records), cfg.min_service_samples
        )
        opened = counters_open(records, self.tz)
        if arrivals.source == "doors" or not groups:
            groups = [pooled_group(groups)]
            opened = {"all": {k: v for g in opened.values() for k, v in g.items()}}
        plans = []
        for group in groups:
            history = arrivals.by_group.get(group.id, {})
            fc = forecast_day(
                history,
                day,
                self._settings.site,
                hols,
                forecast_params(cfg),
                group.id,
                observed=arrivals.observed,
            )
            actual = typical_open(opened.get(group.id, {}), day, fc.reference_days)
            members = list(seats or {}) if group.id == "all" else [group.id]
            on_seats = seats_on_day(seats or {}, day, members)
            plans.append(plan_group(group, fc, staffing_params(cfg), actual, on_seats))
        return StaffingPlan(day, staffing_params(cfg), tuple(plans), arrivals.source)

    def _arrivals(self, first: date, end: date) -> Arrivals:
        tickets = self._history.hourly_tickets(first, end)
        if tickets:
            observed = set().union(*(observed_days(h) for h in tickets.values()))
            return Arrivals("tickets", tickets, observed)
        doors = [d.id for d in self._settings.doors if d.from_zone is None]
        entries = self._history.hourly_entries(first, end, doors)
        ratio = self._cfg.entries_per_ticket
        visits = {k: v / ratio for k, v in entries.items()}
        return Arrivals("doors", {"all": visits}, observed_days(visits))

    # ------------------------------------------------------------------ backtest

    def backtest(self, weeks: int, today: date) -> list[BacktestResult]:
        """Forecast error over the ``weeks`` before ``today``: all arrivals first, then per group."""
        cfg = self._cfg
        last = today - timedelta(days=1)
        first_test = today - timedelta(weeks=weeks)
        first = first_test - timedelta(weeks=cfg.history_weeks, days=1)
        arrivals = self._arrivals(first, today)
        hols = holidays_around(today, weeks + cfg.history_weeks, cfg.closed_days)
        total: dict[DayHour, float] = {}
        for h in arrivals.by_group.values():
            for k, v in h.items():
                total[k] = total.get(k, 0.0) + v
        params = forecast_params(cfg)
        site = self._settings.site
        out = [backtest(total, first_test, last, site, hols, params, "all")]
        if arrivals.source == "tickets":
            for group in sorted(arrivals.by_group):
                out.append(
                    backtest(arrivals.by_group[group], first_test, last, site, hols, params, group)
                )
        return out

    # ------------------------------------------------------------------ hvac

    def hvac_advice(
        self, zones: Sequence[ZoneState] | Mapping[str, ZoneConditions], now: datetime
    ) -> list[HvacAdvice]:
        """Advice for every zone of the site file that has a state (or conditions) now."""
        local = now.astimezone(self.tz)
        with self._lock:  # the API's thread pool and the advisor may call at once
            conditions = zones if isinstance(zones, Mapping) else self._conditions(zones)
            forecasts = self._zone_forecasts(local.date())
        params = hvac_params(self._cfg)
        out = []
        for zone in self._settings.zones:
            if zone.id in conditions:
                out.append(
                    advise(
                        zone,
                        self._settings.site,
                        conditions[zone.id],
                        local,
                        params,
                        forecasts.get(zone.id),
                    )
                )
        return out

    def _conditions(self, zones: Sequence[ZoneState]) -> dict[str, ZoneConditions]:
        out = {}
        for z in zones:
            c = z.climate
            out[z.zone_id] = ZoneConditions(
                occupancy=z.occupancy,
                temperature_c=c.temperature_mean_5m or c.temperature_c,
                humidity_pct=c.humidity_mean_5m or c.humidity_pct,
                co2_ppm=c.co2_mean_5m or c.co2_ppm,
                occupancy_trend_per_h=self._trend(z.zone_id, z.updated_at, z.occupancy),
            )
        return out

    def _trend(self, zone_id: str, at: datetime, occupancy: int) -> float | None:
        """People per hour over the last half hour of states seen (None: too little seen)."""
        seen = self._recent.setdefault(zone_id, deque())
        seen.append((at, occupancy))
        while seen and at - seen[0][0] > TREND_WINDOW:
            seen.popleft()
        span = at - seen[0][0]
        if span < TREND_MIN_SPAN:
            return None
        return (occupancy - seen[0][1]) / (span.total_seconds() / 3600)

    def _zone_forecasts(self, day: date) -> dict[str, dict[int, float]]:
        """Zone -> hour -> forecast mean occupancy today (read once a day)."""
        if day not in self._occupancy_forecast:
            cfg = self._cfg
            hols = holidays_around(day, cfg.history_weeks, cfg.closed_days)
            first = day - timedelta(weeks=cfg.history_weeks, days=1)
            try:
                occupancy = self._history.hourly_occupancy(first, day)
            except HistoryError as exc:  # advice without a forecast; try again next call
                log.warning("planning.occupancy_history_unavailable", error=str(exc))
                return {}
            params = forecast_params(cfg)
            site = self._settings.site
            self._occupancy_forecast = {
                day: {
                    zone: {
                        h.hour: h.arrivals
                        for h in forecast_day(hist, day, site, hols, params, zone).hours
                    }
                    for zone, hist in occupancy.items()
                }
            }
        return self._occupancy_forecast[day]


def next_open_day(settings: Settings, after: date) -> date:
    """The first day after ``after`` the center opens (holidays and closures skipped)."""
    cfg = settings.planning
    day = after + timedelta(days=1)
    hols = holidays_around(day + timedelta(days=14), 4, cfg.closed_days)
    for _ in range(30):
        if is_open_day(settings.site, day, hols):
            return day
        day += timedelta(days=1)
    return after + timedelta(days=1)


def tomorrow_plan_text(settings: Settings, now: datetime) -> str:
    """For the demo: the staffing plan of the next open day after ``now`` (local), as a table."""
    service = PlanningService.from_settings(settings)
    today = now.astimezone(service.tz).date()
    day = next_open_day(settings, today)
    note = (
        "" if day == today + timedelta(days=1) else f"(tomorrow is closed; next open day {day})\n"
    )
    return note + service.staffing_table(day)
