"""History for planning, read from InfluxDB with InfluxQL over ``GET /query``. Shell module.

``/query`` is answered by InfluxDB 1.x (``db=`` the database, basic auth) and by
2.x/3.x through their v1 compatibility API (``db=`` the bucket, mapped by DBRP;
``Authorization: Token``). Hourly sums are grouped by the site's local hours
with ``tz()``; the schema is that of ``gateway.points`` (docs/storage.md).
Results become the plain mappings the pure planning modules take.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import structlog

from gateway.influx_query import HistoryError, identifier, query_target, string_literal
from gateway.planning.forecast import DayHour
from gateway.planning.hvac import ZoneConditions
from gateway.planning.staffing import TicketRecord
from gateway.settings import InfluxConfig

log = structlog.get_logger(__name__)
CHUNK_DAYS = 7  # raw ticket events are read a week at a time


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    tags: dict[str, str]
    columns: list[str]
    values: list[list[Any]]


def statement(fields: str, measurement: str, where: str, group: str = "") -> str:
    """``SELECT fields FROM "measurement" WHERE where group``: values in ``where`` are quoted."""
    parts = ("SELECT", fields, "FROM", identifier(measurement), "WHERE", where, group)
    return " ".join(p for p in parts if p)


def rfc3339(at: datetime) -> str:
    return string_literal(at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


class InfluxHistory:
    """Reads the stored history of one site. Synchronous: run it in a thread from async code."""

    def __init__(
        self, config: InfluxConfig, site_id: str, tz: ZoneInfo, *, timeout_s: float = 30.0
    ) -> None:
        self._config = config
        self._target = query_target(config)
        self._site = site_id
        self._tz = tz
        self._timeout = timeout_s

    # ------------------------------------------------------------------ queries

    def hourly_tickets(self, first: date, end: date) -> dict[str, dict[DayHour, float]]:
        """Service group -> (local day, hour) -> tickets issued, for days ``first`` .. ``end`` (excl.)."""
        where = f"{self._where(first, end)} AND \"event\" = 'issued'"
        q = statement(
            'sum("count")', "queue", where, f'GROUP BY time(1h), "service" {self._fill_tz}'
        )
        out: dict[str, dict[DayHour, float]] = {}
        for s in self.query(q):
            out.setdefault(s.tags.get("service", ""), {}).update(self._hourly(s))
        return out

    def hourly_entries(self, first: date, end: date, doors: Sequence[str]) -> dict[DayHour, float]:
        """(local day, hour) -> people entering through ``doors`` (the entrance doors)."""
        if not doors:
            return {}
        which = " OR ".join(f'"door" = {string_literal(d)}' for d in doors)
        where = f"{self._where(first, end)} AND ({which})"
        q = statement('sum("entries")', "door_traffic", where, f"GROUP BY time(1h) {self._fill_tz}")
        out: dict[DayHour, float] = {}
        for s in self.query(q):
            for key, value in self._hourly(s).items():
                out[key] = out.get(key, 0.0) + value
        return out

    def hourly_occupancy(self, first: date, end: date) -> dict[str, dict[DayHour, float]]:
        """Zone -> (local day, hour) -> mean people present."""
        group = f'GROUP BY time(1h), "zone" {self._fill_tz}'
        q = statement('mean("count")', "zone_occupancy", self._where(first, end), group)
        out: dict[str, dict[DayHour, float]] = {}
        for s in self.query(q):
            out.setdefault(s.tags.get("zone", ""), {}).update(self._hourly(s))
        return out

    def hourly_seats(self, first: date, end: date) -> dict[str, dict[DayHour, float]]:
        """Service group -> (local day, hour) -> counters open by their seat sensors.

        Per counter the hour's mean of ``counter_seat.open`` (1 open, 0 closed; the
        engine writes a point on each change and every ``seats.point_s``, so the
        mean is close to the share of the hour the seat was open), summed over the
        group's counters that reported in the hour. Unknown seats store no ``open``.
        """
        group = f'GROUP BY time(1h), "counter", "service" {self._fill_tz}'
        q = statement('mean("open")', "counter_seat", self._where(first, end), group)
        out: dict[str, dict[DayHour, float]] = {}
        for s in self.query(q):
            hours = out.setdefault(s.tags.get("service", ""), {})
            for key, value in self._hourly(s).items():
                hours[key] = hours.get(key, 0.0) + value
        return out

    def ticket_records(self, first: date, end: date) -> list[TicketRecord]:
        """Every called and served event in the days ``first`` .. ``end`` (excl.)."""
        out: list[TicketRecord] = []
        for a, b in _chunks(first, end, CHUNK_DAYS):
            where = f"{self._where(a, b)} AND (\"event\" = 'called' OR \"event\" = 'served')"
            q = statement('"ticket", "counter"', "queue", where, 'GROUP BY "event", "service"')
            for s in self.query(q):
                out.extend(_records(s))
        return out

    def latest_conditions(self, now: datetime, window_min: int = 15) -> dict[str, ZoneConditions]:
        """Zone -> the last climate readings and occupancy (with its trend) before ``now``."""
        since = now - timedelta(minutes=2 * window_min)
        span = f'"site" = {string_literal(self._site)} AND time > {rfc3339(since)} AND time <= {rfc3339(now)}'
        climate: dict[str, dict[str, float]] = {}
        fields = 'last("temperature"), last("humidity"), last("co2")'
        q = statement(fields, "climate", span, 'GROUP BY "zone"')
        for s in self.query(q):
            row = dict(zip(s.columns, s.values[-1], strict=False))
            climate[s.tags.get("zone", "")] = {
                k: float(v) for k, v in row.items() if k != "time" and v is not None
            }
        group = f'GROUP BY time({window_min}m), "zone" fill(none)'
        q = statement('mean("count")', "zone_occupancy", span, group)
        out: dict[str, ZoneConditions] = {}
        for s in self.query(q):
            means = [float(v[1]) for v in s.values if v[1] is not None]
            if not means:
                continue
            trend = (means[-1] - means[-2]) * 60 / window_min if len(means) >= 2 else None
            zone = s.tags.get("zone", "")
            c = climate.get(zone, {})
            out[zone] = ZoneConditions(
                occupancy=round(means[-1]),
                temperature_c=c.get("last"),
                humidity_pct=c.get("last_1"),
                co2_ppm=c.get("last_2"),
                occupancy_trend_per_h=trend,
            )
        for zone, c in climate.items():
            out.setdefault(
                zone,
                ZoneConditions(0, c.get("last"), c.get("last_1"), c.get("last_2")),
            )
        return out

    # ------------------------------------------------------------------ transport

    def query(self, influxql: str) -> list[Series]:
        """Run one InfluxQL statement; every series of its result."""
        cfg = self._config
        target = self._target
        url = cfg.url.rstrip("/") + "/query"
        try:
            response = httpx.get(
                url,
                params={**target.params, "q": influxql},
                headers=target.headers,
                auth=target.auth,
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            raise HistoryError(f"{cfg.url} did not answer within {self._timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise HistoryError(f"cannot reach {cfg.url}: {exc}") from exc
        return _parse(response, cfg.url)

    @property
    def _fill_tz(self) -> str:
        return f"fill(none) tz({string_literal(self._tz.key)})"

    def _where(self, first: date, end: date) -> str:
        lo = datetime.combine(first, time(0), tzinfo=self._tz)
        hi = datetime.combine(end, time(0), tzinfo=self._tz)
        return f'"site" = {string_literal(self._site)} AND time >= {rfc3339(lo)} AND time < {rfc3339(hi)}'

    def _hourly(self, s: Series) -> dict[DayHour, float]:
        out: dict[DayHour, float] = {}
        for row in s.values:
            if row[1] is None:
                continue
            local = datetime.fromtimestamp(row[0] / 1000, tz=self._tz)
            out[(local.date(), local.hour)] = float(row[1])
        return out


def _parse(response: httpx.Response, where: str) -> list[Series]:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200:
        message = body.get("error") if isinstance(body, dict) else None
        raise HistoryError(
            f"{where} answered HTTP {response.status_code}: {message or response.text[:300]}"
        )
    if "error" in body:
        raise HistoryError(f"{where} refused the query: {body['error']}")
    out: list[Series] = []
    for result in body.get("results", []):
        if "error" in result:
            if "database not found" in str(result["error"]):
                return []
            raise HistoryError(f"{where} refused the query: {result['error']}")
        if result.get("partial"):
            log.warning("planning.history_partial", url=where)
        for s in result.get("series", []):
            out.append(
                Series(s.get("name", ""), dict(s.get("tags") or {}), s["columns"], s["values"])
            )
    return out


def _records(s: Series) -> Iterator[TicketRecord]:
    cols = {name: i for i, name in enumerate(s.columns)}
    event = s.tags.get("event", "")
    service = s.tags.get("service", "")
    for row in s.values:
        counter = row[cols["counter"]] if "counter" in cols else None
        yield TicketRecord(
            service_id=service,
            ticket=str(row[cols["ticket"]]),
            event=event,
            at=datetime.fromtimestamp(row[0] / 1000, tz=UTC),
            counter=int(counter) if counter is not None else None,
        )


def _chunks(first: date, end: date, days: int) -> Iterator[tuple[date, date]]:
    a = first
    while a < end:
        b = min(end, a + timedelta(days=days))
        yield a, b
        a = b
