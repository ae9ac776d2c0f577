"""Zone history from InfluxDB: InfluxQL over ``GET /query``. Shell module (httpx).

``GET /query`` with InfluxQL is what InfluxDB 1.x answers natively and 2.x and
3.x answer through their v1 compatibility API, so one reader serves all three:

- protocol ``v1`` (InfluxDB 1.x): database ``database``, retention policy
  ``retention_policy``, basic auth with ``username``/``password`` when set;
- protocol ``v2`` (InfluxDB 2.x, 3.x): database = ``bucket`` (2.x needs a DBRP
  mapping for it, which ``influx v1 dbrp create`` or the bucket's default gives),
  ``Authorization: Token <token>``

(``gateway.influx_query.query_target``, shared with the planning history).

Queries are built in ``api.influxql`` (values escaped, times as integers).
A client is opened per query: history is read a few times a minute, and no
connection pool then outlives an event loop. The TLS context (certifi's CA
bundle, loaded in about 50 ms) is made once per reader, not per client.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from api.influxql import (
    QueryError,
    Resolution,
    Series,
    check_range,
    climate_query,
    occupancy_query,
    parse_result,
)
from gateway.influx_query import HistoryError, query_target
from gateway.settings import InfluxConfig


@dataclass(frozen=True, slots=True)
class ZoneHistory:
    zone_id: str
    resolution: Resolution
    start: datetime
    end: datetime
    occupancy: list[Series]  # one per source, rows: mean, max, density, capacity_ratio
    climate: list[Series]  # one per sensor, rows: temperature, humidity, co2, pm25


class HistorySource(Protocol):
    """What the API needs of the history store."""

    async def zone_history(
        self, zone_id: str, start: datetime, end: datetime, resolution: Resolution
    ) -> ZoneHistory: ...


class HistoryReader:
    """InfluxQL reads of one site's zone history."""

    def __init__(self, config: InfluxConfig, site_id: str) -> None:
        self._config = config
        self._site_id = site_id
        self._tls: ssl.SSLContext | None = None

    def _client(self) -> httpx.AsyncClient:
        c = self._config
        target = query_target(c)
        if self._tls is None:
            self._tls = httpx.create_ssl_context(trust_env=False)  # what each client made
        return httpx.AsyncClient(
            base_url=c.url,
            params=target.params,
            headers={"Accept": "application/json", **target.headers},
            auth=target.auth,
            timeout=c.timeout_s,
            trust_env=False,
            verify=self._tls,
        )

    async def _query(self, client: httpx.AsyncClient, q: str, tag: str) -> list[Series]:
        try:
            response = await client.get("/query", params={"q": q})
        except httpx.HTTPError as exc:
            raise HistoryError(f"InfluxDB at {self._config.url} is unreachable: {exc}") from exc
        body = _json(response)
        if response.status_code >= 400:
            detail = body.get("error") if body else response.text[:200]
            raise HistoryError(
                f"InfluxDB refused the query (HTTP {response.status_code}): {detail}"
            )
        try:
            return parse_result(body, tag)
        except QueryError as exc:
            if "database not found" in str(exc):
                return []  # nothing written yet
            raise HistoryError(f"InfluxDB refused the query: {exc}") from exc

    async def zone_history(
        self, zone_id: str, start: datetime, end: datetime, resolution: Resolution
    ) -> ZoneHistory:
        check_range(start, end, resolution)
        occupancy_q = occupancy_query(self._site_id, zone_id, start, end, resolution)
        climate_q = climate_query(self._site_id, zone_id, start, end, resolution)
        async with self._client() as client:
            occupancy, climate = await asyncio.gather(
                self._query(client, occupancy_q, "source"),
                self._query(client, climate_q, "sensor"),
            )
        return ZoneHistory(zone_id, resolution, start, end, occupancy, climate)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
