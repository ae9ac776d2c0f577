"""The province dashboard's queries for a VictoriaMetrics central store (PromQL). Pure.

VictoriaMetrics answers no InfluxQL: Grafana reads it through its Prometheus
datasource (``type: prometheus``, VictoriaMetrics' ``/api/v1/query`` and
``/api/v1/query_range``). A line-protocol field ``f`` of measurement ``m``
that ``fleet run`` writes (``gateway.fleet.central.record_lines``) is the
metric ``m_f`` there, its tags the labels (``api.fleet.store_vm`` reads the
same names). The queries are plain PromQL (VictoriaMetrics' MetricsQL is a
superset), each the counterpart of the InfluxQL one in ``dashboards.province``:

- a "now" stat: an instant query at the range's end, each zone's (or device
  kind's) last sample in the range (``last_over_time(...[$__range])``), then
  summed or maxed per site;
- a time series: a range query, each zone's samples in a step
  (``[$__interval]``), then per site; steps without samples stay empty, as
  InfluxQL's ``fill(none)``;
- the league: the 30 days' mean of the hourly p90 waits per site (the sum
  over the count, so that every hourly sample weighs the same as in InfluxQL).

- new alerts: the samples of ``alerts_raised`` in each step of at least an
  hour (``count_over_time(...[$__interval])``), per site, for the province
  and per severity. An alert's ``transition`` is a string field, which
  VictoriaMetrics stores as the value 0; the writer adds ``raised=1i`` to a
  raised transition's point for this (``gateway.points.ALERT_TRANSITIONS``).
  A step's window ends at its time: the bar at 10:00 counts 09:00 to 10:00
  (InfluxQL's ``time(1h)`` labels the same hour 09:00).
"""

from __future__ import annotations

from dataclasses import dataclass

from grafana_foundation_sdk.builders import prometheus
from grafana_foundation_sdk.models import dashboard as dm

PROMETHEUS_TYPE = "prometheus"
DATASOURCE_UID = "floorwatch-victoriametrics"
DATASOURCE_NAME = "floorwatch VictoriaMetrics"

WHERE = 'province=~"$province",site=~"$site"'
FUSED = 'source="fused"'


def metric(measurement: str, field: str) -> str:
    """The metric VictoriaMetrics makes of a line-protocol field: ``m_f``."""
    return f"{measurement}_{field}"


def _sel(measurement: str, field: str, *extra: str) -> str:
    return metric(measurement, field) + "{" + ",".join([WHERE, *extra]) + "}"


def _zone(field: str) -> str:
    return _sel("zone_occupancy", field, FUSED)


@dataclass(frozen=True, slots=True)
class PromQL:
    """One panel's query: ``instant`` for a stat (the range's end), else a range query."""

    expr: str
    instant: bool
    interval: str | None = None  # the shortest step (``1h`` for hourly aggregates)
    legend: str = "{{site}}"  # a series' name: a label's value, or a fixed text


PROVINCE_VARIABLE = f"label_values({metric('zone_occupancy', 'count')}, province)"
SITE_VARIABLE = f'label_values({metric("zone_occupancy", "count")}{{province=~"$province"}}, site)'

PEOPLE_NOW = PromQL(f"sum by (site) (last_over_time({_zone('count')}[$__range]))", instant=True)
FILL_NOW = PromQL(
    f"max by (site) (last_over_time({_zone('capacity_ratio')}[$__range]))", instant=True
)
WAIT_NOW = PromQL(
    f"max by (site) (last_over_time({_zone('expected_wait_s')}[$__range])) / 60", instant=True
)
DEVICES_DOWN = PromQL(
    f"sum by (site) (last_over_time({_sel('device_hourly', 'down')}[$__range]))", instant=True
)
PEOPLE = PromQL(f"sum by (site) (avg_over_time({_zone('count')}[$__interval]))", instant=False)
WAIT = PromQL(
    f"max by (site) (max_over_time({_zone('expected_wait_s')}[$__interval])) / 60",
    instant=False,
)
MEASURED_WAIT = PromQL(
    f"max by (site) (max_over_time({_sel('service_hourly', 'wait_p90_s')}[$__interval])) / 60",
    instant=False,
    interval="1h",
)
_P90 = _sel("service_hourly", "wait_p90_s")
LEAGUE = PromQL(
    f"sum by (site) (sum_over_time({_P90}[$__range]))"
    f" / sum by (site) (count_over_time({_P90}[$__range])) / 60",
    instant=True,
)
_RAISED = _sel("alerts", "raised")
NEW_ALERTS = PromQL(
    f"sum by (site) (count_over_time({_RAISED}[$__interval]))", instant=False, interval="1h"
)
NEW_ALERTS_TOTAL = PromQL(
    f"sum(count_over_time({_RAISED}[$__interval]))", instant=False, interval="1h", legend=""
)
NEW_ALERTS_BY_SEVERITY = PromQL(
    f"sum by (severity) (count_over_time({_RAISED}[$__interval]))",
    instant=False,
    interval="1h",
    legend="{{severity}}",
)


def datasource_ref() -> dm.DataSourceRef:
    return dm.DataSourceRef(type_val=PROMETHEUS_TYPE, uid=DATASOURCE_UID)


def target(query: PromQL, ref_id: str = "A", legend: str | None = None) -> prometheus.Dataquery:
    """A panel's target, its series named by ``legend`` or the query's own (per site: its id)."""
    built = (
        prometheus.Dataquery()
        .ref_id(ref_id)
        .expr(query.expr)
        .legend_format(legend if legend is not None else query.legend)
        .datasource(datasource_ref())
    )
    built = built.instant() if query.instant else built.range()
    return built.interval(query.interval) if query.interval else built
