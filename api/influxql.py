"""InfluxQL for zone history: resolutions, range bounds, escaping, queries, results. Pure module.

Every value that reaches a query is escaped (``gateway.influx_query``): string
literals are single quoted with ``\\`` and ``'`` escaped, identifiers double
quoted with ``\\`` and ``"`` escaped, times are integers (nanoseconds since the epoch) and the
``GROUP BY time()`` interval comes from a closed enum. Nothing a client sends
is pasted into a query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from gateway.influx_query import identifier, string_literal

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Resolution(StrEnum):
    M1 = "1m"
    M15 = "15m"
    H1 = "1h"


# The longest range per resolution: at most ~1,500 buckets per series.
MAX_RANGE: dict[Resolution, timedelta] = {
    Resolution.M1: timedelta(days=1),
    Resolution.M15: timedelta(days=15),
    Resolution.H1: timedelta(days=62),
}

OCCUPANCY_FIELDS = ("count", "density", "capacity_ratio")
CLIMATE_FIELDS = ("temperature", "humidity", "co2", "pm25")


class RangeError(ValueError):
    """A history range that is empty, reversed, unaware of time zones or too long."""


def check_range(start: datetime, end: datetime, resolution: Resolution) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise RangeError("start and end need a time zone (e.g. 2026-12-01T08:00:00+07:00)")
    if end <= start:
        raise RangeError("end must be after start")
    longest = MAX_RANGE[resolution]
    if end - start > longest:
        raise RangeError(
            f"at resolution {resolution.value} a range is at most {_describe(longest)}"
        )


def _describe(span: timedelta) -> str:
    days = span.days
    return f"{days} day{'s' if days != 1 else ''}"


def time_ns(at: datetime) -> int:
    d = at - _EPOCH
    return (d.days * 86400 + d.seconds) * 1_000_000_000 + d.microseconds * 1000


def _where(site_id: str, zone_id: str, start: datetime, end: datetime) -> str:
    return (
        f"{identifier('site')} = {string_literal(site_id)}"
        f" AND {identifier('zone')} = {string_literal(zone_id)}"
        f" AND time >= {time_ns(start)} AND time < {time_ns(end)}"
    )


def occupancy_query(
    site_id: str, zone_id: str, start: datetime, end: datetime, resolution: Resolution
) -> str:
    """Mean and max people, mean density and capacity ratio per bucket, per source."""
    return (
        f"SELECT mean({identifier('count')}) AS {identifier('mean')},"  # noqa: S608 (every value escaped above)
        f" max({identifier('count')}) AS {identifier('max')},"
        f" mean({identifier('density')}) AS {identifier('density')},"
        f" mean({identifier('capacity_ratio')}) AS {identifier('capacity_ratio')}"
        f" FROM {identifier('zone_occupancy')}"
        f" WHERE {_where(site_id, zone_id, start, end)}"
        f" GROUP BY time({resolution.value}), {identifier('source')} fill(none)"
    )


def climate_query(
    site_id: str, zone_id: str, start: datetime, end: datetime, resolution: Resolution
) -> str:
    """Mean temperature, humidity, CO2 and PM2.5 per bucket, per sensor."""
    fields = ", ".join(f"mean({identifier(f)}) AS {identifier(f)}" for f in CLIMATE_FIELDS)
    return (
        f"SELECT {fields} FROM {identifier('climate')}"  # noqa: S608 (every value escaped above)
        f" WHERE {_where(site_id, zone_id, start, end)}"
        f" GROUP BY time({resolution.value}), {identifier('sensor')} fill(none)"
    )


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a result: its tag value and rows of (time, {column: value})."""

    tag: str
    rows: Sequence[tuple[datetime, Mapping[str, float | None]]]


class QueryError(ValueError):
    """InfluxDB answered, but with an error or a body we do not understand."""


def parse_result(body: Mapping[str, Any], tag: str) -> list[Series]:
    """The series of the first statement of a /query answer made with ``epoch=ms``."""
    if "error" in body:
        raise QueryError(str(body["error"]))
    results = body.get("results")
    if not isinstance(results, list) or not results:
        raise QueryError("the answer has no results")
    first = results[0]
    if not isinstance(first, Mapping):
        raise QueryError("the answer's result is not an object")
    if "error" in first:
        raise QueryError(str(first["error"]))
    out: list[Series] = []
    for raw in first.get("series") or []:
        columns: list[str] = list(raw.get("columns") or [])
        tags: Mapping[str, str] = raw.get("tags") or {}
        rows: list[tuple[datetime, Mapping[str, float | None]]] = []
        for values in raw.get("values") or []:
            record = dict(zip(columns, values, strict=False))
            at = _epoch_ms(record.pop("time", None))
            rows.append((at, {k: _number(v) for k, v in record.items()}))
        out.append(Series(tag=str(tags.get(tag, "")), rows=rows))
    return out


def _epoch_ms(value: object) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise QueryError(f"time {value!r} is not epoch milliseconds")
    return _EPOCH + timedelta(milliseconds=value)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
