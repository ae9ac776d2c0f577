"""The central store's month of a province: InfluxQL over ``GET /query``. Shell module (httpx).

Two queries per month, each grouped by hour and site (``gateway.fleet.month``
turns them into the comparison):

- people: ``mean(count)`` of ``zone_occupancy`` per hour, site and zone (the
  zones summed per site and hour afterwards);
- waiting: ``max(expected_wait_s)`` of ``zone_occupancy`` per hour and site.

InfluxDB 1.x answers InfluxQL natively, 2.x/3.x through their v1 API
(``gateway.influx_query.query_target``). VictoriaMetrics does not answer
InfluxQL: with it as the central store the month comparison answers 503
(docs/fleet.md).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from api.influxql import QueryError, parse_result
from gateway.influx_query import HistoryError, identifier, query_target, string_literal
from gateway.settings import InfluxConfig


@dataclass(frozen=True, slots=True)
class MonthFigures:
    people: dict[str, dict[datetime, float]]  # site key -> hour -> people (zones summed)
    waits: dict[str, list[float]]  # site key -> each hour's longest expected wait


class MonthSource(Protocol):
    async def month(self, province: str, start: datetime, end: datetime) -> MonthFigures: ...


def _ns(at: datetime) -> int:
    return int(at.timestamp()) * 1_000_000_000


def people_query(province: str, start: datetime, end: datetime) -> str:
    return (
        f'SELECT mean("count") AS "people" FROM "zone_occupancy"'  # noqa: S608 (values escaped)
        f' WHERE "province" = {string_literal(province)}'
        f" AND time >= {_ns(start)} AND time < {_ns(end)}"
        f" GROUP BY time(1h), {identifier('site')}, {identifier('zone')} fill(none)"
    )


def wait_query(province: str, start: datetime, end: datetime) -> str:
    return (
        f'SELECT max("expected_wait_s") AS "wait" FROM "zone_occupancy"'  # noqa: S608 (values escaped)
        f' WHERE "province" = {string_literal(province)}'
        f" AND time >= {_ns(start)} AND time < {_ns(end)}"
        f" GROUP BY time(1h), {identifier('site')} fill(none)"
    )


def month_figures(province: str, people: Any, waits: Any) -> MonthFigures:
    """The two answers (``parse_result`` series by site) as MonthFigures."""
    hourly: dict[str, dict[datetime, float]] = defaultdict(dict)
    for series in people:
        key = f"{province}.{series.tag}"
        for at, values in series.rows:
            value = values.get("people")
            if value is not None:
                hourly[key][at] = hourly[key].get(at, 0.0) + value
    waited: dict[str, list[float]] = defaultdict(list)
    for series in waits:
        key = f"{province}.{series.tag}"
        waited[key].extend(v for _, values in series.rows if (v := values.get("wait")) is not None)
    return MonthFigures(dict(hourly), dict(waited))


class MonthReader:
    """Reads the month of one province from the central store (InfluxQL)."""

    def __init__(self, config: InfluxConfig) -> None:
        self._config = config

    async def month(self, province: str, start: datetime, end: datetime) -> MonthFigures:
        c = self._config
        target = query_target(c)
        async with httpx.AsyncClient(
            base_url=c.url,
            params=target.params,
            headers={"Accept": "application/json", **target.headers},
            auth=target.auth,
            timeout=c.timeout_s,
            trust_env=False,
        ) as client:
            people = await self._query(client, people_query(province, start, end))
            waits = await self._query(client, wait_query(province, start, end))
        return month_figures(province, people, waits)

    async def _query(self, client: httpx.AsyncClient, q: str) -> Any:
        try:
            response = await client.get("/query", params={"q": q})
        except httpx.HTTPError as exc:
            raise HistoryError(
                f"the central store at {self._config.url} is unreachable: {exc}"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400 or not isinstance(body, dict):
            raise HistoryError(f"the central store refused the query (HTTP {response.status_code})")
        try:
            return parse_result(body, "site")
        except QueryError as exc:
            if "database not found" in str(exc):
                return []
            raise HistoryError(f"the central store refused the query: {exc}") from exc
