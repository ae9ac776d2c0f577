"""The central store's month of a province when it is VictoriaMetrics. Shell module (httpx).

VictoriaMetrics answers no InfluxQL, so the month is read as raw samples from
its export API (``GET /api/v1/export``, one JSON line per series) and grouped
here exactly as ``api.fleet.store``'s InfluxQL groups it: by the hour
(``GROUP BY time(1h)``: hours from the epoch, start included, end excluded)
and site, with the same sources in the same order (the uplink's hourly
aggregates, else the zone states) and the same figures:

- people: ``zone_hourly_people_mean`` summed per site and hour; else
  ``zone_occupancy_count`` averaged per site, zone and hour, then summed
  over the zones;
- waiting: ``service_hourly_wait_p90_s``'s highest per site and hour; else
  ``zone_occupancy_expected_wait_s``'s.

A line-protocol field ``f`` of measurement ``m`` is the metric ``m_f`` there,
its tags the labels (what ``fleet run`` writes by the v2 protocol). The
token, if any, goes as a bearer token (vmauth); a user and password as basic
authentication. Raw samples cost a month of zone states per request: with
many centers that change often, the hourly aggregates (one sample per zone and
hour) are what keeps it small.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from api.fleet.store import HOURLY_PEOPLE, HOURLY_WAIT, STATE_PEOPLE, STATE_WAIT, MonthFigures
from gateway.influx_query import HistoryError
from gateway.settings import InfluxConfig

HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class Series:
    """One exported series: its labels and its (time ms, value) samples."""

    labels: Mapping[str, str]
    samples: tuple[tuple[int, float], ...]


def metric(source: str) -> str:
    """``zone_hourly.people_mean`` → ``zone_hourly_people_mean``."""
    return source.replace(".", "_")


def selector(source: str, province: str) -> str:
    return "{" + f'__name__="{_quote(metric(source))}",province="{_quote(province)}"' + "}"


def parse_export(text: str) -> list[Series]:
    """The export API's JSON lines; a line that is not a series is an error."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        doc = json.loads(line)
        labels = {k: v for k, v in doc["metric"].items() if k != "__name__"}
        pairs = zip(doc["timestamps"], doc["values"], strict=True)
        out.append(Series(labels, tuple((int(t), float(v)) for t, v in pairs)))
    return out


def _hour(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // HOUR_MS * 3600, UTC)


def _samples(series: Series, start_ms: int, end_ms: int) -> Iterable[tuple[int, float]]:
    return ((t, v) for t, v in series.samples if start_ms <= t < end_ms and not math.isnan(v))


def summed(
    series: Iterable[Series], start_ms: int, end_ms: int, *, by_zone_mean: bool
) -> dict[str, dict[datetime, float]]:
    """site → hour → people: every sample summed (hourly means), or each zone's mean of
    the hour summed over the zones (zone states)."""
    per_zone: dict[tuple[str, str, datetime], list[float]] = defaultdict(list)
    for s in series:
        zone = s.labels.get("zone", "") if by_zone_mean else ""
        for t, v in _samples(s, start_ms, end_ms):
            per_zone[(s.labels.get("site", ""), zone, _hour(t))].append(v)
    out: dict[str, dict[datetime, float]] = defaultdict(dict)
    for (site, _, hour), values in per_zone.items():
        value = sum(values) / len(values) if by_zone_mean else sum(values)
        out[site][hour] = out[site].get(hour, 0.0) + value
    return dict(out)


def highest(series: Iterable[Series], start_ms: int, end_ms: int) -> dict[str, list[float]]:
    """site → each hour's highest sample, hours in order."""
    top: dict[str, dict[datetime, float]] = defaultdict(dict)
    for s in series:
        site = s.labels.get("site", "")
        for t, v in _samples(s, start_ms, end_ms):
            hour = _hour(t)
            top[site][hour] = max(v, top[site].get(hour, v))
    return {site: [hours[h] for h in sorted(hours)] for site, hours in top.items()}


def figures(
    province: str,
    people: dict[str, dict[datetime, float]],
    waits: dict[str, list[float]],
    people_source: str,
    wait_source: str,
) -> MonthFigures:
    return MonthFigures(
        {f"{province}.{site}": hours for site, hours in people.items()},
        {f"{province}.{site}": values for site, values in waits.items()},
        people_source,
        wait_source,
    )


class VictoriaMonthReader:
    """Reads the month of one province from VictoriaMetrics (its export API)."""

    def __init__(self, config: InfluxConfig) -> None:
        self._config = config

    async def month(self, province: str, start: datetime, end: datetime) -> MonthFigures:
        c = self._config
        headers = {"Authorization": "Bearer " + c.token.get_secret_value()} if c.token else {}
        auth = None
        if c.username is not None:
            auth = (c.username, c.password.get_secret_value() if c.password else "")
        start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        async with httpx.AsyncClient(
            base_url=c.url, headers=headers, auth=auth, timeout=c.timeout_s, trust_env=False
        ) as client:

            async def export(source: str) -> list[Series]:
                return await self._export(client, selector(source, province), start_ms, end_ms)

            people_source, wait_source = HOURLY_PEOPLE, HOURLY_WAIT
            people = summed(await export(HOURLY_PEOPLE), start_ms, end_ms, by_zone_mean=False)
            if not people:
                people_source = STATE_PEOPLE
                people = summed(await export(STATE_PEOPLE), start_ms, end_ms, by_zone_mean=True)
            waits = highest(await export(HOURLY_WAIT), start_ms, end_ms)
            if not waits:
                wait_source = STATE_WAIT
                waits = highest(await export(STATE_WAIT), start_ms, end_ms)
        return figures(province, people, waits, people_source, wait_source)

    async def _export(
        self, client: httpx.AsyncClient, match: str, start_ms: int, end_ms: int
    ) -> list[Series]:
        # the export's end is inclusive: ask to the last millisecond before the month's end
        params = {
            "match[]": match,
            "start": str(start_ms // 1000),
            "end": f"{(end_ms - 1) / 1000:.3f}",
        }
        try:
            response = await client.get("/api/v1/export", params=params)
        except httpx.HTTPError as exc:
            raise HistoryError(
                f"the central store at {self._config.url} is unreachable: {exc}"
            ) from exc
        if response.status_code >= 400:
            raise HistoryError(
                f"the central store refused the export (HTTP {response.status_code})"
            )
        try:
            return parse_export(response.text)
        except (ValueError, KeyError, TypeError) as exc:
            raise HistoryError(f"the central store's export is not readable: {exc}") from exc


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
