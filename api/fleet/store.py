"""The central store's month of a province: InfluxQL over ``GET /query``. Shell module (httpx).

Per month, grouped by hour and site (``gateway.fleet.month`` turns them into
the comparison), from the uplink's hourly aggregates where the province's
gateways send them, else from the zone states:

- people: ``sum(people_mean)`` of ``zone_hourly`` (each zone's time-weighted
  mean over the hour, summed over the zones); without any, ``mean(count)`` of
  ``zone_occupancy`` per hour, site and zone, summed over the zones;
- waiting: ``max(wait_p90_s)`` of ``service_hourly`` (the worst service group's
  90th-percentile measured wait of the tickets called that hour); without any,
  ``max(expected_wait_s)`` of ``zone_occupancy`` (the zones' expected wait).

Which source answered is part of the result (``people_source``,
``wait_source``); one month's table never mixes the two.

InfluxDB 1.x answers InfluxQL natively, 2.x/3.x through their v1 API
(``gateway.influx_query.query_target``). VictoriaMetrics does not answer
InfluxQL: ``api.fleet.store_vm`` reads the same month from its export API
(``overview.store: victoriametrics``).
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

HOURLY_PEOPLE = "zone_hourly.people_mean"
HOURLY_WAIT = "service_hourly.wait_p90_s"
STATE_PEOPLE = "zone_occupancy.count"
STATE_WAIT = "zone_occupancy.expected_wait_s"


@dataclass(frozen=True, slots=True)
class MonthFigures:
    people: dict[str, dict[datetime, float]]  # site key -> hour -> people (zones summed)
    waits: dict[str, list[float]]  # site key -> each hour's wait figure
    people_source: str = HOURLY_PEOPLE
    wait_source: str = HOURLY_WAIT


class MonthSource(Protocol):
    async def month(self, province: str, start: datetime, end: datetime) -> MonthFigures: ...


def _ns(at: datetime) -> int:
    return int(at.timestamp()) * 1_000_000_000


def _where(province: str, start: datetime, end: datetime) -> str:
    return (
        f" WHERE {identifier('province')} = {string_literal(province)}"
        f" AND time >= {_ns(start)} AND time < {_ns(end)}"
    )


def hourly_people_query(province: str, start: datetime, end: datetime) -> str:
    return (
        f'SELECT sum("people_mean") AS "people" FROM "zone_hourly"'  # noqa: S608 (values escaped)
        f"{_where(province, start, end)}"
        f" GROUP BY time(1h), {identifier('site')} fill(none)"
    )


def hourly_wait_query(province: str, start: datetime, end: datetime) -> str:
    return (
        f'SELECT max("wait_p90_s") AS "wait" FROM "service_hourly"'  # noqa: S608 (values escaped)
        f"{_where(province, start, end)}"
        f" GROUP BY time(1h), {identifier('site')} fill(none)"
    )


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


def month_figures(
    province: str,
    people: Any,
    waits: Any,
    people_source: str = HOURLY_PEOPLE,
    wait_source: str = HOURLY_WAIT,
) -> MonthFigures:
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
    return MonthFigures(dict(hourly), dict(waited), people_source, wait_source)


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
            people = await self._query(client, hourly_people_query(province, start, end))
            people_source = HOURLY_PEOPLE
            if not people:
                people = await self._query(client, people_query(province, start, end))
                people_source = STATE_PEOPLE
            waits = await self._query(client, hourly_wait_query(province, start, end))
            wait_source = HOURLY_WAIT
            if not waits:
                waits = await self._query(client, wait_query(province, start, end))
                wait_source = STATE_WAIT
        return month_figures(province, people, waits, people_source, wait_source)

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
