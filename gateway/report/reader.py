"""The figures of one day read from InfluxDB, through the planning readers. Shell module.

Every statement goes through ``InfluxHistory`` (``gateway.planning.history``): the
same ``/query`` transport, quoting, authentication and errors (``HistoryError``) as
the planning API; counters needed come from ``PlanningService.staffing_plan``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.influx_query import HistoryError, string_literal
from gateway.levels import thresholds
from gateway.planning.forecast import holidays_around, is_open_day, open_minutes
from gateway.planning.history import InfluxHistory, Series, rfc3339, statement
from gateway.planning.hvac import comfort_band
from gateway.planning.service import PlanningService
from gateway.report.model import (
    AlertPoint,
    ClimatePoint,
    CounterHour,
    DayFigures,
    TicketPoint,
    ZoneRef,
)
from gateway.settings import Settings


class ClosedDay(ValueError):
    """The center was not open on the day asked for: there is no day to report."""


def zone_refs(settings: Settings) -> tuple[ZoneRef, ...]:
    out = []
    for z in settings.zones:
        band = comfort_band(z)
        out.append(
            ZoneRef(
                z.id,
                z.name,
                thresholds(z.crowd, capacity=z.capacity, area_m2=z.area_m2),
                band.temperature_c,
                band.humidity_pct,
                band.co2_ppm_max,
            )
        )
    return tuple(out)


class ReportReader:
    """Reads what the daily report of one site needs. Synchronous (HTTP to InfluxDB)."""

    def __init__(self, settings: Settings, history: InfluxHistory | None = None) -> None:
        self._settings = settings
        self.tz = ZoneInfo(settings.site.timezone)
        self._history = history or InfluxHistory(settings.influxdb, settings.site.id, self.tz)
        self._planning = PlanningService(settings, self._history)

    def closed_reason(self, day: date) -> str | None:
        """Why the center was closed on ``day`` (holiday or closure name), None when open."""
        cfg = self._settings.planning
        hols = holidays_around(day, 1, cfg.closed_days)
        if is_open_day(self._settings.site, day, hols):
            return None
        return hols.get(day) or "no opening hours that weekday"

    def check_open(self, day: date) -> None:
        why = self.closed_reason(day)
        if why is not None:
            raise ClosedDay(f"the center was closed on {day.isoformat()} ({why})")

    def week(self, first: date) -> tuple[list[DayFigures], dict[date, str]]:
        """The figures of every open day of the 7 days from ``first``, and why the others were closed."""
        figures: list[DayFigures] = []
        closed: dict[date, str] = {}
        for k in range(7):
            day = first + timedelta(days=k)
            why = self.closed_reason(day)
            if why is None:
                figures.append(self.figures(day))
            else:
                closed[day] = why
        return figures, closed

    def figures(self, day: date) -> DayFigures:
        """Everything of ``day`` (and the occupancy of the same weekday a week before)."""
        self.check_open(day)
        s = self._settings
        nxt = day + timedelta(days=1)
        last_week = day - timedelta(days=7)
        return DayFigures(
            site_id=s.site.id,
            site_name=s.site.name,
            day=day,
            tz=self.tz,
            open_hours=tuple(open_minutes(s.site, day)),
            zones=zone_refs(s),
            services={g.id: g.name for g in s.services},
            occupancy=_by_hour(self._history.hourly_occupancy(day, nxt), day),
            occupancy_last_week=_by_hour(
                self._history.hourly_occupancy(last_week, last_week + timedelta(days=1)), last_week
            ),
            peaks=self.peaks(day),
            tickets=self.tickets(day),
            alerts=self.alerts(day),
            counters=self.counters(day),
            climate=self.climate(day),
            levels=self.levels(day),
        )

    # ------------------------------------------------------------------ statements

    def _span(self, day: date) -> str:
        lo = datetime.combine(day, datetime.min.time(), tzinfo=self.tz)
        hi = lo + timedelta(days=1)
        return (
            f'"site" = {string_literal(self._settings.site.id)}'
            f" AND time >= {rfc3339(lo)} AND time < {rfc3339(hi)}"
        )

    def peaks(self, day: date) -> dict[str, tuple[float, datetime]]:
        """Zone -> the highest count stored and when: the fused state's if stored, else any source's."""
        q = statement(
            'max("count")', "zone_occupancy", self._span(day), 'GROUP BY "zone", "source"'
        )
        fused: dict[str, tuple[float, datetime]] = {}
        other: dict[str, tuple[float, datetime]] = {}
        for s in self._history.query(q):
            row = s.values[0]
            if row[1] is None:
                continue
            zone = s.tags.get("zone", "")
            found = (float(row[1]), _at(row[0]))
            into = fused if s.tags.get("source") == "fused" else other
            best = into.get(zone)
            if best is None or found[0] > best[0] or (found[0] == best[0] and found[1] < best[1]):
                into[zone] = found
        return {**other, **fused}

    def levels(self, day: date) -> dict[str, list[tuple[datetime, str]]]:
        """Zone -> (time, level) of the fused states stored above calm that day."""
        where = f"{self._span(day)} AND \"source\" = 'fused' AND \"level\" != 'calm'"
        q = statement('"level"', "zone_occupancy", where, 'GROUP BY "zone"')
        out: dict[str, list[tuple[datetime, str]]] = {}
        for s in self._history.query(q):
            rows = out.setdefault(s.tags.get("zone", ""), [])
            rows.extend((_at(row[0]), str(row[1])) for row in s.values if row[1] is not None)
        return out

    def tickets(self, day: date) -> list[TicketPoint]:
        q = statement('"ticket"', "queue", self._span(day), 'GROUP BY "event", "service"')
        return [
            TicketPoint(
                s.tags.get("service", ""), str(row[1]), s.tags.get("event", ""), _at(row[0])
            )
            for s in self._history.query(q)
            for row in s.values
            if row[1] is not None
        ]

    def alerts(self, day: date) -> list[AlertPoint]:
        q = statement(
            '"alert_id", "transition"',
            "alerts",
            self._span(day),
            'GROUP BY "rule", "severity", "zone"',
        )
        out = []
        for s in self._history.query(q):
            cols = _columns(s)
            for row in s.values:
                alert_id, transition = row[cols["alert_id"]], row[cols["transition"]]
                if alert_id is None or transition is None:
                    continue
                out.append(
                    AlertPoint(
                        str(alert_id),
                        s.tags.get("rule", ""),
                        s.tags.get("severity", ""),
                        s.tags.get("zone", ""),
                        str(transition),
                        _at(row[0]),
                    )
                )
        return out

    def climate(self, day: date) -> list[ClimatePoint]:
        q = statement(
            '"temperature", "humidity", "co2"', "climate", self._span(day), 'GROUP BY "zone"'
        )
        out = []
        for s in self._history.query(q):
            cols = _columns(s)
            for row in s.values:
                out.append(
                    ClimatePoint(
                        s.tags.get("zone", ""),
                        _at(row[0]),
                        _float(row[cols["temperature"]]),
                        _float(row[cols["humidity"]]),
                        _float(row[cols["co2"]]),
                    )
                )
        return out

    def counters(self, day: date) -> list[CounterHour]:
        """The staffing plan's counters needed per group and hour, with those that worked.

        Worked: by the counters' seat sensors (somebody behind them) where the
        group has them, else by ticket data (counters that called or served).
        """
        plan = self._planning.staffing_plan(day)
        return [
            CounterHour(
                g.group.id,
                g.group.name,
                h.hour,
                h.needed,
                h.seats_open if h.seats_open is not None else h.counters_open,
            )
            for g in plan.groups
            for h in g.hours
        ]


def _by_hour(
    found: dict[str, dict[tuple[date, int], float]], day: date
) -> dict[str, dict[int, float]]:
    return {
        zone: {h: v for (d, h), v in hours.items() if d == day} for zone, hours in found.items()
    }


def _columns(s: Series) -> dict[str, int]:
    return {name: i for i, name in enumerate(s.columns)}


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


__all__ = ["ClosedDay", "HistoryError", "ReportReader", "zone_refs"]
