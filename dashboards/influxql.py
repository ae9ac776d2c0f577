"""InfluxQL targets for the Grafana Foundation SDK, and Grafana's macro expansion. Pure module.

The SDK (grafana-foundation-sdk, types for Grafana 10.1) ships dataquery
models for Prometheus, Loki, Elasticsearch, ... but none for InfluxDB. This
module adds one: ``InfluxQLQuery`` is a typed ``Dataquery`` variant, registered
with the SDK's runtime under the datasource type ``influxdb``, so that
``Dashboard.from_json`` turns a panel's InfluxDB targets back into
``InfluxQLQuery`` objects (the round-trip test relies on it) instead of the
SDK's untyped ``UnknownDataquery``.

``expand`` replaces the Grafana template macros in a raw InfluxQL query the
way Grafana's InfluxDB datasource does before it sends the query:
``$timeFilter`` becomes ``time >= <from>ms and time <= <to>ms``,
``$__interval`` the interval Grafana computes from the time range and the
panel's data points (``grafana_interval``), and a template variable the
regex-escaped value, or ``(a|b|c)`` for several values (multi-value and "All").
The integration test runs every panel's query through it against a real
InfluxDB.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import DataSourceRef

INFLUXDB_TYPE = "influxdb"
ResultFormat = Literal["time_series", "table"]


@dataclass(eq=True)
class InfluxQLQuery(cogvariants.Dataquery):
    """A raw InfluxQL target of Grafana's InfluxDB datasource (InfluxQL mode)."""

    ref_id: str
    query: str
    result_format: ResultFormat = "time_series"
    alias: str | None = None
    datasource: DataSourceRef | None = None
    hide: bool | None = None

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "refId": self.ref_id,
            "query": self.query,
            "rawQuery": True,
            "resultFormat": self.result_format,
        }
        if self.alias is not None:
            payload["alias"] = self.alias
        if self.datasource is not None:
            payload["datasource"] = self.datasource.to_json()
        if self.hide is not None:
            payload["hide"] = self.hide
        return payload

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        if data.get("rawQuery") is not True or not isinstance(data.get("query"), str):
            raise ValueError(f"target {data.get('refId')!r} is not a raw InfluxQL query")
        fmt = data.get("resultFormat", "time_series")
        if fmt not in ("time_series", "table"):
            raise ValueError(f"target {data.get('refId')!r}: unknown resultFormat {fmt!r}")
        ds = data.get("datasource")
        return cls(
            ref_id=str(data.get("refId", "")),
            query=data["query"],
            result_format=fmt,
            alias=data.get("alias"),
            datasource=DataSourceRef.from_json(ds) if isinstance(ds, dict) else None,
            hide=data.get("hide"),
        )

    # DataSourceRef has no __eq__ of its own: compare it by its JSON.
    def __eq__(self, other: object) -> bool:
        return isinstance(other, InfluxQLQuery) and self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]


class InfluxQL(cogbuilder.Builder[InfluxQLQuery]):
    """Builder of an ``InfluxQLQuery``: ``InfluxQL("A", "SELECT ...").alias("$tag_zone")``."""

    def __init__(self, ref_id: str, query: str) -> None:
        self._internal = InfluxQLQuery(ref_id=ref_id, query=" ".join(query.split()))

    def build(self) -> InfluxQLQuery:
        return self._internal

    def table(self) -> Self:
        self._internal.result_format = "table"
        return self

    def alias(self, alias: str) -> Self:
        self._internal.alias = alias
        return self

    def datasource(self, ref: DataSourceRef) -> Self:
        self._internal.datasource = ref
        return self


def register_plugins() -> None:
    """Register the SDK's panel and query types and ours (idempotent)."""
    register_default_plugins()
    cogruntime.register_dataquery_variant(
        cogruntime.DataqueryConfig(identifier=INFLUXDB_TYPE, from_json_hook=InfluxQLQuery.from_json)
    )


# --------------------------------------------------------------------------- macros

# Grafana's rangeutil.roundInterval: (below this many ms, use this many ms).
_ROUND_MS: tuple[tuple[int, int], ...] = (
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (750_000, 600_000),
    (1_050_000, 900_000),
    (1_500_000, 1_200_000),
    (2_700_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (32_400_000, 21_600_000),
    (86_400_000, 43_200_000),
    (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000),
    (3_628_800_000, 2_592_000_000),
)
_UNITS_MS: tuple[tuple[str, int], ...] = (
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
)
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w)$")
_DURATION_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
# lodash-style escapeRegExp, as Grafana's datasource uses for variable values.
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]")


def duration_ms(text: str) -> int:
    """``"30s"`` -> 30000: a Grafana/InfluxQL duration literal."""
    m = _DURATION.match(text)
    if m is None:
        raise ValueError(f"not a duration: {text!r}")
    return int(m.group(1)) * _DURATION_MS[m.group(2)]


def format_duration(ms: int) -> str:
    """30000 -> ``"30s"``, in the largest unit that divides it."""
    for unit, size in _UNITS_MS:
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def grafana_interval(from_ms: int, to_ms: int, max_data_points: int, min_interval: str) -> int:
    """The ``$__interval`` (ms) Grafana computes: range / data points, rounded, at least min."""
    raw = max(1, (to_ms - from_ms) // max(1, max_data_points))
    rounded = next((v for limit, v in _ROUND_MS if raw < limit), 31_536_000_000)
    return max(rounded, duration_ms(min_interval))


def escape_regex(value: str) -> str:
    return _REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), value)


def _format_value(value: str | Sequence[str]) -> str:
    if isinstance(value, str):
        return escape_regex(value)
    escaped = [escape_regex(v) for v in value]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def expand(
    query: str,
    *,
    from_ms: int,
    to_ms: int,
    interval_ms: int,
    variables: Mapping[str, str | Sequence[str]],
) -> str:
    """The query as Grafana's InfluxDB datasource sends it (macros and variables replaced)."""
    builtins = {
        "timeFilter": f"time >= {from_ms}ms and time <= {to_ms}ms",
        "__interval": format_duration(interval_ms),
        "__interval_ms": str(interval_ms),
        "__from": str(from_ms),
        "__to": str(to_ms),
    }

    def replace(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        if name in builtins:
            return builtins[name]
        if name in variables:
            return _format_value(variables[name])
        raise KeyError(f"query uses ${name}, which is neither a Grafana macro nor a variable")

    return _VARIABLE.sub(replace, query)
